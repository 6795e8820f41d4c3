// Fresh, migrated databases for tests: a SQLite file in a temp directory, or
// a new database on the PostgreSQL server named by KONTOR_TEST_PG_URL,
// dropped again when the TestDatabase is destroyed.
#pragma once

#include <memory>
#include <string>

#include "store/database.h"

namespace kontor::store {

class TestDatabase {
 public:
  // kPostgres returns kFailedPrecondition when KONTOR_TEST_PG_URL is unset.
  static Result<std::unique_ptr<TestDatabase>> Create(Dialect dialect, int pool_size = 8);
  ~TestDatabase();

  Database& db() { return *db_; }
  // URL of the database, for opening further connections or processes on it.
  const std::string& url() const { return url_; }

 private:
  TestDatabase() = default;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Database> admin_;  // PostgreSQL maintenance connection
  std::string url_, name_, dir_;
};

// "postgres://u@h:p/db?x" with the database replaced by `name`.
std::string PostgresUrlWithDatabase(const std::string& url, const std::string& name);

}  // namespace kontor::store
