#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/retry.h"
#include "core/validation.h"

namespace kontor {
namespace {

TEST(Rfc3339, FormatsAndParses) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  auto t = ParseRfc3339("2026-11-22T10:00:00.250Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-22T10:00:00.250Z");
  auto off = ParseRfc3339("2026-11-22T11:00:00+01:00");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(FormatRfc3339(*off), "2026-11-22T10:00:00.000Z");
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
  // Far years stay exact (no overflow through nanoseconds).
  auto far = ParseRfc3339("9999-12-31T23:59:59.999Z");
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(*far, 253402300799999);
  EXPECT_EQ(FormatRfc3339(*far), "9999-12-31T23:59:59.999Z");
  EXPECT_FALSE(ParseRfc3339("2026-13-45T99:00:00Z").ok());
}

TEST(FakeClock, Advances) {
  FakeClock c(1000);
  c.Advance(Millis(500));
  EXPECT_EQ(c.NowMs(), 1500);
}

TEST(Crypto, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s) << s;
  }
  EXPECT_EQ(Base64Decode("Zm9vYg"), "foob") << "padding optional";
  EXPECT_EQ(Base64Decode("Zm9v!"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm=9v"), std::nullopt);
  EXPECT_TRUE(SecureEquals("abc", "abc"));
  EXPECT_FALSE(SecureEquals("abc", "abd"));
  EXPECT_NE(RandomBytes(16), RandomBytes(16));
}

TEST(JsonReader, CollectsEveryProblem) {
  auto o = ParseJsonObject(R"({"name": 5, "age": "x", "extra": true, "tags": []})");
  ASSERT_TRUE(o.ok());
  JsonReader r(*o);
  r.String("name", true);
  r.Int("age", true, 0, 200);
  r.String("email", true);
  r.Array("tags", false);
  Status st = r.Finish();
  ASSERT_EQ(st.code(), StatusCode::kValidation);
  std::vector<std::string> fields;
  for (const auto& f : st.fields()) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"name", "age", "email", "extra"}));
}

TEST(JsonReader, MalformedAndNonObject) {
  EXPECT_EQ(ParseJsonObject("{").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject("[1]").status().code(), StatusCode::kValidation);
  std::string deep(100, '[');
  EXPECT_EQ(ParseJsonObject(deep).status().code(), StatusCode::kInvalidArgument);
}

TEST(JsonReader, RangesAndEnums) {
  auto o = ParseJsonObject(R"({"n": 500, "s": "maybe", "big": 1e30})");
  JsonReader r(*o);
  EXPECT_FALSE(r.Int("n", true, 0, 100));
  EXPECT_FALSE(r.Enum("s", true, {"yes", "no"}));
  EXPECT_FALSE(r.Int("big", true, 0, 100));
  EXPECT_EQ(r.Finish().fields().size(), 3u);
}

TEST(JsonReader, Ids) {
  auto o =
      ParseJsonObject(R"({"a": "42", "b": 7, "c": "0", "d": "4x", "e": -3, "f": "-1", "g": true})");
  JsonReader r(*o);
  EXPECT_EQ(r.Id("a", true), 42);
  EXPECT_EQ(r.Id("b", true), 7);
  for (const char* k : {"c", "d", "e", "f", "g"}) EXPECT_FALSE(r.Id(k, true)) << k;
  EXPECT_FALSE(r.Id("missing", false));
  EXPECT_EQ(r.Finish().fields().size(), 5u);
  EXPECT_EQ(ParseId("9007199254740993"), 9007199254740993LL);
  EXPECT_FALSE(ParseId(""));
  EXPECT_FALSE(ParseId("+5"));
  EXPECT_FALSE(ParseId("99999999999999999999"));
}

TEST(Retry, BackoffDoublesWithJitterUpToTheCap) {
  for (int i = 0; i < 200; ++i) {
    const int64_t first = BackoffMs(1, 1000, 60000), third = BackoffMs(3, 1000, 60000);
    EXPECT_GE(first, 800);
    EXPECT_LE(first, 1200);
    EXPECT_GE(third, 3200);
    EXPECT_LE(third, 4800);
    const int64_t late = BackoffMs(500, 1000, 60000);  // no overflow far out
    EXPECT_GE(late, 48000);
    EXPECT_LE(late, 72000);
    EXPECT_GE(BackoffMs(1, 0, 10), 1);
  }
}

TEST(Config, FileThenEnvironment) {
  std::string path = ::testing::TempDir() + "/kontor_cfg.toml";
  std::ofstream(path)
      << "listen = \"0.0.0.0:9000\"\n[http]\nthreads = 3\n[jobs]\nenabled = false\n";
  unsetenv("KONTOR_LISTEN");
  setenv("KONTOR_HTTP_THREADS", "5", 1);
  auto c = LoadConfig(path);
  unsetenv("KONTOR_HTTP_THREADS");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "0.0.0.0:9000");
  EXPECT_EQ(c->http.threads, 5);
  EXPECT_FALSE(c->jobs.enabled);
}

TEST(Config, RejectsUnknownKeysAndBadValues) {
  std::string path = ::testing::TempDir() + "/kontor_bad.toml";
  std::ofstream(path) << "lisen = \"x\"\n[http]\nthreads = -1\n";
  auto c = LoadConfig(path);
  ASSERT_FALSE(c.ok());
  std::set<std::string> fields;
  for (const auto& f : c.status().fields()) fields.insert(f.field);
  EXPECT_EQ(fields, (std::set<std::string>{"lisen", "http.threads"}));
  std::ofstream(path) << "not toml = = =";
  EXPECT_EQ(LoadConfig(path).status().code(), StatusCode::kInvalidArgument);
}

TEST(Config, EveryKeyHasEnvAndDoc) {
  for (const auto& k : ConfigKeys()) {
    EXPECT_TRUE(std::string(k.env).starts_with("KONTOR_")) << k.key;
    EXPECT_FALSE(std::string(k.doc).empty()) << k.key;
  }
}

}  // namespace
}  // namespace kontor
