#include "store/postgres.h"

#include <libpq-fe.h>

#include <cstring>
#include <unordered_map>

namespace kontor::store {

std::string RenumberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

constexpr size_t kMaxPreparedStatements = 512;

Status PgError(PGresult* res, PGconn* conn, std::string_view what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = std::string(what) + ": " + (res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (state) {
    if (std::strcmp(state, "23505") == 0) return Status::Conflict(msg);
    if (std::strcmp(state, "40001") == 0 || std::strcmp(state, "40P01") == 0 ||
        std::strcmp(state, "55P03") == 0) {
      return Status::Unavailable(msg);
    }
  }
  if (PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

class PgConnection : public Connection {
 public:
  explicit PgConnection(PGconn* c) : conn_(c) {}
  ~PgConnection() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgres; }
  bool Healthy() const override { return PQstatus(conn_) == CONNECTION_OK; }

  Result<QueryResult> Execute(std::string_view sql, const Params& params) override {
    std::string key(sql);
    auto it = prepared_.find(key);
    if (it == prepared_.end()) {
      // Generated SQL (segment rules) has unbounded shapes: keep the
      // server-side statements bounded by starting over when full.
      if (prepared_.size() >= kMaxPreparedStatements) {
        PQclear(PQexec(conn_, "DEALLOCATE ALL"));
        prepared_.clear();
      }
      std::string name = "s" + std::to_string(next_statement_++);
      std::string text = RenumberPlaceholders(sql);
      PGresult* r = PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        Status st = PgError(r, conn_, "prepare");
        PQclear(r);
        return st;
      }
      PQclear(r);
      it = prepared_.emplace(std::move(key), std::move(name)).first;
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].is_null()) {
        values[i] = nullptr;
      } else {
        texts[i] = params[i].ToText();
        values[i] = texts[i].c_str();
      }
    }
    PGresult* r = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                 values.data(), nullptr, nullptr, 0);
    ExecStatusType rs = PQresultStatus(r);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
      Status st = PgError(r, conn_, "execute");
      PQclear(r);
      return st;
    }
    QueryResult out;
    int rows = PQntuples(r), cols = PQnfields(r);
    out.rows.reserve(rows);
    for (int i = 0; i < rows; ++i) {
      std::vector<std::optional<std::string>> cells(cols);
      for (int c = 0; c < cols; ++c) {
        if (!PQgetisnull(r, i, c)) cells[c] = std::string(PQgetvalue(r, i, c), PQgetlength(r, i, c));
      }
      out.rows.emplace_back(std::move(cells));
    }
    const char* affected = PQcmdTuples(r);
    out.affected = affected && *affected ? std::atoll(affected) : rows;
    PQclear(r);
    return out;
  }

  Status ExecuteScript(std::string_view sql) override {
    PGresult* r = PQexec(conn_, std::string(sql).c_str());
    Status st = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                    ? Status::Ok()
                    : PgError(r, conn_, "script");
    PQclear(r);
    return st;
  }

  Status Begin() override { return ExecuteScript("BEGIN"); }
  Status BeginRead() override {
    return ExecuteScript("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  }
  Status Commit() override { return ExecuteScript("COMMIT"); }
  Status Rollback() override { return ExecuteScript("ROLLBACK"); }

 private:
  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;
  uint64_t next_statement_ = 0;
};

class PgDatabase : public Database {
 public:
  PgDatabase(std::string url, const DatabaseOptions& o) : Database(o.pool_size), url_(std::move(url)) {}
  Dialect dialect() const override { return Dialect::kPostgres; }

 protected:
  Result<std::unique_ptr<Connection>> Connect() override {
    PGconn* c = PQconnectdb(url_.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c);
      PQfinish(c);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return Status::Unavailable("postgres connect: " + msg);
    }
    auto conn = std::make_unique<PgConnection>(c);
    RETURN_IF_ERROR(conn->ExecuteScript("SET TIME ZONE 'UTC'; SET client_min_messages = warning"));
    return std::unique_ptr<Connection>(std::move(conn));
  }

 private:
  std::string url_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url,
                                               const DatabaseOptions& options) {
  auto db = std::make_unique<PgDatabase>(url, options);
  RETURN_IF_ERROR(db->WithConnection([](Connection&) { return Status::Ok(); }));
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace kontor::store
