// One database interface, two drivers: SQLite (embedded default) and
// PostgreSQL (shared by several nodes). SQL is written once with `?`
// placeholders in the common subset of both dialects; the PostgreSQL driver
// renumbers them. Where dialects must differ, callers branch on dialect().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace kontor::store {

enum class Dialect { kSqlite, kPostgres };

// A bound parameter. Strings also carry blobs.
class Value {
 public:
  Value() : v_(nullptr) {}
  Value(std::nullptr_t) : v_(nullptr) {}                           // NOLINT
  Value(int v) : v_(static_cast<int64_t>(v)) {}                     // NOLINT
  Value(int64_t v) : v_(v) {}                                       // NOLINT
  Value(bool v) : v_(static_cast<int64_t>(v ? 1 : 0)) {}            // NOLINT
  Value(double v) : v_(v) {}                                        // NOLINT
  Value(std::string v) : v_(std::move(v)) {}                        // NOLINT
  Value(std::string_view v) : v_(std::string(v)) {}                 // NOLINT
  Value(const char* v) : v_(std::string(v)) {}                      // NOLINT
  Value(const std::optional<std::string>& v) : v_(nullptr) { if (v) v_ = *v; }  // NOLINT
  Value(const std::optional<int64_t>& v) : v_(nullptr) { if (v) v_ = *v; }      // NOLINT

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }
  const std::variant<std::nullptr_t, int64_t, double, std::string>& get() const { return v_; }
  std::string ToText() const;  // PostgreSQL text format

 private:
  std::variant<std::nullptr_t, int64_t, double, std::string> v_;
};

using Params = std::vector<Value>;

// One result row; cells are kept in text form, converted on access.
class Row {
 public:
  explicit Row(std::vector<std::optional<std::string>> cells) : cells_(std::move(cells)) {}
  size_t size() const { return cells_.size(); }
  bool IsNull(size_t i) const { return !cells_.at(i).has_value(); }
  int64_t Int(size_t i) const;  // 0 for NULL
  double Real(size_t i) const;
  const std::string& Str(size_t i) const;  // "" for NULL
  std::optional<std::string> OptStr(size_t i) const { return cells_.at(i); }
  std::optional<int64_t> OptInt(size_t i) const;

 private:
  std::vector<std::optional<std::string>> cells_;
};

struct QueryResult {
  std::vector<Row> rows;
  int64_t affected = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement. Unique violations → kConflict; lock contention and
  // serialization failures → kUnavailable; other errors → kInternal.
  virtual Result<QueryResult> Execute(std::string_view sql, const Params& params = {}) = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual Status ExecuteScript(std::string_view sql) = 0;
  // REQUIRES: not inside a transaction.
  virtual Status Begin() = 0;
  // A read-only transaction: several statements see one consistent state,
  // and writers are not held up. Ends with Commit or Rollback.
  // REQUIRES: not inside a transaction.
  virtual Status BeginRead() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  // False once the connection is known broken; the pool then drops it.
  virtual bool Healthy() const { return true; }

  // Runs a query whose first column is an integer and hands each value to
  // `fn` as it is read (NULL as 0), without building rows: for reading
  // millions of ids.
  virtual Status ForEachInt(std::string_view sql, const Params& params,
                            const std::function<void(int64_t)>& fn);

  // Convenience: the first row, or nullopt.
  Result<std::optional<Row>> QueryRow(std::string_view sql, const Params& params = {});
};

// Multi-row INSERT: `head` is "INSERT INTO t (a, b) VALUES", `values` holds
// rows of `columns` values back to back, `tail` follows the VALUES list
// (ON CONFLICT ..., RETURNING ...) and every RETURNING row goes to `on_row`.
// Rows go in chunks whose sizes are powers of two, so a few distinct
// statements are prepared and cached however many rows there are. `values`
// is consumed (moved into the statements' parameters, not copied).
Status InsertMany(Connection& c, std::string_view head, size_t columns, Params values,
                  std::string_view tail = {}, const std::function<void(const Row&)>& on_row = {});

// `column IN (?, ?, ...)` over `keys` in chunks, padded with the last key to
// a few fixed sizes (repeats don't change an IN), for the same reason.
// `sql` holds one `{in}` where the list goes and no other placeholder.
Status SelectIn(Connection& c, std::string_view sql, const Params& keys,
                const std::function<void(const Row&)>& on_row);

struct DatabaseOptions {
  int pool_size = 8;
  int busy_timeout_ms = 5000;
};

class Database {
 public:
  virtual ~Database() = default;

  // `url` is sqlite:PATH (sqlite::memory: for tests) or postgres://...
  static Result<std::unique_ptr<Database>> Open(const std::string& url,
                                                const DatabaseOptions& options);

  virtual Dialect dialect() const = 0;
  // The most connections open at once.
  int pool_size() const { return pool_size_; }

  // Runs `fn` in one transaction: commits when it returns OK, rolls back
  // otherwise. Retries the whole function when the database reports a
  // serialization failure or lock timeout, so `fn` must be repeatable.
  Status Transact(const std::function<Status(Connection&)>& fn);
  // Runs `fn` on a pooled connection in autocommit mode.
  Status WithConnection(const std::function<Status(Connection&)>& fn);
  // Like WithConnection when a connection is free now (idle, or the pool is
  // not full); nullopt, without running `fn`, when it would have to wait. For
  // work that may fan out while holding a connection: waiting for a second one
  // could deadlock when every holder waits the same way.
  std::optional<Status> TryWithConnection(const std::function<Status(Connection&)>& fn);
  // One autocommit statement.
  Result<QueryResult> Execute(std::string_view sql, const Params& params = {});
  Result<std::optional<Row>> QueryRow(std::string_view sql, const Params& params = {});

 protected:
  explicit Database(int pool_size) : pool_size_(pool_size) {}
  virtual Result<std::unique_ptr<Connection>> Connect() = 0;

 private:
  // nullptr without waiting when !wait and no connection is free.
  Result<std::unique_ptr<Connection>> Acquire(bool wait = true);
  void Release(std::unique_ptr<Connection> c);

  const int pool_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
};

}  // namespace kontor::store
