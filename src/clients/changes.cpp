#include "clients/changes.h"

#include "core/clock.h"

namespace kontor::clients {

Status RecordChange(store::Connection& c, int64_t now_ms, const Change& ch) {
  if (c.dialect() == store::Dialect::kPostgres) {
    RETURN_IF_ERROR(c.Execute("SELECT pg_advisory_xact_lock(727071)").status());
  }
  store::Value data = ch.data.is_null() ? store::Value(nullptr) : store::Value(json::serialize(ch.data));
  return c.Execute("INSERT INTO changes (entity, entity_key, op, version, at, data) VALUES (?, ?, ?, ?, ?, ?)",
                   {ch.entity, ch.key, ch.op, ch.version, now_ms, data})
      .status();
}

Result<ChangePage> ReadChanges(store::Database& db, int64_t since, int limit) {
  ASSIGN_OR_RETURN(store::QueryResult r,
                   db.Execute("SELECT seq, entity, entity_key, op, version, at, data FROM changes "
                              "WHERE seq > ? ORDER BY seq LIMIT ?",
                              {since, static_cast<int64_t>(limit)}));
  ChangePage page;
  page.next_cursor = since;
  for (const auto& row : r.rows) {
    json::value data = nullptr;
    if (!row.IsNull(6)) {
      std::error_code ec;
      data = json::parse(row.Str(6), ec);
      if (ec) data = nullptr;
    }
    page.items.push_back({{"seq", std::to_string(row.Int(0))},
                          {"entity", row.Str(1)},
                          {"key", row.Str(2)},
                          {"op", row.Str(3)},
                          {"version", row.IsNull(4) ? json::value(nullptr) : json::value(row.Int(4))},
                          {"at", FormatRfc3339(row.Int(5))},
                          {"data", std::move(data)}});
    page.next_cursor = row.Int(0);
  }
  return page;
}

}  // namespace kontor::clients
