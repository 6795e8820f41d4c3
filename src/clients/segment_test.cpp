// Segment rule compiler tests: every rule is compiled and run against real
// data on SQLite, and on PostgreSQL when KONTOR_TEST_PG_URL is set.
#include "clients/segment.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "clients/segment_count.h"
#include "store/test_db.h"

namespace kontor::clients {
namespace {

using Ids = std::set<std::string>;
using store::Connection;
using store::Dialect;
using store::Params;
using store::Value;

constexpr int64_t kNow = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int64_t kDay = 86'400'000;

Value Nullable(const char* s) { return s ? Value(s) : Value(nullptr); }

struct Seed {
  const char* ext;
  const char* type;
  const char* first_name;
  const char* last_name;
  const char* company_name;
  const char* email;
  const char* phone;
  const char* language;
  const char* country;
  const char* status;
  const char* attributes;
  int created_days_ago;
  int updated_days_ago;
};

// c07 is erased and must never match; everything else is chosen so that each
// operator family has hits, near misses and missing values.
const Seed kSeeds[] = {
    {"c01", "individual", "Anna", "Schmidt", nullptr, "anna@example.com", "+4930123", "de", "DE",
     "active",
     R"({"risk_profile":"high","score":10,"vip":true,"address":{"city":"Berlin","zip":"10115"}})",
     5, 1},
    {"c02", "individual", "Bernd", "Mueller", nullptr, "bernd.mueller@example.de", nullptr, "de",
     "DE", "active", R"({"risk_profile":"low","score":9,"vip":false})", 40, 40},
    {"c03", "individual", "Clara", "Weber", nullptr, "CLARA@Example.COM", nullptr, "de", "AT",
     "active", R"({"risk_profile":"High","score":100,"address":{"city":"Wien"}})", 1, 1},
    {"c04", "individual", "David", "Smith", nullptr, "david@example.org", nullptr, "en", "GB",
     "active", R"({"score":"10","risk_profile":null})", 400, 200},
    {"c05", "individual", "Eva", "Roth", nullptr, "eva@ex.com", nullptr, "de", "CH", "active",
     R"({"score":2.5,"note":"50% off_now"})", 10, 10},
    {"c06", "company", nullptr, nullptr, "Xu Trading", nullptr, "+8610", "zh", nullptr, "active",
     R"({"score":-3})", 20, 20},
    {"c07", "individual", "Gina", "Erased", nullptr, "gina@example.com", nullptr, "de", "DE",
     "erased", R"({"risk_profile":"high","score":50})", 2, 2},
    {"c08", "individual", "Hans", "Inaktiv", nullptr, "hans@example.com", nullptr, "de", "DE",
     "inactive", R"({"score":1000.5})", 30, 30},
    {"c09", "company", nullptr, nullptr, "ACME_Corp", "info@acme.example", nullptr, "en", "US",
     "active", R"({"tags":["x"],"score":null})", 60, 60},
    {"c10", "individual", "Jon", "Doe", nullptr, "jon_doe@example.com", nullptr, "en", "US",
     "active", R"({"risk_profile":"medium","score":9.99})", 90, 90},
    {"c11", "individual", "Jonx", "Doe", nullptr, "jonxdoe@example.com", nullptr, "en", "US",
     "active", R"({"score":"9"})", 95, 95},
    {"c12", "company", nullptr, nullptr, "50% Rabatt GmbH", "sales@rabatt.example", nullptr, "de",
     "DE", "active", R"({"quirk":"a\\b_c"})", 100, 100},
    {"c13", "company", nullptr, nullptr, "500 Rabatt GmbH", "info@500.example", nullptr, "de", "DE",
     "active", R"({"quirk":"x!%"})", 101, 101},
};
constexpr int kFillers = 17;  // f01..f17: French, no tags, created 201..217 days ago

class SegmentTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    auto t = store::TestDatabase::Create(GetParam());
    if (!t.ok() && t.status().code() == StatusCode::kFailedPrecondition) {
      GTEST_SKIP() << t.status().message();
    }
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    t_ = std::move(t).value();
    Status st = db().Transact([&](Connection& c) { return SeedData(c); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  store::Database& db() { return t_->db(); }

  Status AddCustomer(Connection& c, const Seed& s) {
    ASSIGN_OR_RETURN(
        auto row,
        c.QueryRow("INSERT INTO customers (external_id, type, first_name, last_name, company_name, "
                   "email, phone, language, country, status, attributes, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   {s.ext, s.type, Nullable(s.first_name), Nullable(s.last_name),
                    Nullable(s.company_name), Nullable(s.email), Nullable(s.phone),
                    Nullable(s.language), Nullable(s.country), s.status, s.attributes,
                    kNow - s.created_days_ago * kDay, kNow - s.updated_days_ago * kDay}));
    ids_[s.ext] = row->Int(0);
    ext_[row->Int(0)] = s.ext;
    if (std::string(s.status) != "erased") all_.insert(s.ext);
    return Status::Ok();
  }

  Result<int64_t> Insert(Connection& c, const std::string& sql, const Params& p) {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(sql + " RETURNING id", p));
    return row->Int(0);
  }

  Status SeedData(Connection& c) {
    for (const Seed& s : kSeeds) RETURN_IF_ERROR(AddCustomer(c, s));
    std::vector<std::string> filler_ext(kFillers), filler_email(kFillers);
    for (int i = 0; i < kFillers; ++i) {
      char ext[8];
      std::snprintf(ext, sizeof ext, "f%02d", i + 1);
      filler_ext[i] = ext;
      filler_email[i] = filler_ext[i] + "@example.fr";
      Seed s{filler_ext[i].c_str(),   "individual", "Filler", "Person", nullptr,
             filler_email[i].c_str(), nullptr,      "fr",     "FR",     "active",
             R"({"tier":"bronze"})",  201 + i,      201 + i};
      RETURN_IF_ERROR(AddCustomer(c, s));
    }
    for (auto [ext, tag] : {std::pair{"c01", "vip"},
                            {"c03", "vip"},
                            {"c07", "vip"},
                            {"c10", "newsletter"},
                            {"c02", "VIP"}}) {
      RETURN_IF_ERROR(
          c.Execute("INSERT INTO customer_tags (customer_id, tag) VALUES (?, ?)", {ids_[ext], tag})
              .status());
    }
    struct ConsentSeed {
      const char* ext;
      const char* channel;
      const char* status;
    };
    for (auto k : {ConsentSeed{"c01", "email", "granted"},
                   {"c02", "email", "withdrawn"},
                   {"c03", "email", "granted"},
                   {"c03", "sms", "granted"},
                   {"c07", "email", "granted"},
                   {"c10", "push", "granted"}}) {
      RETURN_IF_ERROR(
          c.Execute("INSERT INTO consents (customer_id, channel, status, at) VALUES (?, ?, ?, ?)",
                    {ids_[k.ext], k.channel, k.status, kNow})
              .status());
    }
    for (const char* code : {"GOLD", "SILVER", "BASIC"}) {
      ASSIGN_OR_RETURN(products_[code],
                       Insert(c,
                              "INSERT INTO products (code, name, kind, created_at, updated_at) "
                              "VALUES (?, ?, 'plan', ?, ?)",
                              {code, code, kNow, kNow}));
    }
    struct SubSeed {
      const char* ext;
      const char* product;
      const char* status;
    };
    int n = 0;
    for (auto s : {SubSeed{"c01", "GOLD", "active"},
                   {"c02", "SILVER", "active"},
                   {"c03", "GOLD", "cancelled"},
                   {"c04", "BASIC", "active"},
                   {"c05", "GOLD", "active"},
                   {"c05", "SILVER", "cancelled"},
                   {"c07", "GOLD", "active"}}) {
      RETURN_IF_ERROR(c.Execute("INSERT INTO subscriptions (external_id, customer_id, product_id, "
                                "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                                {"sub-" + std::to_string(++n), ids_[s.ext], products_[s.product],
                                 s.status, kNow, kNow})
                          .status());
    }
    std::map<std::string, int64_t> segments;
    for (auto [key, rule] : std::initializer_list<std::pair<const char*, const char*>>{
             {"vips", R"({"tag":"vip"})"},
             {"german-vips",
              R"({"all":[{"segment":"vips"},{"field":"country","op":"eq","value":"DE"}]})"},
             {"via-list", R"({"member_of":"vip-list"})"},
             {"broken", R"({"field":"nope","op":"eq","value":"x"})"},
             {"cyc-a", R"({"segment":"cyc-b"})"},
             {"cyc-b", R"({"any":[{"tag":"x"},{"segment":"cyc-a"}]})"},
             {"self", R"({"not":{"segment":"self"}})"},
             {"cyc-c", R"({"member_of":"cyc-list"})"}}) {
      ASSIGN_OR_RETURN(segments[key], Insert(c,
                                             "INSERT INTO segments (key, name, rule, created_at, "
                                             "updated_at) VALUES (?, ?, ?, ?, ?)",
                                             {key, key, rule, kNow, kNow}));
    }
    ASSIGN_OR_RETURN(int64_t static_list,
                     Insert(c,
                            "INSERT INTO lists (key, name, kind, created_at, updated_at) "
                            "VALUES ('newsletter', 'Newsletter', 'static', ?, ?)",
                            {kNow, kNow}));
    for (const char* ext : {"c02", "c04", "c07"}) {
      RETURN_IF_ERROR(
          c.Execute("INSERT INTO list_members (list_id, customer_id, added_at) VALUES (?, ?, ?)",
                    {static_list, ids_[ext], kNow})
              .status());
    }
    struct ListSeed {
      const char* key;
      const char* kind;
      const char* codes;
      std::optional<int64_t> segment;
    };
    for (const auto& l : {ListSeed{"premium", "products", R"(["GOLD","SILVER"])", std::nullopt},
                          ListSeed{"no-products", "products", "[]", std::nullopt},
                          ListSeed{"vip-list", "segment", "[]", segments["vips"]},
                          ListSeed{"cyc-list", "segment", "[]", segments["cyc-c"]},
                          ListSeed{"orphan", "segment", "[]", std::nullopt}}) {
      RETURN_IF_ERROR(c.Execute("INSERT INTO lists (key, name, kind, product_codes, segment_id, "
                                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                {l.key, l.key, l.kind, l.codes, Value(l.segment), kNow, kNow})
                          .status());
    }
    return Status::Ok();
  }

  Result<CompiledSegment> Compile(Connection& c, std::string_view rule,
                                  const std::string& self_key = "") {
    // Deeper than boost's default of 32, so the compiler's own depth limit is what trips.
    json::parse_options options;
    options.max_depth = 64;
    std::error_code ec;
    json::value v = json::parse(rule, ec, {}, options);
    if (ec) return Status::InvalidArgument("test rule is not JSON: " + std::string(rule));
    DbSegmentResolver resolver(c);
    return CompileSegment(v, GetParam(), kNow, resolver, "rule", self_key);
  }

  // The external ids of the (not erased) customers matching `rule`.
  Result<Ids> Eval(std::string_view rule, const std::string& self_key = "") {
    Ids out;
    Status st = db().WithConnection([&](Connection& c) -> Status {
      ASSIGN_OR_RETURN(CompiledSegment s, Compile(c, rule, self_key));
      ASSIGN_OR_RETURN(SegmentPreview p, PreviewSegment(c, s, 1000));
      if (p.count != static_cast<int64_t>(p.sample_ids.size())) {
        return Status::Internal("count and sample disagree");
      }
      for (int64_t id : p.sample_ids) out.insert(ext_.at(id));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    // The fast count (id sets, ranges on three connections at once) agrees.
    json::parse_options options;
    options.max_depth = 64;
    CountOptions three{.workers = 3, .min_ids_per_worker = 1};
    Result<SegmentCount> counted =
        CountSegment(db(), json::parse(rule, {}, options), kNow, 1000, self_key, three);
    if (!counted.ok()) return counted.status();
    Ids fast;
    for (int64_t id : counted->sample_ids) fast.insert(ext_.at(id));
    EXPECT_EQ(counted->count, static_cast<int64_t>(out.size())) << rule;
    EXPECT_EQ(fast, out) << rule;
    EXPECT_TRUE(std::is_sorted(counted->sample_ids.begin(), counted->sample_ids.end())) << rule;
    return out;
  }

  Ids Match(std::string_view rule) {
    Result<Ids> r = Eval(rule);
    EXPECT_TRUE(r.ok()) << rule << ": " << r.status().ToString();
    return r.ok() ? *r : Ids{"<error>"};
  }

  // The status of compiling `rule`, which the test expects to fail.
  Status Error(std::string_view rule, const std::string& self_key = "") {
    Result<Ids> r = Eval(rule, self_key);
    EXPECT_FALSE(r.ok()) << rule << " unexpectedly compiled";
    return r.ok() ? Status::Ok() : r.status();
  }

  // The single field a failing rule names ("" when it compiled or had several).
  std::string ErrorField(std::string_view rule) {
    Status st = Error(rule);
    EXPECT_EQ(st.code(), StatusCode::kValidation) << rule << ": " << st.ToString();
    EXPECT_EQ(st.fields().size(), 1u) << rule << ": " << st.ToString();
    return st.fields().size() == 1 ? st.fields()[0].field : "";
  }

  Ids AllBut(const Ids& except) const {
    Ids out;
    for (const auto& e : all_) {
      if (!except.count(e)) out.insert(e);
    }
    return out;
  }

  Ids Fillers() const {
    return AllBut(
        Ids{"c01", "c02", "c03", "c04", "c05", "c06", "c08", "c09", "c10", "c11", "c12", "c13"});
  }

  std::unique_ptr<store::TestDatabase> t_;
  std::map<std::string, int64_t> ids_;
  std::map<int64_t, std::string> ext_;
  std::map<std::string, int64_t> products_;
  Ids all_;
};

Ids Union(Ids a, const Ids& b) {
  a.insert(b.begin(), b.end());
  return a;
}

TEST_P(SegmentTest, TextEqualityIgnoresCaseAndNegationKeepsMissingValues) {
  EXPECT_EQ(Match(R"({"field":"country","op":"eq","value":"de"})"),
            (Ids{"c01", "c02", "c08", "c12", "c13"}));
  EXPECT_EQ(Match(R"({"field":"email","op":"eq","value":"clara@example.com"})"), Ids{"c03"});
  EXPECT_EQ(Match(R"({"field":"first_name","op":"eq","value":"ANNA"})"), Ids{"c01"});
  // c06 has no country: "not DE" includes it, and `not` is the exact complement.
  const Ids not_de = AllBut({"c01", "c02", "c08", "c12", "c13"});
  EXPECT_TRUE(not_de.count("c06"));
  EXPECT_EQ(Match(R"({"field":"country","op":"ne","value":"DE"})"), not_de);
  EXPECT_EQ(Match(R"({"not":{"field":"country","op":"eq","value":"DE"}})"), not_de);
  EXPECT_EQ(Match(R"({"field":"type","op":"eq","value":"company"})"),
            (Ids{"c06", "c09", "c12", "c13"}));
  EXPECT_EQ(Match(R"({"field":"status","op":"eq","value":"inactive"})"), Ids{"c08"});
  // Erased customers never match, even when asked for by status.
  EXPECT_EQ(Match(R"({"field":"status","op":"eq","value":"erased"})"), Ids{});
}

TEST_P(SegmentTest, InAndNotIn) {
  EXPECT_EQ(Match(R"({"field":"country","op":"in","value":["at","CH"]})"), (Ids{"c03", "c05"}));
  EXPECT_EQ(Match(R"({"field":"country","op":"not_in","value":["DE","fr","US"]})"),
            (Ids{"c03", "c04", "c05", "c06"}));
  EXPECT_EQ(Match(R"({"field":"country","op":"in","value":[]})"), Ids{});
  EXPECT_EQ(Match(R"({"field":"country","op":"not_in","value":[]})"), all_);
  EXPECT_EQ(Match(R"({"attribute":"score","op":"in","value":[9, 100.0]})"), (Ids{"c02", "c03"}));
  EXPECT_EQ(Match(R"({"attribute":"score","op":"in","value":["9","10"]})"), (Ids{"c04", "c11"}));
  EXPECT_EQ(Match(R"({"attribute":"risk_profile","op":"in","value":["HIGH","low"]})"),
            (Ids{"c01", "c02", "c03"}));
  EXPECT_EQ(Match(R"({"attribute":"risk_profile","op":"not_in","value":["high","low"]})"),
            AllBut({"c01", "c02", "c03"}));
}

TEST_P(SegmentTest, LikeOperatorsIgnoreCaseAndEscapeWildcards) {
  EXPECT_EQ(Match(R"({"field":"email","op":"contains","value":"EXAMPLE.COM"})"),
            (Ids{"c01", "c03", "c08", "c10", "c11"}));
  EXPECT_EQ(Match(R"({"field":"email","op":"ends_with","value":".DE"})"), Ids{"c02"});
  EXPECT_EQ(Match(R"({"field":"last_name","op":"starts_with","value":"sch"})"), Ids{"c01"});
  // Unescaped, "jon_" would also match "jonxdoe" and "50%" would match "500 Rabatt".
  EXPECT_EQ(Match(R"({"field":"email","op":"starts_with","value":"jon_"})"), Ids{"c10"});
  EXPECT_EQ(Match(R"({"field":"company_name","op":"contains","value":"50%"})"), Ids{"c12"});
  EXPECT_EQ(Match(R"({"field":"company_name","op":"contains","value":"_"})"), Ids{"c09"});
  EXPECT_EQ(Match(R"({"field":"company_name","op":"contains","value":"%"})"), Ids{"c12"});
  // The escape character and backslash are literal too.
  EXPECT_EQ(Match(R"({"field":"company_name","op":"contains","value":"\\"})"), Ids{});
  EXPECT_EQ(Match(R"({"field":"company_name","op":"contains","value":"!"})"), Ids{});
  EXPECT_EQ(Match(R"({"attribute":"quirk","op":"ends_with","value":"!%"})"), Ids{"c13"});
  EXPECT_EQ(Match(R"({"attribute":"quirk","op":"starts_with","value":"a\\b"})"), Ids{"c12"});
  EXPECT_EQ(Match(R"({"attribute":"note","op":"contains","value":"F_N"})"), Ids{"c05"});
  EXPECT_EQ(Match(R"({"attribute":"note","op":"contains","value":"f%n"})"), Ids{});
  EXPECT_EQ(Match(R"({"attribute":"note","op":"starts_with","value":"50%"})"), Ids{"c05"});
  // A missing value never matches contains, so "not contains" includes it.
  EXPECT_EQ(Match(R"({"not":{"field":"company_name","op":"contains","value":"Rabatt"}})"),
            AllBut({"c12", "c13"}));
}

TEST_P(SegmentTest, ExistsAndNotExists) {
  EXPECT_EQ(Match(R"({"field":"phone","op":"exists"})"), (Ids{"c01", "c06"}));
  EXPECT_EQ(Match(R"({"field":"phone","op":"not_exists"})"), AllBut({"c01", "c06"}));
  EXPECT_EQ(Match(R"({"field":"first_name","op":"not_exists"})"),
            (Ids{"c06", "c09", "c12", "c13"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"exists"})"), all_);
  // A JSON null is not a value.
  EXPECT_EQ(Match(R"({"attribute":"risk_profile","op":"exists"})"),
            (Ids{"c01", "c02", "c03", "c10"}));
  EXPECT_EQ(Match(R"({"attribute":"score","op":"not_exists"})"),
            Union(Fillers(), {"c09", "c12", "c13"}));
  EXPECT_EQ(Match(R"({"attribute":"address.city","op":"exists"})"), (Ids{"c01", "c03"}));
}

TEST_P(SegmentTest, RelativeAndAbsoluteDates) {
  EXPECT_EQ(Match(R"({"field":"created_at","op":"within_last","value":"7d"})"),
            (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"within_last","value":"168h"})"),
            (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"within_last","value":"2w"})"),
            (Ids{"c01", "c03", "c05"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"within_last","value":"2880m"})"), Ids{"c03"});
  // c08 was created exactly 30 days ago: within the last 30 days, not before them.
  EXPECT_EQ(Match(R"({"field":"created_at","op":"within_last","value":"30d"})"),
            (Ids{"c01", "c03", "c05", "c06", "c08"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"before_last","value":"30d"})"),
            AllBut({"c01", "c03", "c05", "c06", "c08"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"gte","value":"2025-12-02T00:00:00Z"})"),
            (Ids{"c01", "c03", "c05", "c06", "c08"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"gt","value":"2025-12-02T00:00:00Z"})"),
            (Ids{"c01", "c03", "c05", "c06"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"lt","value":"2025-12-02T00:00:00Z"})"),
            AllBut({"c01", "c03", "c05", "c06", "c08"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"lte","value":"2025-12-02T00:00:00Z"})"),
            AllBut({"c01", "c03", "c05", "c06"}));
  EXPECT_EQ(Match(R"({"field":"created_at","op":"eq","value":"2025-12-27T00:00:00.000Z"})"),
            Ids{"c01"});
  EXPECT_EQ(Match(R"({"field":"created_at","op":"ne","value":"2025-12-27T00:00:00Z"})"),
            AllBut({"c01"}));
  // A numeric offset: 01:00+01:00 is midnight UTC, one day before now.
  EXPECT_EQ(Match(R"({"field":"updated_at","op":"gte","value":"2025-12-31T01:00:00+01:00"})"),
            (Ids{"c01", "c03"}));
}

TEST_P(SegmentTest, AttributesCompareNumbersNumericallyAndStringsAsText) {
  // 10 > 9 (not string order); the string "10" and the JSON null are not numbers.
  EXPECT_EQ(Match(R"({"attribute":"score","op":"gt","value":9})"),
            (Ids{"c01", "c03", "c08", "c10"}));
  EXPECT_EQ(Match(R"({"attribute":"score","op":"gte","value":9})"),
            (Ids{"c01", "c02", "c03", "c08", "c10"}));
  EXPECT_EQ(Match(R"({"attribute":"score","op":"gt","value":9.995})"), (Ids{"c01", "c03", "c08"}));
  EXPECT_EQ(Match(R"({"attribute":"score","op":"lt","value":0})"), Ids{"c06"});
  EXPECT_EQ(Match(R"({"attribute":"score","op":"lte","value":2.5})"), (Ids{"c05", "c06"}));
  EXPECT_EQ(Match(R"({"attribute":"score","op":"eq","value":10})"), Ids{"c01"});
  EXPECT_EQ(Match(R"({"attribute":"score","op":"eq","value":1.0E1})"), Ids{"c01"});
  EXPECT_EQ(Match(R"({"attribute":"score","op":"eq","value":"10"})"), Ids{"c04"});
  EXPECT_EQ(Match(R"({"attribute":"score","op":"gt","value":1000.49})"), Ids{"c08"});
  EXPECT_EQ(Match(R"({"attribute":"score","op":"lt","value":18446744073709551615})"),
            (Ids{"c01", "c02", "c03", "c05", "c06", "c08", "c10"}));
  // Strings order by code point: "9" > "10".
  EXPECT_EQ(Match(R"({"attribute":"score","op":"gt","value":"10"})"), Ids{"c11"});
  EXPECT_EQ(Match(R"({"attribute":"risk_profile","op":"eq","value":"HIGH"})"), (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"attribute":"risk_profile","op":"ne","value":"high"})"),
            AllBut({"c01", "c03"}));
  EXPECT_EQ(Match(R"({"attribute":"vip","op":"eq","value":true})"), Ids{"c01"});
  EXPECT_EQ(Match(R"({"attribute":"vip","op":"eq","value":false})"), Ids{"c02"});
  EXPECT_EQ(Match(R"({"attribute":"vip","op":"ne","value":true})"), AllBut({"c01"}));
  EXPECT_EQ(Match(R"({"attribute":"address.city","op":"eq","value":"berlin"})"), Ids{"c01"});
  EXPECT_EQ(Match(R"({"attribute":"address.city","op":"starts_with","value":"w"})"), Ids{"c03"});
  EXPECT_EQ(Match(R"({"attribute":"address.zip","op":"eq","value":"10115"})"), Ids{"c01"});
  EXPECT_EQ(Match(R"({"attribute":"address.zip","op":"eq","value":10115})"), Ids{});
  // Objects and arrays are neither strings nor numbers.
  EXPECT_EQ(Match(R"({"attribute":"address","op":"contains","value":"Berlin"})"), Ids{});
  EXPECT_EQ(Match(R"({"attribute":"tags","op":"contains","value":"x"})"), Ids{});
  EXPECT_EQ(Match(R"({"attribute":"tier","op":"eq","value":"BRONZE"})"), Fillers());
  // Names that mean something in path syntax stay plain keys.
  EXPECT_EQ(Match(R"({"attribute":"null","op":"exists"})"), Ids{});
  EXPECT_EQ(Match(R"({"attribute":"0","op":"exists"})"), Ids{});
}

TEST_P(SegmentTest, TagsConsentsSubscriptionsAndLists) {
  EXPECT_EQ(Match(R"({"tag":"vip"})"), (Ids{"c01", "c03"}));  // tags are exact: not c02's "VIP"
  EXPECT_EQ(Match(R"({"consent":"email"})"), (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"consent":"sms"})"), Ids{"c03"});
  EXPECT_EQ(Match(R"({"consent":"push"})"), Ids{"c10"});
  EXPECT_EQ(Match(R"({"has_subscription":{"products":["GOLD"]}})"), (Ids{"c01", "c05"}));
  EXPECT_EQ(Match(R"({"has_subscription":{"products":["GOLD"],"status":"cancelled"}})"),
            Ids{"c03"});
  EXPECT_EQ(Match(R"({"has_subscription":{"products":["GOLD","SILVER"],"status":"active"}})"),
            (Ids{"c01", "c02", "c05"}));
  EXPECT_EQ(Match(R"({"has_subscription":{}})"), (Ids{"c01", "c02", "c04", "c05"}));
  EXPECT_EQ(Match(R"({"has_subscription":{"status":"cancelled"}})"), (Ids{"c03", "c05"}));
  EXPECT_EQ(Match(R"({"has_subscription":{"products":["NOPE"]}})"), Ids{});
  EXPECT_EQ(Match(R"({"member_of":"newsletter"})"), (Ids{"c02", "c04"}));
  EXPECT_EQ(Match(R"({"member_of":"premium"})"), (Ids{"c01", "c02", "c05"}));
  EXPECT_EQ(Match(R"({"member_of":"no-products"})"), Ids{});
  EXPECT_EQ(Match(R"({"member_of":"vip-list"})"), (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"segment":"vips"})"), (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"segment":"german-vips"})"), Ids{"c01"});
  EXPECT_EQ(Match(R"({"segment":"via-list"})"), (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"not":{"segment":"german-vips"}})"), AllBut({"c01"}));
}

TEST_P(SegmentTest, Nesting) {
  EXPECT_EQ(Match(R"({"all":[
      {"field":"country","op":"in","value":["DE","AT"]},
      {"any":[{"tag":"vip"},{"has_subscription":{"products":["SILVER"]}}]},
      {"not":{"consent":"email"}}]})"),
            Ids{"c02"});
  EXPECT_EQ(
      Match(R"({"any":[{"segment":"german-vips"},{"all":[{"attribute":"score","op":"gt","value":50},
      {"not":{"field":"status","op":"eq","value":"inactive"}}]}]})"),
      (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(R"({"all":[]})"), all_);
  EXPECT_EQ(Match(R"({"any":[]})"), Ids{});
  EXPECT_EQ(Match(R"({"not":{"all":[]}})"), Ids{});
  EXPECT_EQ(Match(R"({"not":{"any":[]}})"), all_);
  EXPECT_EQ(Match(R"({"not":{"not":{"tag":"vip"}}})"), (Ids{"c01", "c03"}));
}

TEST_P(SegmentTest, UserTextOnlyReachesParameters) {
  const char* rule = R"({"all":[
      {"field":"last_name","op":"eq","value":"x'); DROP TABLE customers; --"},
      {"attribute":"injected_name","op":"contains","value":"?'\"%"},
      {"tag":"'"}]})";
  Status st = db().WithConnection([&](Connection& c) -> Status {
    ASSIGN_OR_RETURN(CompiledSegment s, Compile(c, rule));
    EXPECT_EQ(s.where.find("DROP"), std::string::npos) << s.where;
    EXPECT_EQ(s.where.find("injected_name"), std::string::npos) << s.where;
    EXPECT_EQ(s.where.find('"'), std::string::npos) << s.where;
    EXPECT_EQ(static_cast<size_t>(std::count(s.where.begin(), s.where.end(), '?')),
              s.params.size());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Match(rule), Ids{});
  EXPECT_EQ(all_.size() + 1, [&] {
    auto row = db().QueryRow("SELECT COUNT(*) FROM customers");
    return row.ok() ? static_cast<size_t>((*row)->Int(0)) : 0;
  }());
}

TEST_P(SegmentTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(ErrorField(R"({"any":[{"tag":"x"},{"field":"nope","op":"eq","value":"x"}]})"),
            "rule.any[1].field");
  EXPECT_EQ(
      ErrorField(R"({"all":[{"tag":"a"},{"tag":"b"},{"field":"email","op":"like","value":"x"}]})"),
      "rule.all[2].op");
  EXPECT_EQ(ErrorField(R"([])"), "rule");
  EXPECT_EQ(ErrorField(R"("vip")"), "rule");
  EXPECT_EQ(ErrorField(R"({})"), "rule");
  EXPECT_EQ(ErrorField(R"({"tag":"x","extra":1})"), "rule.extra");
  EXPECT_EQ(ErrorField(R"({"tag":"x","consent":"email"})"), "rule.consent");
  EXPECT_EQ(ErrorField(R"({"tag":5})"), "rule.tag");
  EXPECT_EQ(ErrorField(R"({"tag":""})"), "rule.tag");
  EXPECT_EQ(ErrorField(R"({"all":{}})"), "rule.all");
  EXPECT_EQ(ErrorField(R"({"not":[]})"), "rule.not");
  EXPECT_EQ(ErrorField(R"({"not":{"any":[{"tag":"a"},{"consent":"fax"}]}})"),
            "rule.not.any[1].consent");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"eq"})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"field":"email","value":"x"})"), "rule.op");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"exists","value":"x"})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"eq","value":null})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"eq","value":5})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"gt","value":"a"})"), "rule.op");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"within_last","value":"1d"})"), "rule.op");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"in","value":"a"})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"field":"email","op":"in","value":["a",2]})"), "rule.value[1]");
  EXPECT_EQ(ErrorField(R"({"field":"attributes","op":"eq","value":"x"})"), "rule.field");
  EXPECT_EQ(ErrorField(R"({"field":"email","attribute":"x","op":"eq","value":"x"})"),
            "rule.attribute");
  for (const char* d : {"30x", "0d", "d", "-1d", "1.5d", "30", "99999999d"}) {
    EXPECT_EQ(ErrorField(std::string(R"({"field":"created_at","op":"within_last","value":")") + d +
                         "\"}"),
              "rule.value")
        << d;
  }
  EXPECT_EQ(ErrorField(R"({"field":"created_at","op":"gt","value":"yesterday"})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"field":"created_at","op":"gt","value":1767225600000})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"field":"created_at","op":"contains","value":"2025"})"), "rule.op");
  for (const char* a : {"", "a..b", ".a", "a.", "a-b", "a b", "ä"}) {
    EXPECT_EQ(ErrorField(std::string(R"({"attribute":")") + a + R"(","op":"exists"})"),
              "rule.attribute")
        << a;
  }
  EXPECT_EQ(ErrorField(R"({"attribute":"score","op":"in","value":[1,"a"]})"), "rule.value[1]");
  EXPECT_EQ(ErrorField(R"({"attribute":"score","op":"in","value":["a",1]})"), "rule.value[1]");
  EXPECT_EQ(ErrorField(R"({"attribute":"score","op":"contains","value":1})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"attribute":"vip","op":"gt","value":true})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"attribute":"vip","op":"eq","value":{}})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"attribute":"score","op":"gt","value":1e400})"), "rule.value");
  EXPECT_EQ(ErrorField(R"({"attribute":"score","op":"within_last","value":"1d"})"), "rule.op");
  EXPECT_EQ(ErrorField(R"({"has_subscription":{"products":[]}})"),
            "rule.has_subscription.products");
  EXPECT_EQ(ErrorField(R"({"has_subscription":{"products":["A"],"x":1}})"),
            "rule.has_subscription.x");
  EXPECT_EQ(ErrorField(R"({"has_subscription":{"products":[1]}})"),
            "rule.has_subscription.products[0]");
  EXPECT_EQ(ErrorField(R"({"has_subscription":{"status":""}})"), "rule.has_subscription.status");
  EXPECT_EQ(ErrorField(R"({"has_subscription":"GOLD"})"), "rule.has_subscription");
  EXPECT_EQ(ErrorField(R"({"segment":"nope"})"), "rule.segment");
  EXPECT_EQ(ErrorField(R"({"member_of":"nope"})"), "rule.member_of");
  EXPECT_EQ(ErrorField(R"({"member_of":"orphan"})"), "rule.member_of");
  EXPECT_EQ(ErrorField(R"({"all":[{"tag":"x"},{"consent":"fax"}],"any":[]})"), "rule.any");

  // Every problem is reported, not just the first.
  Status many = Error(R"({"all":[{"tag":1},{"consent":"fax"},{"field":"x","op":"y"}]})");
  ASSERT_EQ(many.fields().size(), 4u) << many.ToString();
  EXPECT_EQ(many.fields()[0].field, "rule.all[0].tag");
  EXPECT_EQ(many.fields()[1].field, "rule.all[1].consent");
  EXPECT_EQ(many.fields()[2].field, "rule.all[2].field");
  EXPECT_EQ(many.fields()[3].field, "rule.all[2].op");

  // An invalid saved segment is reported at the reference, naming the inner path.
  Status broken = Error(R"({"any":[{"tag":"x"},{"segment":"broken"}]})");
  ASSERT_EQ(broken.fields().size(), 1u);
  EXPECT_EQ(broken.fields()[0].field, "rule.any[1].segment");
  EXPECT_NE(broken.fields()[0].message.find("rule.field"), std::string::npos)
      << broken.fields()[0].message;

  // The prefix is the caller's.
  Status prefixed = db().WithConnection([&](Connection& c) -> Status {
    DbSegmentResolver resolver(c);
    return CompileSegment(json::parse(R"({"not":{"tag":1}})"), GetParam(), kNow, resolver,
                          "body.rule")
        .status();
  });
  ASSERT_EQ(prefixed.fields().size(), 1u);
  EXPECT_EQ(prefixed.fields()[0].field, "body.rule.not.tag");
}

TEST_P(SegmentTest, CyclesAreValidationErrors) {
  for (const char* rule : {R"({"segment":"cyc-a"})", R"({"segment":"self"})",
                           R"({"member_of":"cyc-list"})", R"({"all":[{"segment":"cyc-b"}]})"}) {
    Status st = Error(rule);
    EXPECT_EQ(st.code(), StatusCode::kValidation) << rule;
    ASSERT_EQ(st.fields().size(), 1u) << rule;
    EXPECT_NE(st.fields()[0].message.find("cycle"), std::string::npos) << st.ToString();
  }
  Status st = Error(R"({"segment":"cyc-a"})");
  EXPECT_EQ(st.fields()[0].field, "rule.segment");
  EXPECT_NE(st.fields()[0].message.find(R"("cyc-a" -> "cyc-b" -> "cyc-a")"), std::string::npos)
      << st.fields()[0].message;

  // Saving "vips" with a rule that reaches "vips" again is a cycle, though
  // the stored rule of "vips" has none.
  EXPECT_NE(Error(R"({"segment":"german-vips"})", "vips").fields()[0].message.find("cycle"),
            std::string::npos);
  EXPECT_NE(Error(R"({"member_of":"vip-list"})", "vips").fields()[0].message.find("cycle"),
            std::string::npos);
  // The same segment twice side by side is no cycle.
  EXPECT_EQ(Match(R"({"all":[{"segment":"vips"},{"segment":"vips"},{"member_of":"vip-list"}]})"),
            (Ids{"c01", "c03"}));
}

std::string Nested(const std::string& wrap, int levels, const std::string& leaf) {
  std::string out = leaf;
  for (int i = 0; i < levels; ++i) {
    out = wrap == "not" ? R"({"not":)" + out + "}"
                        : R"({")" + wrap + R"(":[{"tag":"nope"},)" + out + "]}";
  }
  return out;
}

TEST_P(SegmentTest, Limits) {
  // Depth: the root is level 1, so 15 wrappers around a leaf are the most.
  EXPECT_EQ(Match(Nested("not", 15, R"({"tag":"vip"})")), AllBut({"c01", "c03"}));
  EXPECT_EQ(Match(Nested("any", 15, R"({"tag":"vip"})")), (Ids{"c01", "c03"}));
  EXPECT_EQ(Match(Nested("all", 15, R"({"field":"email","op":"contains","value":"a"})")), Ids{});
  std::string deepest = "rule";
  for (int i = 0; i < 16; ++i) deepest += ".not";
  EXPECT_EQ(ErrorField(Nested("not", 16, R"({"tag":"vip"})")), deepest);
  EXPECT_EQ(Error(Nested("all", 16, R"({"tag":"vip"})")).code(), StatusCode::kValidation);
  // Nodes: the `any` itself plus 199 conditions.
  auto any_of = [](int n) {
    std::string r = R"({"any":[)";
    for (int i = 0; i < n; ++i)
      r += std::string(i ? "," : "") + R"({"tag":"t)" + std::to_string(i) + "\"}";
    return r + "]}";
  };
  EXPECT_EQ(Match(any_of(199)), Ids{});
  Status too_many = Error(any_of(200));
  ASSERT_EQ(too_many.fields().size(), 1u);
  EXPECT_EQ(too_many.fields()[0].field, "rule.any[199]");
  EXPECT_EQ(Error(any_of(100000)).fields().size(), 1u);
  // `in` lists.
  auto in_list = [](int n) {
    std::string r = R"({"field":"email","op":"in","value":[)";
    for (int i = 0; i < n; ++i)
      r += std::string(i ? "," : "") + "\"u" + std::to_string(i) + "@example.com\"";
    return r + "]}";
  };
  EXPECT_EQ(Match(in_list(1000)), Ids{});
  EXPECT_EQ(ErrorField(in_list(1001)), "rule.value");
  // Strings count characters, not bytes.
  std::string umlauts;
  for (int i = 0; i < 1000; ++i) umlauts += "ä";
  EXPECT_EQ(Match(R"({"field":"last_name","op":"contains","value":")" + umlauts + "\"}"), Ids{});
  EXPECT_EQ(ErrorField(R"({"field":"last_name","op":"contains","value":"x)" + umlauts + "\"}"),
            "rule.value");
  EXPECT_EQ(ErrorField(R"({"tag":"a\u0000b"})"), "rule.tag");
  // Attribute names: 64 characters per part.
  EXPECT_EQ(Match(R"({"attribute":")" + std::string(64, 'a') + R"(.b","op":"exists"})"), Ids{});
  EXPECT_EQ(ErrorField(R"({"attribute":")" + std::string(65, 'a') + R"(","op":"exists"})"),
            "rule.attribute");
}

TEST_P(SegmentTest, PreviewCountsAndSamplesLowestIds) {
  Status st = db().WithConnection([&](Connection& c) -> Status {
    ASSIGN_OR_RETURN(CompiledSegment s,
                     Compile(c, R"({"field":"language","op":"eq","value":"fr"})"));
    ASSIGN_OR_RETURN(SegmentPreview p, PreviewSegment(c, s, 5));
    EXPECT_EQ(p.count, kFillers);
    EXPECT_EQ(p.sample_ids.size(), 5u);
    EXPECT_TRUE(std::is_sorted(p.sample_ids.begin(), p.sample_ids.end()));
    EXPECT_EQ(ext_.at(p.sample_ids.front()), "f01");
    ASSIGN_OR_RETURN(SegmentPreview none, PreviewSegment(c, s, 0));
    EXPECT_EQ(none.count, kFillers);
    EXPECT_TRUE(none.sample_ids.empty());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

class FailingResolver : public SegmentResolver {
 public:
  Result<json::value> SegmentRule(const std::string&) override {
    return Status::Unavailable("database down");
  }
  Result<ListInfo> List(const std::string&) override { return Status::Unavailable("down"); }
};

TEST_P(SegmentTest, ResolverFailuresPassThrough) {
  FailingResolver r;
  auto res =
      CompileSegment(json::parse(R"({"any":[{"tag":"x"},{"segment":"a"}]})"), GetParam(), kNow, r);
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  res = CompileSegment(json::parse(R"({"member_of":"a"})"), GetParam(), kNow, r);
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
}

TEST_P(SegmentTest, HundredThousandCustomers) {
  constexpr int kN = 100'000;
  const auto start = std::chrono::steady_clock::now();
  const bool pg = GetParam() == Dialect::kPostgres;
  Status st = db().Transact([&](Connection& c) -> Status {
    // One INSERT of 100,000 rows the database generates itself: building and
    // binding them row by row costs seconds in a sanitizer build.
    const std::string attributes = R"('{"score":' || (n % 100) || ',"tier":"t' || (n % 5) || '"}')";
    RETURN_IF_ERROR(
        c.Execute("WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < " +
                  std::to_string(kN - 1) +
                  ") INSERT INTO customers (external_id, status, attributes, created_at, "
                  "updated_at) SELECT 'bulk-' || n, CASE WHEN n % 7 = 0 THEN 'erased' ELSE "
                  "'active' END, " +
                  (pg ? "CAST(" + attributes + " AS jsonb)" : attributes) + ", n, n FROM seq")
            .status());
    // created_at carries n, so the database can derive the rest itself.
    RETURN_IF_ERROR(
        c.Execute("INSERT INTO subscriptions (external_id, customer_id, product_id, status, "
                  "created_at, updated_at) SELECT 'bulk-sub-' || c.external_id, c.id, "
                  "CAST(? AS BIGINT), CASE WHEN c.created_at % 3 = 0 THEN 'active' ELSE "
                  "'cancelled' END, 0, 0 FROM customers c WHERE c.external_id LIKE 'bulk-%' AND "
                  "c.created_at % 9 IN (0, 1, 3, 6)",
                  {products_["GOLD"]})
            .status());
    return c
        .Execute(
            "INSERT INTO consents (customer_id, channel, status, at) SELECT c.id, 'email', "
            "CASE WHEN c.created_at % 4 = 0 THEN 'granted' ELSE 'withdrawn' END, 0 "
            "FROM customers c WHERE c.external_id LIKE 'bulk-%' AND c.created_at % 8 IN (0, 2, 4)")
        .status();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto loaded = std::chrono::steady_clock::now();

  int64_t expected = 0;
  for (int n = 0; n < kN; ++n) {
    if (n % 7 != 0 && n % 100 >= 50 && n % 3 == 0 && n % 4 == 0) ++expected;
  }
  SegmentPreview p;
  st = db().WithConnection([&](Connection& c) -> Status {
    ASSIGN_OR_RETURN(CompiledSegment s, Compile(c, R"({"all":[
        {"attribute":"score","op":"gte","value":50},
        {"has_subscription":{"products":["GOLD"]}},
        {"consent":"email"}]})"));
    ASSIGN_OR_RETURN(p, PreviewSegment(c, s, 3));
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  // None of the seeded customers qualifies (c01 and c05 score low, c03's GOLD is cancelled).
  EXPECT_EQ(p.count, expected);
  for (int workers : {1, 2, 4}) {
    Result<SegmentCount> counted = CountSegment(db(), json::parse(R"({"all":[
        {"attribute":"score","op":"gte","value":50},
        {"has_subscription":{"products":["GOLD"]}},
        {"consent":"email"}]})"), kNow, 3, "", {.workers = workers, .min_ids_per_worker = 1000});
    ASSERT_TRUE(counted.ok()) << counted.status().ToString();
    EXPECT_EQ(counted->count, expected) << workers << " workers";
    EXPECT_EQ(counted->sample_ids, p.sample_ids) << workers << " workers";
  }
  ASSERT_EQ(p.sample_ids.size(), 3u);
  const auto done = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::printf("100k customers: load %lld ms, segment %lld ms\n",
              static_cast<long long>(ms(loaded - start)),
              static_cast<long long>(ms(done - loaded)));
}

INSTANTIATE_TEST_SUITE_P(Drivers, SegmentTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgres),
                         [](const auto& info) {
                           return info.param == Dialect::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace kontor::clients
