// GoogleTest fixture for tests that run once per database driver: SQLite
// always, PostgreSQL when KONTOR_TEST_PG_URL is set (skipped otherwise).
// Include only from *_test.cpp files.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/test_db.h"

namespace kontor::store {

class DatabaseTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    auto t = TestDatabase::Create(GetParam());
    if (!t.ok() && t.status().code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << t.status().message();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    test_db_ = std::move(t).value();
  }
  Database& db() { return test_db_->db(); }
  const std::string& db_url() const { return test_db_->url(); }

  std::unique_ptr<TestDatabase> test_db_;
};

inline std::string DialectTestName(const ::testing::TestParamInfo<Dialect>& info) {
  return info.param == Dialect::kSqlite ? "Sqlite" : "Postgres";
}

}  // namespace kontor::store

// INSTANTIATE_DATABASE_TEST(Fixture) runs every TEST_P of Fixture on both drivers.
#define INSTANTIATE_DATABASE_TEST(fixture)                                                        \
  INSTANTIATE_TEST_SUITE_P(Drivers, fixture,                                                      \
                           ::testing::Values(::kontor::store::Dialect::kSqlite,                   \
                                             ::kontor::store::Dialect::kPostgres),                \
                           ::kontor::store::DialectTestName)
