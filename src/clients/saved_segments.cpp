#include "clients/saved_segments.h"

#include "clients/changes.h"
#include "clients/segment_count.h"
#include "core/clock.h"

namespace kontor::clients {
namespace {

constexpr const char* kSelect = "SELECT id, key, name, rule, version, created_at, updated_at FROM segments";

SavedSegment RowToSegment(const store::Row& r) {
  SavedSegment s;
  s.id = r.Int(0);
  s.key = r.Str(1);
  s.name = r.Str(2);
  std::error_code ec;
  s.rule = json::parse(r.Str(3), ec);
  if (ec) s.rule = nullptr;
  s.version = r.Int(4);
  s.created_at = r.Int(5);
  s.updated_at = r.Int(6);
  return s;
}

}  // namespace

json::object SavedSegmentToJson(const SavedSegment& s) {
  return {{"id", s.id},  // what a campaign's audience names
          {"key", s.key}, {"name", s.name}, {"rule", s.rule}, {"version", s.version},
          {"created_at", FormatRfc3339(s.created_at)}, {"updated_at", FormatRfc3339(s.updated_at)}};
}

Result<std::pair<SavedSegment, bool>> SegmentService::Upsert(const audit::Actor& actor, const std::string& key,
                                                             const std::string& name, const json::value& rule,
                                                             std::optional<int64_t> if_match) {
  Result<std::pair<SavedSegment, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    {
      DbSegmentResolver resolver(c);
      RETURN_IF_ERROR(CompileSegment(rule, c.dialect(), actor.now_ms, resolver, "rule", key).status());
    }
    const std::string lock = c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : "";
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kSelect) + " WHERE key = ?" + lock, {key}));
    std::optional<SavedSegment> before;
    if (row) before = RowToSegment(*row);
    if (if_match && (!before || before->version != *if_match)) {
      return Status::Conflict("segment " + key + (before ? " is at version " + std::to_string(before->version)
                                                         : " does not exist"));
    }
    if (before && before->name == name && before->rule == rule) {
      out = std::make_pair(*before, false);
      return Status::Ok();
    }
    const std::string rule_text = json::serialize(rule);
    if (before) {
      RETURN_IF_ERROR(c.Execute("UPDATE segments SET name = ?, rule = ?, version = version + 1, updated_at = ? "
                                "WHERE id = ?",
                                {name, rule_text, actor.now_ms, before->id}).status());
    } else {
      auto ins = c.Execute("INSERT INTO segments (key, name, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                           {key, name, rule_text, actor.now_ms, actor.now_ms});
      if (!ins.ok() && ins.status().code() == StatusCode::kConflict) return Status::Unavailable("concurrent create");
      RETURN_IF_ERROR(ins.status());
    }
    ASSIGN_OR_RETURN(auto now_row, c.QueryRow(std::string(kSelect) + " WHERE key = ?", {key}));
    SavedSegment now = RowToSegment(*now_row);
    const char* op = before ? "update" : "create";
    RETURN_IF_ERROR(audit::Record(c, actor, {std::string("segment.") + op, "segment", key,
                                             before ? std::optional<json::value>(SavedSegmentToJson(*before))
                                                    : std::nullopt,
                                             json::value(SavedSegmentToJson(now))}));
    out = std::make_pair(now, true);
    return Status::Ok();
  }));
  return out;
}

Result<SavedSegment> SegmentService::Get(const std::string& key) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string(kSelect) + " WHERE key = ?", {key}));
  if (!row) return Status::NotFound("no segment " + key);
  return RowToSegment(*row);
}

Result<std::vector<SavedSegment>> SegmentService::ListAll() {
  ASSIGN_OR_RETURN(auto r, db_.Execute(std::string(kSelect) + " ORDER BY key"));
  std::vector<SavedSegment> out;
  for (const auto& row : r.rows) out.push_back(RowToSegment(row));
  return out;
}

Result<SegmentService::Preview> SegmentService::PreviewRule(const json::value& rule, int64_t now_ms, int sample) {
  ASSIGN_OR_RETURN(SegmentCount counted, CountSegment(db_, rule, now_ms, sample));
  Preview out;
  out.count = counted.count;
  if (counted.sample_ids.empty()) return out;
  std::unordered_map<int64_t, std::string> external;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) {
    store::Params ids(counted.sample_ids.begin(), counted.sample_ids.end());
    return store::SelectIn(c, "SELECT id, external_id FROM customers WHERE id IN ({in})", ids,
                           [&](const store::Row& r) { external[r.Int(0)] = r.Str(1); });
  }));
  for (int64_t id : counted.sample_ids) {
    if (auto it = external.find(id); it != external.end()) out.sample.push_back(it->second);
  }
  return out;
}

Result<SegmentService::Preview> SegmentService::PreviewSaved(const std::string& key, int64_t now_ms, int sample) {
  RETURN_IF_ERROR(Get(key).status());
  return PreviewRule(json::value(json::object{{"segment", key}}), now_ms, sample);
}

}  // namespace kontor::clients
