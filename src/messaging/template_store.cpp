#include "messaging/template_store.h"

#include "core/clock.h"
#include "core/validation.h"

namespace kontor::messaging {
namespace {

constexpr const char* kSelect =
    "SELECT id, key, name, definition, version, created_at, updated_at FROM message_templates";

Result<SavedTemplate> RowToTemplate(const store::Row& r) {
  SavedTemplate t;
  t.id = r.Int(0);
  t.key = r.Str(1);
  t.name = r.Str(2);
  ASSIGN_OR_RETURN(json::object def, ParseJsonObject(r.Str(3)));
  ASSIGN_OR_RETURN(t.definition, ParseTemplate(def, ""));
  t.version = r.Int(4);
  t.created_at = r.Int(5);
  t.updated_at = r.Int(6);
  return t;
}

bool ValidKey(const std::string& key) {
  if (key.empty() || key.size() > 100) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

}  // namespace

json::object SavedTemplateToJson(const SavedTemplate& t) {
  json::object o = TemplateToJson(t.definition);
  o["key"] = t.key;
  o["name"] = t.name;
  o["version"] = t.version;
  o["created_at"] = FormatRfc3339(t.created_at);
  o["updated_at"] = FormatRfc3339(t.updated_at);
  return o;
}

Result<std::pair<SavedTemplate, bool>> TemplateStore::Put(const audit::Actor& actor,
                                                          const std::string& key,
                                                          const json::object& body,
                                                          std::optional<int64_t> if_match,
                                                          TemplateCheck* check) {
  if (!ValidKey(key))
    return Status::BadParameter("key", "1 to 100 letters, digits, '-', '_' or '.'");
  JsonReader r(body);
  std::string name = r.String("name", true, 200, 1).value_or("");
  json::object sample;
  if (const json::object* s = r.Object("sample", false)) sample = *s;
  std::optional<MessageTemplate> def = ReadTemplate(r);
  RETURN_IF_ERROR(r.Finish());
  ASSIGN_OR_RETURN(TemplateCheck checked, CheckTemplate(*def, sample));
  if (check) *check = checked;
  const std::string definition = json::serialize(TemplateToJson(*def));

  Result<std::pair<SavedTemplate, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    const bool pg = c.dialect() == store::Dialect::kPostgres;
    ASSIGN_OR_RETURN(
        auto row,
        c.QueryRow(std::string(kSelect) + " WHERE key = ?" + (pg ? " FOR UPDATE" : ""), {key}));
    std::optional<SavedTemplate> before;
    if (row) {
      ASSIGN_OR_RETURN(before, RowToTemplate(*row));
    }
    if (if_match && (!before || before->version != *if_match)) {
      return Status::Conflict(
          "template " + key +
          (before ? " is at version " + std::to_string(before->version) : " does not exist"));
    }
    if (before && before->name == name &&
        json::serialize(TemplateToJson(before->definition)) == definition) {
      out = std::make_pair(*before, false);
      return Status::Ok();
    }
    if (before && before->definition.channel != def->channel) {
      return Status::Validation(
          {{"channel", "a template keeps its channel (" + before->definition.channel + ")"}});
    }
    if (before) {
      RETURN_IF_ERROR(c.Execute("UPDATE message_templates SET name = ?, definition = ?, "
                                "version = version + 1, updated_at = ? WHERE id = ?",
                                {name, definition, actor.now_ms, before->id})
                          .status());
    } else {
      auto ins = c.Execute(
          "INSERT INTO message_templates (key, name, channel, definition, "
          "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
          {key, name, def->channel, definition, actor.now_ms, actor.now_ms});
      if (!ins.ok() && ins.status().code() == StatusCode::kConflict)
        return Status::Unavailable("concurrent create");
      RETURN_IF_ERROR(ins.status());
    }
    ASSIGN_OR_RETURN(auto now_row, c.QueryRow(std::string(kSelect) + " WHERE key = ?", {key}));
    ASSIGN_OR_RETURN(SavedTemplate now, RowToTemplate(*now_row));
    RETURN_IF_ERROR(audit::Record(
        c, actor,
        {before ? "template.update" : "template.create", "template", key,
         before ? std::optional<json::value>(SavedTemplateToJson(*before)) : std::nullopt,
         json::value(SavedTemplateToJson(now))}));
    out = std::make_pair(std::move(now), true);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<SavedTemplate>> TemplateStore::Load(store::Connection& c,
                                                         const std::string& key) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kSelect) + " WHERE key = ?", {key}));
  if (!row) return std::optional<SavedTemplate>();
  ASSIGN_OR_RETURN(SavedTemplate t, RowToTemplate(*row));
  return std::optional<SavedTemplate>(std::move(t));
}

Result<SavedTemplate> TemplateStore::Get(const std::string& key) {
  std::optional<SavedTemplate> t;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(t, Load(c, key));
    return Status::Ok();
  }));
  if (!t) return Status::NotFound("no template " + key);
  return *t;
}

Result<std::vector<SavedTemplate>> TemplateStore::List() {
  ASSIGN_OR_RETURN(auto rows, db_.Execute(std::string(kSelect) + " ORDER BY key"));
  std::vector<SavedTemplate> out;
  for (const auto& r : rows.rows) {
    ASSIGN_OR_RETURN(SavedTemplate t, RowToTemplate(r));
    out.push_back(std::move(t));
  }
  return out;
}

Status TemplateStore::Delete(const audit::Actor& actor, const std::string& key) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(std::optional<SavedTemplate> t, Load(c, key));
    if (!t) return Status::NotFound("no template " + key);
    RETURN_IF_ERROR(c.Execute("DELETE FROM message_templates WHERE id = ?", {t->id}).status());
    return audit::Record(
        c, actor,
        {"template.delete", "template", key, json::value(SavedTemplateToJson(*t)), std::nullopt});
  });
}

}  // namespace kontor::messaging
