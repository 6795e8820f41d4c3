#include "store/sqlite.h"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "store/sqlite_functions.h"

namespace kontor::store {
namespace {

constexpr size_t kMaxCachedStatements = 512;

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::Conflict(msg);
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

class SqliteConnection : public Connection {
 public:
  SqliteConnection(sqlite3* db, std::mutex* write_mu, std::atomic<bool>* checkpointing)
      : db_(db), write_mu_(write_mu), checkpointing_(checkpointing) {
    sqlite3_wal_hook(db_, &SqliteConnection::OnWalCommit, this);
  }
  ~SqliteConnection() override {
    ReleaseWriteLock();
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Result<QueryResult> Execute(std::string_view sql, const Params& params) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Bind(sql, params));
    QueryResult out;
    const int cols = sqlite3_column_count(stmt);
    RETURN_IF_ERROR(Step(stmt, [&] {
      std::vector<std::optional<std::string>> cells(cols);
      for (int c = 0; c < cols; ++c) {
        int type = sqlite3_column_type(stmt, c);
        if (type == SQLITE_NULL) continue;
        const char* p = reinterpret_cast<const char*>(
            type == SQLITE_BLOB ? sqlite3_column_blob(stmt, c) : sqlite3_column_text(stmt, c));
        cells[c] = std::string(p ? p : "", sqlite3_column_bytes(stmt, c));
      }
      out.rows.emplace_back(std::move(cells));
    }));
    out.affected = sqlite3_changes64(db_);
    return out;
  }

  Status ForEachInt(std::string_view sql, const Params& params,
                    const std::function<void(int64_t)>& fn) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Bind(sql, params));
    return Step(stmt, [&] { fn(sqlite3_column_int64(stmt, 0)); });
  }

  Status ExecuteScript(std::string_view sql) override {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return Status::Internal("script: " + msg);
    }
    return Status::Ok();
  }

  // Writers of this process queue on a mutex before taking SQLite's lock:
  // SQLite's own busy handler sleeps and polls, which under contention costs
  // throughput and tail latency. Other processes still meet the busy timeout.
  Status Begin() override {
    write_mu_->lock();
    holding_ = true;
    Status st = Simple("BEGIN IMMEDIATE");
    if (!st.ok()) ReleaseWriteLock();
    return st;
  }
  // A deferred BEGIN reads from one snapshot from its first read on and
  // takes no write lock.
  Status BeginRead() override { return Simple("BEGIN DEFERRED"); }
  Status Commit() override {
    Status st = Simple("COMMIT");
    if (st.ok()) {
      ReleaseWriteLock();
      MaybeCheckpoint();
    }
    return st;  // on failure the caller rolls back, which releases
  }
  Status Rollback() override {
    Status st = sqlite3_get_autocommit(db_) ? Status::Ok()  // SQLite already rolled back
                                            : Simple("ROLLBACK");
    ReleaseWriteLock();
    return st;
  }

 private:
  void ReleaseWriteLock() {
    if (holding_) {
      holding_ = false;
      write_mu_->unlock();
    }
  }

  // The cached statement for `sql` with `params` bound.
  Result<sqlite3_stmt*> Bind(std::string_view sql, const Params& params) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    sqlite3_reset(stmt);
    // Every parameter is bound on every run, so no stale binding can be read
    // and clearing them first is not needed; text is bound without a copy
    // (SQLITE_STATIC) because `params` outlives the statement's run. Both
    // showed up in bulk writes with thousands of parameters a statement.
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return Status::Internal("sqlite: " + std::to_string(params.size()) + " parameters for " +
                              std::to_string(sqlite3_bind_parameter_count(stmt)) + " placeholders");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const auto& v = params[i].get();
      int rc;
      if (std::holds_alternative<int64_t>(v)) {
        rc = sqlite3_bind_int64(stmt, idx, std::get<int64_t>(v));
      } else if (std::holds_alternative<double>(v)) {
        rc = sqlite3_bind_double(stmt, idx, std::get<double>(v));
      } else if (std::holds_alternative<std::string>(v)) {
        const auto& s = std::get<std::string>(v);
        rc = sqlite3_bind_text(stmt, idx, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
    }
    return stmt;
  }

  // Steps a bound statement to the end, calling `on_row` for each row, and
  // resets it whatever happens.
  template <class F>
  Status Step(sqlite3_stmt* stmt, F&& on_row) {
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Status st = SqliteError(db_, sqlite3_extended_errcode(db_), "step");
        sqlite3_reset(stmt);
        return st;
      }
      on_row();
    }
    sqlite3_reset(stmt);
    return Status::Ok();
  }

  Status Simple(const char* sql) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : SqliteError(db_, sqlite3_extended_errcode(db_), sql);
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end()) return it->second;
    // Generated SQL (segment rules) has unbounded shapes: keep the cache
    // bounded by starting over when it is full.
    if (cache_.size() >= kMaxCachedStatements) {
      for (auto& [text, stmt] : cache_) sqlite3_finalize(stmt);
      cache_.clear();
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

  // SQLite's automatic checkpoint runs inside COMMIT, while this process's
  // writers queue behind write_mu_; in bulk syncs that was a third of each
  // batch's commit. Automatic checkpoints are off (see Connect) and the
  // committing connection copies the WAL back after it let the next writer
  // in. PASSIVE never blocks writers or readers; one connection at a time.
  static constexpr int kCheckpointPages = 1000;  // SQLite's own default
  static int OnWalCommit(void* self, sqlite3*, const char*, int pages) {
    static_cast<SqliteConnection*>(self)->wal_pages_ = pages;
    return SQLITE_OK;
  }
  void MaybeCheckpoint() {
    if (wal_pages_ < kCheckpointPages) return;
    wal_pages_ = 0;
    if (checkpointing_->exchange(true)) return;
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    checkpointing_->store(false);
  }

  sqlite3* db_;
  std::mutex* write_mu_;
  std::atomic<bool>* checkpointing_;
  int wal_pages_ = 0;
  bool holding_ = false;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

class SqliteDatabase : public Database {
 public:
  SqliteDatabase(std::string path, const DatabaseOptions& o)
      : Database(path == ":memory:" ? 1 : o.pool_size), path_(std::move(path)), options_(o) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

 protected:
  Result<std::unique_ptr<Connection>> Connect() override {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      Status st = Status::Unavailable("sqlite open " + path_ + ": " + sqlite3_errstr(rc));
      sqlite3_close_v2(db);
      return st;
    }
    sqlite3_busy_timeout(db, options_.busy_timeout_ms);
    if (Status st = RegisterSqliteFunctions(db); !st.ok()) {
      sqlite3_close_v2(db);
      return st;
    }
    auto conn = std::make_unique<SqliteConnection>(db, &write_mu_, &checkpointing_);
    // WAL with synchronous=NORMAL: a committed write survives a crash of the
    // process (the SIGKILL test checks it); only an OS crash may lose the last
    // commits. Deployments that need more use PostgreSQL.
    // A 64 MiB page cache and reads through mmap: index pages of a table
    // with a million customers stay in memory instead of being copied in
    // from the OS cache on every bulk write.
    // 16 KiB pages (taken only by a new database file): a bulk sync's batch
    // touches fewer pages of the wide customers table and its indexes, and
    // its commit took about a third less time than with 4 KiB pages.
    // Checkpoints: see SqliteConnection::MaybeCheckpoint.
    RETURN_IF_ERROR(conn->ExecuteScript(
        "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; "
        "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0;"));
    return std::unique_ptr<Connection>(std::move(conn));
  }

 private:
  std::string path_;
  DatabaseOptions options_;
  std::mutex write_mu_;  // see SqliteConnection::Begin
  std::atomic<bool> checkpointing_{false};
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path,
                                             const DatabaseOptions& options) {
  if (path.empty()) return Status::Validation({{"db", "sqlite: needs a path"}});
  if (path != ":memory:") {
    std::error_code ec;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Unavailable("cannot create " + dir.string() + ": " + ec.message());
  }
  auto db = std::make_unique<SqliteDatabase>(path, options);
  // Open one connection now so a bad path fails at start, not at first use.
  RETURN_IF_ERROR(db->WithConnection([](Connection&) { return Status::Ok(); }));
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace kontor::store
