#include "messaging/provider_health.h"

#include <gtest/gtest.h>

#include "audit/audit.h"
#include "messaging/outbox.h"
#include "store/test_fixture.h"

namespace kontor::messaging {
namespace {

constexpr int64_t kT0 = 1767225600000;

class ProviderHealthTest : public store::DatabaseTest {
 protected:
  json::object Item(ProviderHealth& h, const std::string& name) {
    auto list = h.List({{"capture", "email"}, {name, "push"}});
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    for (const auto& v : *list) {
      if (v.at("name").as_string() == name) return v.as_object();
    }
    return {};
  }
  int64_t AuditCount(const std::string& action) {
    audit::Filter f;
    f.action = action;
    auto page = audit::Query(db(), f);
    EXPECT_TRUE(page.ok());
    return page.ok() ? static_cast<int64_t>(page->items.size()) : -1;
  }
  FakeClock clock_{kT0};
};

TEST_P(ProviderHealthTest, PausedWithReasonUntilAndAuditThenResumed) {
  ProviderHealth h(db(), clock_, 60000);
  json::object o = Item(h, "apns");
  EXPECT_EQ(o.at("state").as_string(), "ok");
  EXPECT_TRUE(o.at("paused_reason").is_null());
  EXPECT_EQ(o.at("queued").as_int64(), 0);

  h.Report("apns", "push", {Outcome::Error(Outcome::Kind::kRetry, "TooManyRequests", "slow down")});
  o = Item(h, "apns");
  EXPECT_EQ(o.at("state").as_string(), "ok");
  EXPECT_EQ(o.at("last_error").as_string(), "TooManyRequests: slow down");

  const auto bad = Outcome::Error(Outcome::Kind::kPaused, "InvalidProviderToken", "403");
  h.Report("apns", "push", {bad, bad});
  clock_.Advance(std::chrono::milliseconds(1000));
  h.Report("apns", "push", {bad});  // still paused: no second audit entry
  o = Item(h, "apns");
  EXPECT_EQ(o.at("state").as_string(), "paused");
  EXPECT_EQ(o.at("paused_reason").as_string(), "InvalidProviderToken: 403");
  EXPECT_EQ(o.at("paused_until").as_string(), FormatRfc3339(kT0 + 60000));
  EXPECT_EQ(AuditCount("messaging.provider.paused"), 1);

  // Another process (node) sees the stored state.
  ProviderHealth other(db(), clock_, 60000);
  EXPECT_EQ(Item(other, "apns").at("state").as_string(), "paused");

  h.Report("apns", "push", {Outcome::Sent("id-1")});
  o = Item(h, "apns");
  EXPECT_EQ(o.at("state").as_string(), "ok");
  EXPECT_TRUE(o.at("paused_until").is_null());
  EXPECT_EQ(o.at("last_error").as_string(), "InvalidProviderToken: 403");
  EXPECT_EQ(AuditCount("messaging.provider.resumed"), 1);
}

TEST_P(ProviderHealthTest, CountsQueuedAndLastHour) {
  NewMessage m;
  m.channel = "push";
  m.provider = "apns";
  m.recipient = "ab";
  m.content = {{"title", "t"}};
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    return Outbox::Enqueue(c, kT0, {m, m, m}).status();
                  })
                  .ok());
  ASSERT_TRUE(
      db().Execute("UPDATE messages SET status = 'sent', sent_at = ? WHERE id = 1", {kT0}).ok());
  ASSERT_TRUE(db().Execute("UPDATE messages SET status = 'failed', updated_at = ? WHERE id = 2",
                           {kT0 - 2 * 3600000})
                  .ok());
  ProviderHealth h(db(), clock_, 60000);
  json::object o = Item(h, "apns");
  EXPECT_EQ(o.at("queued").as_int64(), 1);
  EXPECT_EQ(o.at("sent_1h").as_int64(), 1);
  EXPECT_EQ(o.at("failed_1h").as_int64(), 0);  // failed two hours ago
}

INSTANTIATE_DATABASE_TEST(ProviderHealthTest);

}  // namespace
}  // namespace kontor::messaging
