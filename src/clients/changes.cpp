#include "clients/changes.h"

#include "core/clock.h"

namespace kontor::clients {

Status RecordChange(store::Connection& c, int64_t now_ms, const Change& ch) {
  return RecordChanges(c, now_ms, {ch});
}

Status RecordChanges(store::Connection& c, int64_t now_ms, const std::vector<Change>& changes) {
  store::Params rows;
  rows.reserve(changes.size() * 7);
  for (const Change& ch : changes) {
    AppendChangeRow(
        now_ms,
        {ch.entity, ch.key, ch.op, ch.version,
         ch.data.is_null() ? std::nullopt : std::optional<std::string>(json::serialize(ch.data)),
         ch.customer},
        &rows);
  }
  return RecordChangeRows(c, std::move(rows));
}

void AppendChangeRow(int64_t now_ms, SerializedChange ch, store::Params* rows) {
  auto text = [](std::optional<std::string>& v) -> store::Value {
    if (!v) return nullptr;
    return std::move(*v);
  };
  rows->emplace_back(std::move(ch.entity));
  rows->emplace_back(std::move(ch.key));
  rows->emplace_back(std::move(ch.op));
  rows->emplace_back(ch.version);
  rows->emplace_back(now_ms);
  rows->push_back(text(ch.data));
  rows->push_back(text(ch.customer));
}

Status RecordChangeRows(store::Connection& c, store::Params rows) {
  if (rows.empty()) return Status::Ok();
  if (c.dialect() == store::Dialect::kPostgres) {
    RETURN_IF_ERROR(c.Execute("SELECT pg_advisory_xact_lock(727071)").status());
  }
  return store::InsertMany(
      c, "INSERT INTO changes (entity, entity_key, op, version, at, data, customer_key) VALUES", 7,
      std::move(rows));
}

namespace {

constexpr const char* kChangeColumns = "seq, entity, entity_key, op, version, at, data";

json::object ChangeRowToJson(const store::Row& row) {
  json::value data = nullptr;
  if (!row.IsNull(6)) {
    std::error_code ec;
    data = json::parse(row.Str(6), ec);
    if (ec) data = nullptr;
  }
  return {{"seq", std::to_string(row.Int(0))},
          {"entity", row.Str(1)},
          {"key", row.Str(2)},
          {"op", row.Str(3)},
          {"version", row.IsNull(4) ? json::value(nullptr) : json::value(row.Int(4))},
          {"at", FormatRfc3339(row.Int(5))},
          {"data", std::move(data)}};
}

}  // namespace

Result<ChangePage> ReadChanges(store::Database& db, int64_t since, int limit) {
  ASSIGN_OR_RETURN(store::QueryResult r,
                   db.Execute(std::string("SELECT ") + kChangeColumns +
                                  " FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                              {since, static_cast<int64_t>(limit)}));
  ChangePage page;
  page.next_cursor = since;
  for (const auto& row : r.rows) {
    page.items.push_back(ChangeRowToJson(row));
    page.next_cursor = row.Int(0);
  }
  return page;
}

Result<TimelinePage> ReadCustomerTimeline(store::Database& db, const std::string& customer,
                                          std::optional<int64_t> before, int limit) {
  std::string sql =
      std::string("SELECT ") + kChangeColumns + " FROM changes WHERE customer_key = ?";
  store::Params p{customer};
  if (before) {
    sql += " AND seq < ?";
    p.emplace_back(*before);
  }
  sql += " ORDER BY seq DESC LIMIT ?";
  p.emplace_back(static_cast<int64_t>(limit + 1));
  ASSIGN_OR_RETURN(store::QueryResult r, db.Execute(sql, p));
  TimelinePage page;
  for (size_t i = 0; i < r.rows.size() && static_cast<int>(i) < limit; ++i) {
    page.items.push_back(ChangeRowToJson(r.rows[i]));
    if (static_cast<int>(i) == limit - 1 && static_cast<int>(r.rows.size()) > limit) {
      page.next_before = r.rows[i].Int(0);
    }
  }
  return page;
}

Status ScrubCustomerChanges(store::Connection& c, const std::string& customer) {
  return c
      .Execute("UPDATE changes SET data = NULL WHERE customer_key = ? AND entity = 'customer'",
               {customer})
      .status();
}

}  // namespace kontor::clients
