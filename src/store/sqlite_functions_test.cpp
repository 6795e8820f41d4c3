#include "store/sqlite_functions.h"

#include <gtest/gtest.h>

#include "store/id_set.h"
#include "store/test_db.h"

namespace kontor::store {
namespace {

JsonAt At(std::string_view doc, std::string_view path) {
  Result<JsonAt> r = FindJsonAt(doc, path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : JsonAt{"<error>", {}};
}

TEST(SqliteFunctionsTest, FindsTypedValuesAtNestedPaths) {
  const std::string doc =
      R"({"a":1,"b":{"c":"x\"y","d":[1,{"e":2}],"f":{"g":-2.5}},"h":true,"i":null,"j":false,)"
      R"("big":18446744073709551615,"s":"\u00e9t\u00e9"})";
  EXPECT_EQ(At(doc, "$.a").type, "integer");
  EXPECT_EQ(std::get<int64_t>(At(doc, "$.a").value), 1);
  EXPECT_EQ(std::get<std::string>(At(doc, R"($."b"."c")").value), "x\"y");
  EXPECT_EQ(At(doc, "$.b.d").type, "array");
  EXPECT_EQ(At(doc, "$.b").type, "object");
  EXPECT_EQ(std::get<double>(At(doc, "$.b.f.g").value), -2.5);
  EXPECT_EQ(At(doc, "$.h").type, "true");
  EXPECT_EQ(At(doc, "$.j").type, "false");
  EXPECT_EQ(At(doc, "$.i").type, "null");
  EXPECT_EQ(At(doc, "$.big").type, "real");
  EXPECT_EQ(std::get<std::string>(At(doc, "$.s").value), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(At(doc, "$").type, "object");
  // Missing: absent keys, keys below scalars and arrays, keys of nested
  // objects looked up at the wrong level.
  EXPECT_EQ(At(doc, "$.zz").type, "");
  EXPECT_EQ(At(doc, "$.a.b").type, "");
  EXPECT_EQ(At(doc, "$.b.d.e").type, "");
  EXPECT_EQ(At(doc, "$.e").type, "");
  EXPECT_EQ(At(doc, "$.g").type, "");
  EXPECT_EQ(At(doc, "$.b.g").type, "");
  // Not an object at all, or not JSON.
  EXPECT_EQ(At("[1,2]", "$.a").type, "");
  EXPECT_EQ(At("5", "$.a").type, "");
  EXPECT_EQ(At("5", "$").type, "integer");
  EXPECT_EQ(At("{\"a\":", "$.a").type, "");
  EXPECT_EQ(At("", "$.a").type, "");
  // The first of duplicate keys, as SQLite's json_extract.
  EXPECT_EQ(std::get<int64_t>(At(R"({"a":1,"a":2})", "$.a").value), 1);
  // A long key split across parser buffers still matches.
  const std::string key(5000, 'k');
  EXPECT_EQ(At("{\"" + key + "\":7}", "$." + key).type, "integer");
}

TEST(SqliteFunctionsTest, RejectsMalformedPaths) {
  for (const char* bad : {"", "a", "$.", "$..a", "$.\"a", "$a", "$.a."}) {
    EXPECT_FALSE(FindJsonAt("{}", bad).ok()) << bad;
  }
}

TEST(SqliteFunctionsTest, SqlFunctionsAndIdSets) {
  auto t = TestDatabase::Create(Dialect::kSqlite);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Database& db = (*t)->db();
  auto one = [&](const std::string& sql, const Params& p = {}) {
    auto r = db.QueryRow(sql, p);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() && *r ? (*r)->OptStr(0) : std::optional<std::string>("<error>");
  };
  const std::string doc = R"({"n":2.5,"i":3,"t":"Hi","b":true})";
  EXPECT_EQ(one("SELECT kontor_json_number(?, '$.n')", {doc}), "2.5");
  EXPECT_EQ(one("SELECT kontor_json_number(?, '$.i')", {doc}), "3");
  EXPECT_EQ(one("SELECT kontor_json_number(?, '$.t')", {doc}), std::nullopt);
  EXPECT_EQ(one("SELECT kontor_json_number(?, '$.b')", {doc}), std::nullopt);
  EXPECT_EQ(one("SELECT kontor_json_text(?, '$.t')", {doc}), "Hi");
  EXPECT_EQ(one("SELECT kontor_json_text(?, '$.n')", {doc}), std::nullopt);
  EXPECT_EQ(one("SELECT kontor_json_type(?, '$.b')", {doc}), "true");
  EXPECT_EQ(one("SELECT kontor_json_type(?, '$.x')", {doc}), std::nullopt);
  EXPECT_EQ(one("SELECT kontor_json_type(NULL, '$.x')"), std::nullopt);
  // The same answers as SQLite's own functions over a column, row by row.
  ASSERT_TRUE(db.Execute("CREATE TABLE docs (d TEXT)").ok());
  for (const char* d : {R"({"a":{"b":1}})", R"({"a":{"b":"1"}})", R"({"a":[1]})", R"({"a":null})",
                        R"({"b":{"a":1}})", R"({})", R"({"a":{"b":-0.5e3}})"}) {
    ASSERT_TRUE(db.Execute("INSERT INTO docs VALUES (?)", {d}).ok());
  }
  auto diff = db.QueryRow(
      "SELECT COUNT(*) FROM docs WHERE kontor_json_type(d, '$.a.b') IS NOT json_type(d, '$.a.b') "
      "OR kontor_json_type(d, '$.a') IS NOT json_type(d, '$.a') "
      "OR IFNULL(kontor_json_number(d, '$.a.b') <> json_extract(d, '$.a.b'), 0)");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_EQ((*diff)->Int(0), 0);
  // A malformed path is an error, not a silent NULL.
  EXPECT_FALSE(db.QueryRow("SELECT kontor_json_number('{}', 'a')").ok());

  // kontor_in_set reads the sets in scope on this thread, and only then.
  EXPECT_FALSE(db.QueryRow("SELECT kontor_in_set(1, 0)").ok());
  std::vector<IdSet> sets{IdSet(10, 200), IdSet(1, 0)};
  sets[0].Add(10);
  sets[0].Add(137);
  sets[0].Add(200);
  sets[0].Add(201);  // outside: ignored
  EXPECT_EQ(sets[0].Count(), 3);
  {
    IdSetScope scope(&sets);
    EXPECT_EQ(one("SELECT kontor_in_set(137, 0)"), "1");
    EXPECT_EQ(one("SELECT kontor_in_set(136, 0)"), "0");
    EXPECT_EQ(one("SELECT kontor_in_set(201, 0)"), "0");
    EXPECT_EQ(one("SELECT kontor_in_set(5, 1)"), "0");
    EXPECT_FALSE(db.QueryRow("SELECT kontor_in_set(5, 2)").ok());
  }
  EXPECT_EQ(IdSetScope::Current(), nullptr);
}

}  // namespace
}  // namespace kontor::store
