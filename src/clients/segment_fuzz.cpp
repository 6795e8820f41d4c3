// libFuzzer target: raw bytes → JSON → the segment rule compiler for both
// dialects → the SQLite condition run against an in-memory database with the
// real schema and a few rows. Aborts when compiling fails other than with a
// validation error, when a compiled condition's placeholders and parameters
// disagree, or when SQLite rejects the SQL or fails running it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "clients/segment.h"
#include "store/database.h"
#include "store/migrate.h"

namespace {

using kontor::Result;
using kontor::Status;
using kontor::StatusCode;
using kontor::clients::SegmentResolver;

// Fixed segments and lists, including chains, a self-cycle and a cycle
// through a list, so inlining and cycle detection are on the fuzzed paths.
class FixedResolver : public SegmentResolver {
 public:
  Result<kontor::json::value> SegmentRule(const std::string& key) override {
    static const std::map<std::string, std::string> kRules = {
        {"a", R"({"tag":"vip"})"},
        {"b", R"({"any":[{"segment":"a"},{"member_of":"seg"},)"
              R"({"attribute":"x.y","op":"gt","value":1}]})"},
        {"self", R"({"not":{"segment":"self"}})"},
        {"loop", R"({"member_of":"loop-list"})"},
        {"bad", R"({"field":"nope"})"},
    };
    auto it = kRules.find(key);
    if (it == kRules.end()) return Status::NotFound("segment");
    return kontor::json::parse(it->second);
  }
  Result<ListInfo> List(const std::string& key) override {
    if (key == "static") return ListInfo{1, "static", {}, ""};
    if (key == "products") return ListInfo{2, "products", {"GOLD", "SILVER"}, ""};
    if (key == "none") return ListInfo{3, "products", {}, ""};
    if (key == "seg") return ListInfo{4, "segment", {}, "a"};
    if (key == "loop-list") return ListInfo{5, "segment", {}, "loop"};
    if (key == "odd") return ListInfo{6, "dynamic", {}, ""};
    return Status::NotFound("list");
  }
};

std::unique_ptr<kontor::store::Database>* g_db = nullptr;

bool Setup(kontor::store::Connection& c) {
  const char* kSql[] = {
      "INSERT INTO customers (external_id, email, country, status, attributes, created_at, "
      "updated_at) VALUES ('c1', 'a_b%@x.de', 'DE', 'active', "
      "'{\"x\":{\"y\":2},\"s\":\"t\",\"n\":1.5,\"b\":true,\"z\":null,\"l\":[1]}', 0, 0)",
      "INSERT INTO customers (external_id, status, attributes, created_at, updated_at) "
      "VALUES ('c2', 'erased', '{}', 1767225600000, 1767225600000)",
      "INSERT INTO customers (external_id, first_name, status, attributes, created_at, "
      "updated_at) VALUES ('c3', 'Ä', 'active', '{\"x\":\"1\",\"0\":0}', 5, 5)",
      "INSERT INTO customer_tags (customer_id, tag) VALUES (1, 'vip')",
      "INSERT INTO consents (customer_id, channel, status, at) VALUES (1, 'email', 'granted', 0)",
      "INSERT INTO products (code, name, kind, created_at, updated_at) "
      "VALUES ('GOLD', 'Gold', 'plan', 0, 0)",
      "INSERT INTO subscriptions (external_id, customer_id, product_id, status, created_at, "
      "updated_at) VALUES ('s1', 3, 1, 'active', 0, 0)",
  };
  for (const char* sql : kSql) {
    if (!c.Execute(sql).ok()) return false;
  }
  return true;
}

size_t Placeholders(const std::string& sql) {
  // The compiler never writes '?' inside a quoted literal.
  return static_cast<size_t>(std::count(sql.begin(), sql.end(), '?'));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto db = kontor::store::Database::Open("sqlite::memory:", kontor::store::DatabaseOptions{1, 0});
  if (!db.ok()) std::abort();
  if (!kontor::store::Migrate(**db).ok()) std::abort();
  if (!(*db)
           ->WithConnection([](kontor::store::Connection& c) {
             return Setup(c) ? Status::Ok() : Status::Internal("setup");
           })
           .ok()) {
    std::abort();
  }
  g_db = new std::unique_ptr<kontor::store::Database>(std::move(db).value());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace json = kontor::json;
  if (size > 64 << 10) return 0;
  std::error_code ec;
  json::value rule = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec) return 0;
  FixedResolver resolver;
  constexpr int64_t kNow = 1767225600000;
  for (auto dialect : {kontor::store::Dialect::kSqlite, kontor::store::Dialect::kPostgres}) {
    auto compiled = kontor::clients::CompileSegment(rule, dialect, kNow, resolver);
    if (!compiled.ok()) {
      const StatusCode code = compiled.status().code();
      if (code != StatusCode::kValidation && code != StatusCode::kNotFound) std::abort();
      if (compiled.status().fields().empty()) std::abort();
      continue;
    }
    if (Placeholders(compiled->where) != compiled->params.size()) std::abort();
    if (dialect != kontor::store::Dialect::kSqlite) continue;
    Status st = (*g_db)->WithConnection([&](kontor::store::Connection& c) {
      return kontor::clients::PreviewSegment(c, *compiled, 5).status();
    });
    if (!st.ok()) std::abort();
  }
  return 0;
}
