#include "webhooks/events.h"

#include <gtest/gtest.h>

#include "core/crypto.h"
#include "webhooks/signing.h"
#include "webhooks/webhooks.h"

namespace kontor::webhooks {
namespace {

FeedChange Change(std::string entity, std::string key, std::string op, json::value data) {
  return {42, std::move(entity), std::move(key), std::move(op), 1'800'000'000'000, std::move(data)};
}

TEST(WebhookEvents, CustomerChangesMapToCreatedUpdatedDeleted) {
  json::object anna{{"external_id", "crm-1"}, {"email", "anna@example.com"}};
  auto e = EventForChange(Change("customer", "crm-1", "create", anna));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, "evt_42");
  EXPECT_EQ(e->type, "customer.created");
  EXPECT_EQ(e->data.at("email"), "anna@example.com");
  EXPECT_EQ(EventForChange(Change("customer", "crm-1", "update", anna))->type, "customer.updated");
  // Erasure records a delete without data: the event names only the customer.
  auto del = EventForChange(Change("customer", "crm-1", "delete", nullptr));
  EXPECT_EQ(del->type, "customer.deleted");
  EXPECT_EQ(json::serialize(del->data), R"({"status":"erased","external_id":"crm-1"})");
  // A change whose data erasure scrubbed still names its record.
  auto scrubbed = EventForChange(Change("customer", "crm-1", "update", nullptr));
  EXPECT_EQ(json::serialize(scrubbed->data), R"({"external_id":"crm-1"})");
}

TEST(WebhookEvents, OtherEntities) {
  EXPECT_EQ(EventForChange(Change("subscription", "s-1", "create", json::object{}))->type,
            "subscription.changed");
  EXPECT_EQ(EventForChange(Change("product", "p", "update", json::object{}))->data.at("code"), "p");
  EXPECT_EQ(EventForChange(Change("list", "l", "create", json::object{}))->type, "list.changed");
  EXPECT_FALSE(EventForChange(Change("segment", "x", "create", json::object{})));

  auto added = EventForChange(Change("list_membership", "news/crm-1", "create",
                                     json::object{{"list", "news"}, {"customer", "crm-1"}}));
  EXPECT_EQ(added->type, "list.membership_changed");
  EXPECT_EQ(json::serialize(added->data), R"({"list":"news","customer":"crm-1","member":true})");
  auto removed = EventForChange(Change("list_membership", "news/crm-1", "delete", nullptr));
  EXPECT_EQ(json::serialize(removed->data), R"({"list":"news","customer":"crm-1","member":false})");
}

TEST(WebhookEvents, DeviceTokensNeverAppear) {
  auto e = EventForChange(
      Change("device", "inst-1", "update",
             json::object{{"installation_id", "inst-1"}, {"token", "secret-push-token"}}));
  EXPECT_EQ(e->type, "device.changed");
  EXPECT_EQ(e->data.at("token"), "set");
  EXPECT_EQ(EventBody(*e).find("secret-push-token"), std::string::npos);
  // The stale-marking job records only the status; the key is added.
  auto stale =
      EventForChange(Change("device", "inst-2", "update", json::object{{"status", "stale"}}));
  EXPECT_EQ(stale->data.at("installation_id"), "inst-2");
}

TEST(WebhookEvents, BodyShapeAndSubscription) {
  auto e = EventForChange(Change("product", "p", "create", json::object{{"code", "p"}}));
  EXPECT_EQ(
      EventBody(*e),
      R"({"id":"evt_42","type":"product.changed","created_at":"2027-01-15T08:00:00.000Z","data":{"code":"p"}})");
  EXPECT_TRUE(Subscribed({"*"}, "customer.created"));
  EXPECT_TRUE(Subscribed({"customer.created"}, "customer.created"));
  EXPECT_FALSE(Subscribed({"customer.created"}, "customer.updated"));
  EXPECT_TRUE(Subscribed({"customer.created"}, "ping"));
  EXPECT_TRUE(IsEventType("list.membership_changed"));
  EXPECT_FALSE(IsEventType("customer.exploded"));
}

TEST(WebhookSigning, HmacSha256OverTimestampDotBody) {
  // RFC 4231, test case 2: the primitive underneath.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Computed independently (Python's hmac module) over "1700000000." + body.
  EXPECT_EQ(Sign("whsec_test", 1700000000, R"({"id":"evt_1"})"),
            "v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925");
  const std::string s = NewSecret();
  EXPECT_EQ(s.rfind("whsec_", 0), 0u);
  EXPECT_EQ(s.size(), 6u + 43u);  // 32 bytes, unpadded base64url
  EXPECT_NE(s, NewSecret());
}

std::vector<std::string> ErrorFields(const char* body, bool create) {
  auto in = ParseWebhookInput(*ParseJsonObject(body), create);
  std::vector<std::string> out;
  if (in.ok()) return out;
  for (const auto& f : in.status().fields()) out.push_back(f.field);
  return out;
}

TEST(WebhookInput, ValidationNamesEveryField) {
  EXPECT_TRUE(ErrorFields(R"({"url":"https://example.com/hook","events":["*"]})", true).empty());
  EXPECT_TRUE(
      ErrorFields(R"({"url":"http://[::1]:8080/x?y=1","events":["customer.created"]})", true)
          .empty());
  EXPECT_EQ(ErrorFields("{}", true), (std::vector<std::string>{"url", "events"}));
  EXPECT_TRUE(ErrorFields("{}", false).empty());
  EXPECT_EQ(ErrorFields(R"({"url":"ftp://example.com","events":[]})", true),
            (std::vector<std::string>{"url", "events"}));
  EXPECT_EQ(ErrorFields(R"({"url":"/relative","events":["customer.created","nope",7]})", true),
            (std::vector<std::string>{"url", "events[1]", "events[2]"}));
  EXPECT_EQ(ErrorFields(R"({"url":"https://user:pw@example.com/"})", false),
            (std::vector<std::string>{"url"}));
  EXPECT_EQ(ErrorFields(R"({"url":"https:///nohost"})", false), (std::vector<std::string>{"url"}));
  EXPECT_EQ(ErrorFields(R"({"enabled":"yes","secret":"x"})", false),
            (std::vector<std::string>{"enabled", "secret"}));
  const std::string long_url = R"({"url":"https://example.com/)" + std::string(2040, 'a') + R"("})";
  EXPECT_EQ(ErrorFields(long_url.c_str(), false), (std::vector<std::string>{"url"}));
}

}  // namespace
}  // namespace kontor::webhooks
