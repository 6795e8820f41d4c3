#include "store/test_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "core/crypto.h"
#include "store/migrate.h"

namespace kontor::store {

std::string PostgresUrlWithDatabase(const std::string& url, const std::string& name) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string base = slash == std::string::npos ? url.substr(0, query) : url.substr(0, slash);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + name + rest;
}

Result<std::unique_ptr<TestDatabase>> TestDatabase::Create(Dialect dialect, int pool_size) {
  std::unique_ptr<TestDatabase> t(new TestDatabase());
  const std::string unique = std::to_string(getpid()) + "_" + HexEncode(RandomBytes(4));
  DatabaseOptions opts{pool_size, 10000};
  if (dialect == Dialect::kPostgres) {
    const char* pg = std::getenv("KONTOR_TEST_PG_URL");
    if (!pg || !*pg) return Status::FailedPrecondition("KONTOR_TEST_PG_URL is not set");
    ASSIGN_OR_RETURN(t->admin_, Database::Open(pg, DatabaseOptions{1, 0}));
    t->name_ = "kontor_test_" + unique;
    RETURN_IF_ERROR(t->admin_->WithConnection(
        [&](Connection& c) { return c.ExecuteScript("CREATE DATABASE " + t->name_); }));
    t->url_ = PostgresUrlWithDatabase(pg, t->name_);
  } else {
    t->dir_ = (std::filesystem::temp_directory_path() / ("kontor_test_" + unique)).string();
    std::filesystem::create_directories(t->dir_);
    t->url_ = "sqlite:" + t->dir_ + "/kontor.db";
  }
  ASSIGN_OR_RETURN(t->db_, Database::Open(t->url_, opts));
  RETURN_IF_ERROR(Migrate(*t->db_).status());
  return t;
}

TestDatabase::~TestDatabase() {
  db_.reset();
  if (admin_) {
    (void)admin_->WithConnection([&](Connection& c) {
      return c.ExecuteScript("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    });
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace kontor::store
