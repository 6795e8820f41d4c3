// Frequency caps, quiet hours and the per-provider token buckets.
#include "messaging/policy.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/clock.h"
#include "messaging/dispatcher.h"
#include "messaging/outbox.h"
#include "messaging/rate_limit.h"
#include "store/test_fixture.h"

namespace kontor::messaging {
namespace {

int64_t T(const char* rfc3339) { return ParseRfc3339(rfc3339).value(); }

TEST(MessagingPolicyParse, FrequencyCaps) {
  EXPECT_FALSE(ParseFrequencyCap("")->enabled());
  auto cap = ParseFrequencyCap("3/24h");
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->max, 3);
  EXPECT_EQ(cap->window_ms, 24 * 3600000);
  EXPECT_EQ(ParseFrequencyCap("1/30m")->window_ms, 30 * 60000);
  EXPECT_EQ(ParseFrequencyCap("5/7d")->window_ms, 7 * 86400000LL);
  for (const char* bad : {"3", "3/", "/24h", "0/24h", "3/24", "3/24x", "x/24h", "3/0h", "-1/2h"})
    EXPECT_FALSE(ParseFrequencyCap(bad).ok()) << bad;
}

TEST(MessagingPolicyParse, QuietHours) {
  EXPECT_FALSE(ParseQuietHours("")->enabled());
  auto q = ParseQuietHours("21:00-08:00");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->start_minute, 21 * 60);
  EXPECT_EQ(q->end_minute, 8 * 60);
  for (const char* bad : {"21-08", "21:00", "25:00-08:00", "21:00-08:60", "9:00-10:00"})
    EXPECT_FALSE(ParseQuietHours(bad).ok()) << bad;
}

TEST(MessagingPolicyQuietHours, DefersToTheEndInTheRecipientsZone) {
  const QuietHours q = *ParseQuietHours("21:00-08:00");
  const auto* berlin = ZoneOrUtc("Europe/Berlin");
  const auto* utc = ZoneOrUtc("");
  // 20:59 Berlin: not quiet.
  EXPECT_EQ(DeferForQuietHours(q, berlin, T("2026-01-05T19:59:00Z")), T("2026-01-05T19:59:00Z"));
  // 21:00 and 23:30 Berlin → 08:00 next morning; 03:00 → 08:00 the same day.
  EXPECT_EQ(DeferForQuietHours(q, berlin, T("2026-01-05T20:00:00Z")), T("2026-01-06T07:00:00Z"));
  EXPECT_EQ(DeferForQuietHours(q, berlin, T("2026-01-05T22:30:00Z")), T("2026-01-06T07:00:00Z"));
  EXPECT_EQ(DeferForQuietHours(q, berlin, T("2026-01-06T02:00:00Z")), T("2026-01-06T07:00:00Z"));
  EXPECT_EQ(DeferForQuietHours(q, berlin, T("2026-01-06T07:00:00Z")), T("2026-01-06T07:00:00Z"));
  // The same instant in UTC is 22:30: quiet there too, ending at 08:00 UTC.
  EXPECT_EQ(DeferForQuietHours(q, utc, T("2026-01-05T22:30:00Z")), T("2026-01-06T08:00:00Z"));
  // A window within one day.
  const QuietHours lunch = *ParseQuietHours("12:00-13:30");
  EXPECT_EQ(DeferForQuietHours(lunch, utc, T("2026-01-05T12:10:00Z")), T("2026-01-05T13:30:00Z"));
  EXPECT_EQ(DeferForQuietHours(lunch, utc, T("2026-01-05T13:30:00Z")), T("2026-01-05T13:30:00Z"));
  // Unknown zones are UTC; no window defers nothing.
  EXPECT_EQ(ZoneOrUtc("Mars/Olympus"), utc);
  EXPECT_EQ(DeferForQuietHours(QuietHours{}, berlin, 5), 5);
}

TEST(MessagingPolicyQuietHours, LocalTimesAcrossDaylightSaving) {
  const auto* berlin = ZoneOrUtc("Europe/Berlin");
  // 2026-03-29 02:30 does not exist in Berlin: the gap's end (03:00 CEST).
  EXPECT_EQ(LocalToInstantMs(berlin, T("2026-03-29T02:30:00Z")), T("2026-03-29T01:00:00Z"));
  EXPECT_EQ(LocalToInstantMs(berlin, T("2026-07-01T09:00:00Z")), T("2026-07-01T07:00:00Z"));
  EXPECT_EQ(InstantToLocalMs(berlin, T("2026-07-01T07:00:00Z")), T("2026-07-01T09:00:00Z"));
}

TEST(MessagingRateLimit, BucketsGoIntoDebtAndAlertsNeverWait) {
  ProviderRateLimits limits({{"fcm", 600}, {"capture", 0}});  // 10 per second
  EXPECT_TRUE(limits.Limited("fcm"));
  EXPECT_FALSE(limits.Limited("capture"));
  EXPECT_EQ(limits.Take("capture", 1000000, true, 0), 0);
  // The bucket holds one second's worth.
  EXPECT_EQ(limits.Take("fcm", 10, true, 1000), 0);
  // 20 more: 20 tokens of debt, paid off in 2 seconds.
  EXPECT_EQ(limits.Take("fcm", 20, true, 1000), 2000);
  // An alert takes its 10 at once; the next bulk batch waits for them too.
  EXPECT_EQ(limits.Take("fcm", 10, false, 1000), 0);
  EXPECT_EQ(limits.Take("fcm", 10, true, 1000), 4000);
  // Refilled over time, up to the burst.
  EXPECT_EQ(limits.Take("fcm", 10, true, 1000 + 3000 + 60000), 0);
  EXPECT_EQ(limits.Take("fcm", 1, true, 1000 + 3000 + 60000), 100);
}

class MessagingPolicyDbTest : public store::DatabaseTest {};

TEST_P(MessagingPolicyDbTest, FrequencyCapCountsMarketingPerCustomerAndChannel) {
  const int64_t now = T("2026-01-05T12:00:00Z");
  std::vector<int64_t> ids;
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    for (int i = 0; i < 4; ++i) {
                      ASSIGN_OR_RETURN(auto row, c.QueryRow("INSERT INTO customers (external_id, "
                                                            "created_at, updated_at) VALUES (?, ?, "
                                                            "?) RETURNING id",
                                                            {"p" + std::to_string(i), now, now}));
                      ids.push_back(row->Int(0));
                    }
                    auto msg = [&](int64_t customer, const char* purpose, const char* channel,
                                   int64_t at, std::optional<int64_t> campaign) {
                      NewMessage m;
                      m.purpose = purpose;
                      m.channel = channel;
                      m.provider = "capture";
                      m.customer_id = customer;
                      m.campaign_id = campaign;
                      m.recipient = "r";
                      return Outbox::Enqueue(c, at, {m}).status();
                    };
                    // p0: two marketing emails today → capped at 2/24h.
                    RETURN_IF_ERROR(msg(ids[0], "marketing", "email", now - 3600000, std::nullopt));
                    RETURN_IF_ERROR(msg(ids[0], "marketing", "email", now - 7200000, 77));
                    // p1: one today, one two days ago, and transactional ones.
                    RETURN_IF_ERROR(msg(ids[1], "marketing", "email", now - 3600000, std::nullopt));
                    RETURN_IF_ERROR(msg(ids[1], "marketing", "email", now - 2 * 86400000, 5));
                    RETURN_IF_ERROR(
                        msg(ids[1], "transactional", "email", now - 60000, std::nullopt));
                    // p2: two pushes of one campaign (two devices) count once,
                    // and two SMS do not count for email.
                    RETURN_IF_ERROR(msg(ids[2], "marketing", "push", now - 60000, 9));
                    RETURN_IF_ERROR(msg(ids[2], "marketing", "push", now - 60000, 9));
                    RETURN_IF_ERROR(msg(ids[2], "marketing", "sms", now - 60000, std::nullopt));
                    RETURN_IF_ERROR(msg(ids[2], "marketing", "sms", now - 60000, std::nullopt));
                    // p3: two of the campaign being expanded do not count.
                    RETURN_IF_ERROR(msg(ids[3], "marketing", "email", now - 60000, 42));
                    RETURN_IF_ERROR(msg(ids[3], "marketing", "email", now - 60000, 42));
                    return Status::Ok();
                  })
                  .ok());
  const FrequencyCap cap = *ParseFrequencyCap("2/24h");
  auto over = [&](const std::string& channel) {
    std::set<int64_t> out;
    Status st = db().WithConnection([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(out, OverFrequencyCap(c, channel, cap, ids, now, 42));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  };
  EXPECT_EQ(over("email"), std::set<int64_t>{ids[0]});
  EXPECT_EQ(over("push"), std::set<int64_t>{});
  EXPECT_EQ(over("sms"), std::set<int64_t>{ids[2]});
}

// The dispatcher takes a batch's tokens before sending it: a bulk batch over
// the bucket waits, an alert batch does not.
TEST_P(MessagingPolicyDbTest, DispatcherWaitsForTokensExceptForAlerts) {
  FakeClock clock(T("2026-01-05T12:00:00Z"));
  struct Accept : Provider {
    std::string_view name() const override { return "limited"; }
    std::string_view channel() const override { return "sms"; }
    std::vector<Outcome> Send(const std::vector<Outgoing>& b) override {
      return std::vector<Outcome>(b.size(), Outcome::Sent("x"));
    }
  };
  DispatcherOptions o;
  o.node_id = "n";
  // 6000 a minute: 100 a second, a bucket of 100.
  o.rate_limits =
      std::make_shared<ProviderRateLimits>(std::map<std::string, int64_t>{{"limited", 6000}});
  Dispatcher d(
      db(), clock,
      [](const std::string&) -> Result<std::unique_ptr<Provider>> {
        return std::unique_ptr<Provider>(std::make_unique<Accept>());
      },
      o);
  auto queue = [&](const std::string& lane, int n) {
    std::vector<NewMessage> msgs(n);
    for (NewMessage& m : msgs) {
      m.lane = lane;
      m.channel = "sms";
      m.provider = "limited";
      m.recipient = "+49301";
    }
    ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                      return Outbox::EnqueueBulk(c, clock.NowMs(), msgs);
                    })
                    .ok());
  };
  const ProviderFactory factory = [](const std::string&) -> Result<std::unique_ptr<Provider>> {
    return std::unique_ptr<Provider>(std::make_unique<Accept>());
  };
  Dispatcher::Providers providers(factory);
  queue("bulk", 150);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(*d.RunOnce("bulk", providers), 150);  // 50 tokens of debt: half a second
  const auto bulk_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_GE(bulk_ms, 450);
  queue("alert", 40);
  t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(*d.RunOnce("alert", providers), 40);
  const auto alert_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_LT(alert_ms, bulk_ms);
  EXPECT_LT(alert_ms, 400);
}

INSTANTIATE_DATABASE_TEST(MessagingPolicyDbTest);

}  // namespace
}  // namespace kontor::messaging
