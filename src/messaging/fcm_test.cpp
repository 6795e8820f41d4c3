#include "messaging/fcm.h"

#include <gtest/gtest.h>

namespace kontor::messaging {
namespace {

HttpAnswer Answer(long status, std::string body, std::map<std::string, std::string> headers = {}) {
  HttpAnswer a;
  a.status = status;
  a.body = std::move(body);
  a.headers = std::move(headers);
  return a;
}

std::string FcmError(int code, const char* status, const char* error_code) {
  return std::string(R"({"error":{"code":)") + std::to_string(code) + R"(,"message":"m","status":")" +
         status + R"(","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":")" +
         error_code + R"("}]}})";
}

TEST(Fcm, AnswersMapToOutcomesAsDocumented) {
  using Kind = Outcome::Kind;
  Outcome o = FcmOutcome(Answer(200, R"({"name":"projects/p/messages/0:1"})"), 0);
  EXPECT_EQ(o.kind, Kind::kSent);
  EXPECT_EQ(o.provider_message_id, "projects/p/messages/0:1");
  o = FcmOutcome(Answer(404, FcmError(404, "NOT_FOUND", "UNREGISTERED")), 0);
  EXPECT_EQ(o.kind, Kind::kUnregistered);
  EXPECT_EQ(o.error_code, "UNREGISTERED");
  EXPECT_EQ(FcmOutcome(Answer(400, FcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")), 0).kind,
            Kind::kFailed);
  EXPECT_EQ(FcmOutcome(Answer(403, FcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")), 0).kind,
            Kind::kFailed);
  o = FcmOutcome(Answer(429, FcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
                        {{"retry-after", "30"}}),
                 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.error_code, "QUOTA_EXCEEDED");
  EXPECT_EQ(o.retry_after_ms, 30000);
  EXPECT_EQ(FcmOutcome(Answer(503, FcmError(503, "UNAVAILABLE", "UNAVAILABLE")), 0).kind, Kind::kRetry);
  EXPECT_EQ(FcmOutcome(Answer(500, FcmError(500, "INTERNAL", "INTERNAL")), 0).kind, Kind::kRetry);
  o = FcmOutcome(Answer(401, FcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")), 0);
  EXPECT_EQ(o.kind, Kind::kPaused);
  EXPECT_EQ(o.error_code, "THIRD_PARTY_AUTH_ERROR");
  // Not JSON: judged by the status.
  o = FcmOutcome(Answer(502, "<html>Bad Gateway</html>"), 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.error_code, "HTTP_502");
  EXPECT_EQ(FcmOutcome(Answer(401, "Unauthorized"), 0).kind, Kind::kPaused);
  EXPECT_EQ(FcmOutcome(Answer(400, "bad"), 0).kind, Kind::kFailed);
  HttpAnswer reset;
  reset.error = "Connection reset by peer";
  EXPECT_EQ(FcmOutcome(reset, 0).kind, Kind::kRetry);
  // Retry-After as an HTTP date.
  o = FcmOutcome(Answer(503, "", {{"retry-after", "Wed, 21 Oct 2015 07:28:10 GMT"}}), 1445412480000);
  EXPECT_EQ(o.retry_after_ms, 10000);
}

TEST(Fcm, RequestBodyFollowsTheV1Shape) {
  Outgoing m;
  m.recipient = "tok-1";
  m.content = {{"title", "Kaufen"}, {"body", "Müller AG"}, {"image", "https://x/i.png"},
               {"link", "app://edition/12"}, {"data", json::object{{"isin", "DE0001"}}}};
  EXPECT_EQ(json::value(FcmRequest(m)), json::parse(R"({"message":{"token":"tok-1",
    "notification":{"title":"Kaufen","body":"Müller AG","image":"https://x/i.png"},
    "data":{"isin":"DE0001","link":"app://edition/12"},
    "android":{"priority":"HIGH"},"apns":{"headers":{"apns-priority":"10"}}}})"));
}

TEST(Fcm, DataAloneIsABackgroundMessage) {
  Outgoing m;
  m.recipient = "tok-2";
  m.content = {{"data", json::object{{"refresh", "portfolio"}}}};
  EXPECT_EQ(json::value(FcmRequest(m)), json::parse(R"({"message":{"token":"tok-2",
    "data":{"refresh":"portfolio"},"android":{"priority":"HIGH"},
    "apns":{"headers":{"apns-priority":"5","apns-push-type":"background"},
            "payload":{"aps":{"content-available":1}}}}})"));
}

}  // namespace
}  // namespace kontor::messaging
