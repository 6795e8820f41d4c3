#include "audit/audit.h"

#include "core/clock.h"

namespace kontor::audit {

Actor Actor::System(std::string label, int64_t now_ms) {
  Actor a;
  a.type = "system";
  a.label = std::move(label);
  a.now_ms = now_ms;
  return a;
}

Status Record(store::Connection& c, const Actor& actor, const Entry& e) {
  return RecordMany(c, actor, {e});
}

Status RecordMany(store::Connection& c, const Actor& actor, const std::vector<Entry>& entries) {
  auto text = [](const std::optional<json::value>& v) -> std::optional<std::string> {
    if (!v) return std::nullopt;
    return json::serialize(*v);
  };
  store::Params rows;
  rows.reserve(entries.size() * 11);
  for (const Entry& e : entries) {
    AppendRow(actor, {e.action, e.resource_type, e.resource_id, text(e.before), text(e.after)},
              &rows);
  }
  return RecordRows(c, std::move(rows));
}

void AppendRow(const Actor& actor, SerializedEntry e, store::Params* rows) {
  auto text = [](std::optional<std::string>& v) -> store::Value {
    if (!v) return nullptr;
    return std::move(*v);
  };
  rows->emplace_back(actor.now_ms);
  rows->emplace_back(actor.type);
  rows->emplace_back(actor.id);
  rows->emplace_back(actor.label);
  rows->emplace_back(std::move(e.action));
  rows->emplace_back(std::move(e.resource_type));
  rows->emplace_back(std::move(e.resource_id));
  rows->push_back(text(e.before_json));
  rows->push_back(text(e.after_json));
  rows->emplace_back(actor.request_id);
  rows->emplace_back(actor.client_ip);
}

Status RecordRows(store::Connection& c, store::Params rows) {
  return store::InsertMany(
      c,
      "INSERT INTO audit_log (at, actor_type, actor_id, actor_label, action, resource_type, "
      "resource_id, before_json, after_json, request_id, client_ip) VALUES",
      11, std::move(rows));
}

Result<Page> Query(store::Database& db, const Filter& f) {
  std::string sql =
      "SELECT id, at, actor_type, actor_id, actor_label, action, resource_type, resource_id, "
      "before_json, after_json, request_id, client_ip FROM audit_log WHERE 1=1";
  store::Params p;
  if (f.actor) {
    sql += " AND (actor_id = ? OR LOWER(actor_label) LIKE ?)";
    p.emplace_back(*f.actor);
    std::string like;
    for (char ch : *f.actor) {
      if (ch == '%' || ch == '_' || ch == '\\') continue;  // literal search, no wildcards
      like += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    p.emplace_back("%" + like + "%");
  }
  if (f.action) {
    if (!f.action->empty() && f.action->back() == '*') {
      sql += " AND action >= ? AND action < ?";
      std::string prefix = f.action->substr(0, f.action->size() - 1);
      p.emplace_back(prefix);
      p.emplace_back(prefix + "\x7f");
    } else {
      sql += " AND action = ?";
      p.emplace_back(*f.action);
    }
  }
  if (f.resource_type) {
    sql += " AND resource_type = ?";
    p.emplace_back(*f.resource_type);
  }
  if (f.resource_id) {
    sql += " AND resource_id = ?";
    p.emplace_back(*f.resource_id);
  }
  if (f.since_ms) {
    sql += " AND at >= ?";
    p.emplace_back(*f.since_ms);
  }
  if (f.until_ms) {
    sql += " AND at < ?";
    p.emplace_back(*f.until_ms);
  }
  if (f.before_id) {
    sql += " AND id < ?";
    p.emplace_back(*f.before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  p.emplace_back(static_cast<int64_t>(f.limit + 1));

  ASSIGN_OR_RETURN(store::QueryResult r, db.Execute(sql, p));
  Page page;
  auto parse = [](const store::Row& row, size_t i) -> json::value {
    if (row.IsNull(i)) return nullptr;
    std::error_code ec;
    json::value v = json::parse(row.Str(i), ec);
    return ec ? json::value(row.Str(i)) : v;
  };
  for (size_t i = 0; i < r.rows.size() && static_cast<int>(i) < f.limit; ++i) {
    const store::Row& row = r.rows[i];
    page.items.push_back(json::object{
        {"id", std::to_string(row.Int(0))},
        {"at", FormatRfc3339(row.Int(1))},
        {"actor", {{"type", row.Str(2)}, {"id", row.Str(3)}, {"label", row.Str(4)}}},
        {"action", row.Str(5)},
        {"resource", {{"type", row.Str(6)}, {"id", row.Str(7)}}},
        {"before", parse(row, 8)},
        {"after", parse(row, 9)},
        {"request_id", row.Str(10)},
        {"client_ip", row.Str(11)},
    });
  }
  if (static_cast<int>(r.rows.size()) > f.limit) page.next_before_id = r.rows[f.limit - 1].Int(0);
  return page;
}

}  // namespace kontor::audit
