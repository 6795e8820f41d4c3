#include "messaging/sms.h"

#include <gtest/gtest.h>

#include "messaging/sms_api.h"
#include "messaging/webhook_provider.h"
#include "webhooks/signing.h"

namespace kontor::messaging {
namespace {

HttpAnswer Answer(long status, std::string body, std::map<std::string, std::string> headers = {}) {
  HttpAnswer a;
  a.status = status;
  a.body = std::move(body);
  a.headers = std::move(headers);
  return a;
}

TEST(SmsProviderTest, TwilioAnswersMapToOutcomes) {
  using Kind = Outcome::Kind;
  Outcome o =
      TwilioOutcome(Answer(201, R"({"sid":"SM0123","status":"queued","num_segments":"1"})"), 0);
  EXPECT_EQ(o.kind, Kind::kSent);
  EXPECT_EQ(o.provider_message_id, "SM0123");
  for (int code : {21211, 21614, 21612}) {
    o = TwilioOutcome(Answer(400, R"({"code":)" + std::to_string(code) + R"(,"message":"m"})"), 0);
    EXPECT_EQ(o.kind, Kind::kFailed) << code;
    EXPECT_EQ(o.error_code, std::to_string(code));
  }
  EXPECT_EQ(TwilioOutcome(Answer(400, R"({"code":21610,"message":"unsubscribed"})"), 0).kind,
            Kind::kFailed);
  o = TwilioOutcome(
      Answer(429, R"({"code":20429,"message":"Too Many Requests"})", {{"retry-after", "3"}}), 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.retry_after_ms, 3000);
  EXPECT_EQ(TwilioOutcome(Answer(503, R"({"code":20503})"), 0).kind, Kind::kRetry);
  EXPECT_EQ(TwilioOutcome(Answer(502, "<html>"), 0).kind, Kind::kRetry);
  o = TwilioOutcome(Answer(401, R"({"code":20003,"message":"Authenticate"})"), 0);
  EXPECT_EQ(o.kind, Kind::kPaused);
  EXPECT_EQ(o.error_code, "20003");
  EXPECT_EQ(TwilioOutcome(Answer(0, ""), 0).kind, Kind::kRetry);
}

TEST(SmsProviderTest, TwilioFormAndSignature) {
  TwilioOptions t;
  t.from = "+15005550006";
  t.status_callback = "https://k.example/v1/sms/status";
  Outgoing m;
  m.recipient = "+4915112345678";
  m.content = {{"text", "Kurs 42,50 € & mehr"}};
  EXPECT_EQ(TwilioForm(m, t),
            "To=%2B4915112345678&From=%2B15005550006&Body=Kurs%2042%2C50%20%E2%82%AC%20%26%20mehr&"
            "StatusCallback=https%3A%2F%2Fk.example%2Fv1%2Fsms%2Fstatus");
  t.messaging_service_sid = "MG1";
  EXPECT_NE(TwilioForm(m, t).find("MessagingServiceSid=MG1"), std::string::npos);
  // The same as Node's crypto.createHmac("sha1") over the URL and the sorted pairs.
  EXPECT_EQ(TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
                            {{"Digits", "1234"},
                             {"To", "+18005551212"},
                             {"From", "+14158675310"},
                             {"Caller", "+14158675310"},
                             {"CallSid", "CA1234567890ABCDE"}}),
            "GvWf1cFY/Q7PnoempGyD5oXAezc=");
  auto f = ParseForm("From=%2B41791234567&Body=STOP+now&Empty=&Flag");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->size(), 4u);
  EXPECT_EQ((*f)[0].second, "+41791234567");
  EXPECT_EQ((*f)[1].second, "STOP now");
  EXPECT_EQ((*f)[2].second, "");
  EXPECT_FALSE(ParseForm("a=%zz").ok());
  EXPECT_FALSE(ParseForm("a=%4").ok());
}

TEST(SmsProviderTest, StopAndStartKeywords) {
  for (const char* s :
       {"STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "Cancel", "END", "quit!"})
    EXPECT_EQ(SmsKeyword(s), "stop") << s;
  for (const char* s : {"START", "unstop"}) EXPECT_EQ(SmsKeyword(s), "start") << s;
  for (const char* s : {"", "stop it", "please STOP", "STOPP", "hello"})
    EXPECT_EQ(SmsKeyword(s), "") << s;
}

TEST(SmsProviderTest, GatewayBodyTemplateAndAnswers) {
  Outgoing m;
  m.id = 42;
  m.recipient = "+41791234567";
  m.content = {{"text", "Say \"hi\"\n€"}};
  const std::string body =
      SmsHttpBody(R"({"msg":{"to":"{{to}}","text":"{{text}}"},"ref":"k-{{id}}","from":"{{from}}"})",
                  m, "Kontor");
  auto parsed = ParseJsonObject(body);
  ASSERT_TRUE(parsed.ok()) << body;
  EXPECT_EQ(parsed->at("msg").at("text").as_string(), "Say \"hi\"\n€");
  EXPECT_EQ(parsed->at("ref").as_string(), "k-42");
  EXPECT_EQ(parsed->at("from").as_string(), "Kontor");
  using Kind = Outcome::Kind;
  Outcome o =
      SmsHttpOutcome(Answer(200, R"({"data":{"message":{"id":"gw-7"}}})"), "data.message.id", 0);
  EXPECT_EQ(o.kind, Kind::kSent);
  EXPECT_EQ(o.provider_message_id, "gw-7");
  o = SmsHttpOutcome(Answer(400, R"({"error":"invalid_to","message":"m"})"), "id", 0);
  EXPECT_EQ(o.kind, Kind::kFailed);
  EXPECT_EQ(o.error_code, "invalid_to");
  EXPECT_EQ(SmsHttpOutcome(Answer(401, R"({"error":"unauthorized"})"), "id", 0).kind,
            Kind::kPaused);
  o = SmsHttpOutcome(Answer(429, R"({"error":"rate_limited"})", {{"retry-after", "2"}}), "id", 0);
  EXPECT_EQ(o.kind, Kind::kRetry);
  EXPECT_EQ(o.retry_after_ms, 2000);
  SmsHttpOptions bad;
  bad.url = "https://gw.example/send";
  bad.body_template = R"({"text":{{text}}})";
  EXPECT_FALSE(SmsHttpProvider::Create(bad).ok());
}

TEST(SmsProviderTest, WebhookProviderAnswersAndBody) {
  using Kind = Outcome::Kind;
  EXPECT_EQ(WebhookOutcome(Answer(204, ""), 9, 0).provider_message_id, "webhook-9");
  EXPECT_EQ(WebhookOutcome(Answer(200, R"({"id":"r-1"})"), 9, 0).provider_message_id, "r-1");
  EXPECT_EQ(WebhookOutcome(Answer(404, ""), 9, 0).kind, Kind::kFailed);
  EXPECT_EQ(WebhookOutcome(Answer(429, ""), 9, 0).kind, Kind::kRetry);
  EXPECT_EQ(WebhookOutcome(Answer(500, ""), 9, 0).kind, Kind::kRetry);
  Outgoing m;
  m.id = 9;
  m.channel = "sms";
  m.recipient = "+41791234567";
  m.content = {{"text", "t"}};
  EXPECT_EQ(
      WebhookMessageBody(m),
      R"({"id":"9","channel":"sms","recipient":"+41791234567","content":{"text":"t"},"attempt":1})");
  WebhookProviderOptions o;
  o.url = "ftp://x";
  o.secret = "whsec_0123456789abcdef";
  EXPECT_FALSE(WebhookProvider::Create(o).ok());
}

}  // namespace
}  // namespace kontor::messaging
