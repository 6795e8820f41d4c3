#include "messaging/apns.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/crypto.h"

namespace kontor::messaging {
namespace {

HttpAnswer Answer(long status, std::string body, std::map<std::string, std::string> headers = {}) {
  HttpAnswer a;
  a.status = status;
  a.body = std::move(body);
  a.headers = std::move(headers);
  return a;
}

std::string NewP256Pem() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, n);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

json::object JwtPart(const std::string& jwt, int part) {
  size_t a = 0;
  for (int i = 0; i < part; ++i) a = jwt.find('.', a) + 1;
  const size_t b = jwt.find('.', a);
  std::string s = jwt.substr(a, b == std::string::npos ? std::string::npos : b - a);
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  auto decoded = Base64Decode(s);
  EXPECT_TRUE(decoded.has_value());
  auto o = ParseJsonObject(decoded.value_or("{}"));
  EXPECT_TRUE(o.ok());
  return o.ok() ? *o : json::object();
}

TEST(ApnsProviderTest, AnswersMapToOutcomesAsAppleDocuments) {
  using Kind = Outcome::Kind;
  Outcome o =
      ApnsOutcome(Answer(200, "", {{"apns-id", "0e6a7f2c-1111-2222-3333-444455556666"}}), 0);
  EXPECT_EQ(o.kind, Kind::kSent);
  EXPECT_EQ(o.provider_message_id, "0e6a7f2c-1111-2222-3333-444455556666");
  o = ApnsOutcome(Answer(410, R"({"reason":"Unregistered","timestamp":1700000000000})"), 0);
  EXPECT_EQ(o.kind, Kind::kUnregistered);
  EXPECT_EQ(o.error_code, "Unregistered");
  EXPECT_EQ(ApnsOutcome(Answer(400, R"({"reason":"BadDeviceToken"})"), 0).kind,
            Kind::kUnregistered);
  o = ApnsOutcome(Answer(400, R"({"reason":"TopicDisallowed"})"), 0);
  EXPECT_EQ(o.kind, Kind::kFailed);
  EXPECT_EQ(o.error_code, "TopicDisallowed");
  EXPECT_EQ(ApnsOutcome(Answer(413, R"({"reason":"PayloadTooLarge"})"), 0).kind, Kind::kFailed);
  EXPECT_EQ(ApnsOutcome(Answer(403, R"({"reason":"InvalidProviderToken"})"), 0).kind,
            Kind::kPaused);
  o = ApnsOutcome(Answer(403, R"({"reason":"ExpiredProviderToken"})"), 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.error_code, "ExpiredProviderToken");
  o = ApnsOutcome(Answer(429, R"({"reason":"TooManyRequests"})", {{"retry-after", "7"}}), 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.retry_after_ms, 7000);
  o = ApnsOutcome(Answer(503, R"({"reason":"ServiceUnavailable"})"), 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.retry_after_ms, -1);
  EXPECT_EQ(ApnsOutcome(Answer(500, "<html>"), 0).error_code, "HTTP_500");
  EXPECT_EQ(ApnsOutcome(Answer(502, "<html>"), 0).kind, Kind::kRetry);
  o = ApnsOutcome(Answer(0, ""), 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.error_code, "transport");
}

TEST(ApnsProviderTest, AlertAndBackgroundPayloadsAndHeaders) {
  ApnsOptions opt;
  opt.topic = "com.example.app";
  opt.expiration_s = 3600;
  Outgoing alert;
  alert.recipient = "ab";
  alert.content = {{"title", "T"},
                   {"body", "B"},
                   {"image", "https://x/i.png"},
                   {"link", "app://l"},
                   {"data", json::object{{"isin", "DE1"}, {"collapse_id", "price-DE1"}}}};
  json::object p = ApnsPayload(alert);
  EXPECT_EQ(json::serialize(p.at("aps")),
            R"({"alert":{"title":"T","body":"B"},"sound":"default","mutable-content":1})");
  EXPECT_EQ(p.at("isin").as_string(), "DE1");
  EXPECT_EQ(p.at("link").as_string(), "app://l");
  std::vector<std::string> h = ApnsHeaders(alert, opt, 1700000000000);
  auto has = [&h](const std::string& line) {
    return std::find(h.begin(), h.end(), line) != h.end();
  };
  EXPECT_TRUE(has("apns-topic: com.example.app"));
  EXPECT_TRUE(has("apns-push-type: alert"));
  EXPECT_TRUE(has("apns-priority: 10"));
  EXPECT_TRUE(has("apns-expiration: 1700003600"));
  EXPECT_TRUE(has("apns-collapse-id: price-DE1"));

  Outgoing data_only;
  data_only.content = {{"data", json::object{{"refresh", "1"}, {"aps", "ignored"}}}};
  p = ApnsPayload(data_only);
  EXPECT_EQ(json::serialize(p.at("aps")), R"({"content-available":1})");
  EXPECT_EQ(p.at("refresh").as_string(), "1");
  h = ApnsHeaders(data_only, opt, 0);
  EXPECT_TRUE(has("apns-push-type: background"));
  EXPECT_TRUE(has("apns-priority: 5"));
  opt.expiration_s = 0;
  h = ApnsHeaders(data_only, opt, 1700000000000);
  EXPECT_TRUE(has("apns-expiration: 0"));
}

TEST(ApnsProviderTest, ProviderTokenIsReusedFortyMinutesThenRenewed) {
  auto src = ApnsTokenSource::FromKey(NewP256Pem(), "KEYID12345", "TEAMID1234");
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  const int64_t t0 = 1700000000000;
  auto a = (*src)->Token(t0);
  ASSERT_TRUE(a.ok());
  json::object header = JwtPart(*a, 0), claims = JwtPart(*a, 1);
  EXPECT_EQ(header.at("alg").as_string(), "ES256");
  EXPECT_EQ(header.at("kid").as_string(), "KEYID12345");
  EXPECT_EQ(claims.at("iss").as_string(), "TEAMID1234");
  EXPECT_EQ(claims.at("iat").as_int64(), t0 / 1000);
  EXPECT_EQ(*(*src)->Token(t0 + 39 * 60000), *a);
  auto b = (*src)->Token(t0 + 41 * 60000);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*b, *a);
  EXPECT_EQ(JwtPart(*b, 1).at("iat").as_int64(), t0 / 1000 + 41 * 60);
  // Another worker reporting the old token expired does not throw away the new one.
  (*src)->Expired(*a);
  EXPECT_EQ(*(*src)->Token(t0 + 42 * 60000), *b);
  (*src)->Expired(*b);
  EXPECT_NE(*(*src)->Token(t0 + 42 * 60000), *b);
  EXPECT_FALSE(ApnsTokenSource::FromKey("not a key", "K", "T").ok());
}

}  // namespace
}  // namespace kontor::messaging
