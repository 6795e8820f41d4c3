// Store contract tests, run on SQLite always and on PostgreSQL when
// KONTOR_TEST_PG_URL is set.
#include "store/database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/migrate.h"
#include "store/postgres.h"
#include "store/test_fixture.h"

namespace kontor::store {
namespace {

using StoreTest = DatabaseTest;

TEST_P(StoreTest, MigrationsAreRecordedAndIdempotent) {
  auto again = Migrate(db());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  auto row = db().QueryRow("SELECT COUNT(*) FROM schema_migrations");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ((*row)->Int(0), static_cast<int64_t>(Migrations().size()));
}

TEST_P(StoreTest, ParamsAndTypesRoundTrip) {
  ASSERT_TRUE(db().Execute("INSERT INTO settings (key, value) VALUES (?, ?)", {"k'1", "v?\"x"}).ok());
  auto row = db().QueryRow("SELECT key, value, NULL, 42 FROM settings WHERE key = ?", {"k'1"});
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->Str(0), "k'1");
  EXPECT_EQ((*row)->Str(1), "v?\"x");
  EXPECT_TRUE((*row)->IsNull(2));
  EXPECT_EQ((*row)->Int(3), 42);
}

TEST_P(StoreTest, UniqueViolationIsConflict) {
  ASSERT_TRUE(db().Execute("INSERT INTO settings (key, value) VALUES ('a', '1')").ok());
  auto dup = db().Execute("INSERT INTO settings (key, value) VALUES ('a', '2')");
  EXPECT_EQ(dup.status().code(), StatusCode::kConflict);
}

TEST_P(StoreTest, TransactRollsBackOnError) {
  Status st = db().Transact([](Connection& c) -> Status {
    RETURN_IF_ERROR(c.Execute("INSERT INTO settings (key, value) VALUES ('t', '1')").status());
    return Status::Validation({{"x", "nope"}});
  });
  EXPECT_EQ(st.code(), StatusCode::kValidation);
  auto row = db().QueryRow("SELECT COUNT(*) FROM settings WHERE key = 't'");
  EXPECT_EQ((*row)->Int(0), 0);
}

TEST_P(StoreTest, ReturningGivesIds) {
  auto r = db().QueryRow(
      "INSERT INTO login_failures (email, client_ip, at) VALUES ('a', 'b', 1) RETURNING id");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT((*r)->Int(0), 0);
}

TEST_P(StoreTest, ConcurrentTransactionsSerialize) {
  ASSERT_TRUE(db().Execute("INSERT INTO settings (key, value) VALUES ('counter', '0')").ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        Status st = db().Transact([](Connection& c) -> Status {
          std::string lock = c.dialect() == Dialect::kPostgres ? " FOR UPDATE" : "";
          ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT value FROM settings WHERE key = 'counter'" + lock));
          int64_t v = std::stoll(row->Str(0));
          return c.Execute("UPDATE settings SET value = ? WHERE key = 'counter'", {std::to_string(v + 1)})
              .status();
        });
        if (!st.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto row = db().QueryRow("SELECT value FROM settings WHERE key = 'counter'");
  EXPECT_EQ((*row)->Str(0), "100");
}

TEST_P(StoreTest, AuditLogIsAppendOnly) {
  ASSERT_TRUE(db().Execute("INSERT INTO audit_log (at, actor_type, action, resource_type) "
                           "VALUES (1, 'system', 'x', 'y')").ok());
  EXPECT_FALSE(db().Execute("UPDATE audit_log SET action = 'z'").ok());
  EXPECT_FALSE(db().Execute("DELETE FROM audit_log").ok());
  auto row = db().QueryRow("SELECT action FROM audit_log");
  EXPECT_EQ((*row)->Str(0), "x");
}

TEST_P(StoreTest, InsertManyAndSelectInChunkEveryRowOnce) {
  Params values;
  for (int i = 0; i < 1000; ++i) {
    values.emplace_back("k" + std::to_string(i));
    values.emplace_back(std::to_string(i));
  }
  std::vector<std::string> returned;
  Status st = db().WithConnection([&](Connection& c) {
    return InsertMany(c, "INSERT INTO settings (key, value) VALUES", 2, values, "RETURNING key",
                      [&](const Row& r) { returned.push_back(r.Str(0)); });
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(returned.size(), 1000u);
  EXPECT_EQ((*db().QueryRow("SELECT COUNT(*) FROM settings WHERE key LIKE 'k%'"))->Int(0), 1000);

  Params keys;
  for (int i = 0; i < 700; i += 3) keys.emplace_back("k" + std::to_string(i));  // 234 keys: 128 + 128-padded
  keys.emplace_back("absent");
  int64_t sum = 0, rows = 0;
  st = db().WithConnection([&](Connection& c) {
    return SelectIn(c, "SELECT value FROM settings WHERE key IN ({in}) ORDER BY key", keys, [&](const Row& r) {
      sum += std::stoll(r.Str(0));
      ++rows;
    });
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(rows, 234);
  int64_t want = 0;
  for (int i = 0; i < 700; i += 3) want += i;
  EXPECT_EQ(sum, want);
  EXPECT_EQ(db().WithConnection([&](Connection& c) {
    return InsertMany(c, "INSERT INTO settings (key, value) VALUES", 2, {"only-key"});
  }).code(), StatusCode::kInternal);
}

INSTANTIATE_DATABASE_TEST(StoreTest);

TEST(PostgresPlaceholders, RenumbersOutsideQuotes) {
  EXPECT_EQ(RenumberPlaceholders("SELECT ?, '?', \"a?\", ?"), "SELECT $1, '?', \"a?\", $2");
}

TEST(MigrationRender, DialectBlocks) {
  std::string sql = "A {{id}}\n-- @sqlite\nS\n-- @end\n-- @postgres\nP\n-- @end\n";
  EXPECT_EQ(RenderMigration(sql, Dialect::kSqlite), "A INTEGER PRIMARY KEY AUTOINCREMENT\nS\n");
  EXPECT_EQ(RenderMigration(sql, Dialect::kPostgres),
            "A BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY\nP\n");
}

TEST(OpenDatabase, RejectsUnknownScheme) {
  auto db = Database::Open("mysql://x", {});
  EXPECT_EQ(db.status().code(), StatusCode::kValidation);
}

}  // namespace
}  // namespace kontor::store
