#include "store/database.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>
#include <thread>

#include "store/postgres.h"
#include "store/sqlite.h"

namespace kontor::store {

std::string Value::ToText() const {
  if (auto* i = std::get_if<int64_t>(&v_)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v_)) return std::to_string(*d);
  if (auto* s = std::get_if<std::string>(&v_)) return *s;
  return "";
}

int64_t Row::Int(size_t i) const {
  const auto& c = cells_.at(i);
  if (!c) return 0;
  int64_t v = 0;
  std::from_chars(c->data(), c->data() + c->size(), v);
  return v;
}

double Row::Real(size_t i) const {
  const auto& c = cells_.at(i);
  return c ? std::strtod(c->c_str(), nullptr) : 0.0;
}

const std::string& Row::Str(size_t i) const {
  static const std::string kEmpty;
  const auto& c = cells_.at(i);
  return c ? *c : kEmpty;
}

std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}

Result<std::optional<Row>> Connection::QueryRow(std::string_view sql, const Params& params) {
  ASSIGN_OR_RETURN(QueryResult r, Execute(sql, params));
  if (r.rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(r.rows.front()));
}

Status Connection::ForEachInt(std::string_view sql, const Params& params,
                              const std::function<void(int64_t)>& fn) {
  ASSIGN_OR_RETURN(QueryResult r, Execute(sql, params));
  for (const Row& row : r.rows) fn(row.Int(0));
  return Status::Ok();
}

Status InsertMany(Connection& c, std::string_view head, size_t columns, Params values,
                  std::string_view tail, const std::function<void(const Row&)>& on_row) {
  if (columns == 0 || values.size() % columns != 0)
    return Status::Internal("InsertMany: ragged rows");
  // SQLite binds at most 32766 parameters, PostgreSQL 65535.
  const size_t max_rows = std::min<size_t>(256, 30000 / columns);
  std::string row = "(";
  for (size_t i = 0; i < columns; ++i) row += i ? ", ?" : "?";
  row += ")";
  size_t done = 0, total = values.size() / columns;
  Params chunk;
  while (done < total) {
    size_t n = 1;
    while (n * 2 <= std::min(max_rows, total - done)) n *= 2;
    std::string sql(head);
    sql.reserve(head.size() + n * (row.size() + 2) + tail.size() + 1);
    for (size_t i = 0; i < n; ++i) {
      sql += i ? ", " : " ";
      sql += row;
    }
    if (!tail.empty()) {
      sql += ' ';
      sql += tail;
    }
    chunk.assign(std::make_move_iterator(values.begin() + done * columns),
                 std::make_move_iterator(values.begin() + (done + n) * columns));
    ASSIGN_OR_RETURN(QueryResult r, c.Execute(sql, chunk));
    if (on_row) {
      for (const Row& x : r.rows) on_row(x);
    }
    done += n;
  }
  return Status::Ok();
}

static Status SelectInChunks(Connection& c, std::string_view sql, size_t at, const Params& keys,
                             const std::function<void(const Row&)>& on_row);

Status SelectIn(Connection& c, std::string_view sql, const Params& keys,
                const std::function<void(const Row&)>& on_row) {
  const size_t at = sql.find("{in}");
  if (at == std::string_view::npos) return Status::Internal("SelectIn: no {in}");
  // PostgreSQL would cache a generic plan for these statements after a few
  // runs, sized by the statistics of the moment: planned while a table was
  // small, a 512-key lookup becomes a sequential scan once it is large (a
  // bulk sync grows tables by millions between ANALYZEs). Key lookups are
  // cheap to plan, so they are planned for their keys every time.
  const bool pg = c.dialect() == Dialect::kPostgres;
  if (pg) RETURN_IF_ERROR(c.ExecuteScript("SET plan_cache_mode = force_custom_plan"));
  Status st = SelectInChunks(c, sql, at, keys, on_row);
  if (pg) RETURN_IF_ERROR(c.ExecuteScript("RESET plan_cache_mode"));
  return st;
}

static Status SelectInChunks(Connection& c, std::string_view sql, size_t at, const Params& keys,
                             const std::function<void(const Row&)>& on_row) {
  size_t done = 0;
  Params chunk;
  while (done < keys.size()) {
    const size_t left = keys.size() - done;
    size_t n = 1;
    for (size_t size : {1, 16, 128, 512}) {
      n = size;
      if (size >= left) break;
    }
    const size_t take = std::min(n, left);
    chunk.assign(keys.begin() + done, keys.begin() + done + take);
    chunk.resize(n, chunk.back());
    std::string q(sql.substr(0, at));
    for (size_t i = 0; i < n; ++i) q += i ? ", ?" : "?";
    q += sql.substr(at + 4);
    ASSIGN_OR_RETURN(QueryResult r, c.Execute(q, chunk));
    for (const Row& x : r.rows) on_row(x);
    done += take;
  }
  return Status::Ok();
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& url,
                                                 const DatabaseOptions& options) {
  if (url.rfind("sqlite:", 0) == 0) {
    return OpenSqlite(url.substr(7), options);
  }
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    return OpenPostgres(url, options);
  }
  return Status::Validation({{"db", "must start with sqlite: or postgres://"}});
}

Result<std::unique_ptr<Connection>> Database::Acquire(bool wait) {
  {
    std::unique_lock lock(mu_);
    auto ready = [&] { return !idle_.empty() || open_ < pool_size_; };
    if (!wait && !ready()) return std::unique_ptr<Connection>();
    cv_.wait(lock, ready);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  auto c = Connect();
  if (!c.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
  }
  return c;
}

void Database::Release(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  if (c->Healthy()) {
    idle_.push_back(std::move(c));
  } else {
    --open_;
  }
  cv_.notify_one();
}

Status Database::WithConnection(const std::function<Status(Connection&)>& fn) {
  ASSIGN_OR_RETURN(auto conn, Acquire());
  Status st = fn(*conn);
  Release(std::move(conn));
  return st;
}

std::optional<Status> Database::TryWithConnection(
    const std::function<Status(Connection&)>& fn) {
  ASSIGN_OR_RETURN(auto conn, Acquire(false));
  if (!conn) return std::nullopt;
  Status st = fn(*conn);
  Release(std::move(conn));
  return st;
}

Status Database::Transact(const std::function<Status(Connection&)>& fn) {
  constexpr int kAttempts = 8;
  thread_local std::minstd_rand rng(std::random_device{}());
  Status st;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    st = WithConnection([&](Connection& c) -> Status {
      RETURN_IF_ERROR(c.Begin());
      Status inner = fn(c);
      if (!inner.ok()) {
        (void)c.Rollback();
        return inner;
      }
      Status commit = c.Commit();
      if (!commit.ok()) (void)c.Rollback();
      return commit;
    });
    if (st.code() != StatusCode::kUnavailable) return st;
    // Contention: back off with jitter before running the whole unit again.
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * (1 << attempt) + rng() % 10));
  }
  return st;
}

Result<QueryResult> Database::Execute(std::string_view sql, const Params& params) {
  Result<QueryResult> out = Status::Internal("not run");
  Status st = WithConnection([&](Connection& c) {
    out = c.Execute(sql, params);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::optional<Row>> Database::QueryRow(std::string_view sql, const Params& params) {
  ASSIGN_OR_RETURN(QueryResult r, Execute(sql, params));
  if (r.rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(r.rows.front()));
}

}  // namespace kontor::store
