// Campaigns against both databases: snapshot and chunked expansion (resuming
// without duplicates or gaps), consent and preferences, push fan-out to
// devices, A/B variants, local time, rate limits, frequency caps and quiet
// hours, pause/resume/cancel against the dispatcher's claim, completion, and
// the job that drives it all.
#include "messaging/campaigns.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "messaging/outbox.h"
#include "messaging/template_store.h"
#include "store/test_fixture.h"

namespace kontor::messaging {
namespace {

// 2026-01-05 10:00 UTC, a Monday.
constexpr int64_t kT0 = 1767607200000;
constexpr int64_t kHour = 3600000;

class CampaignsTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    store::DatabaseTest::SetUp();
    if (IsSkipped()) return;
    jobs_ = std::make_unique<jobs::JobService>(db(), clock_, jobs::Options{"test-node"});
    MakeService();
    jobs_->RegisterKind(service_->JobKind());
    TemplateStore templates(db());
    TemplateCheck check;
    auto put = [&](const std::string& key, json::object body) {
      body["sample"] = {{"campaign", {{"offer", "x"}}}, {"customer", {{"first_name", "A"}}}};
      auto r = templates.Put(actor(), key, body, std::nullopt, &check);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    };
    put("offer",
        {{"name", "Offer"},
         {"channel", "email"},
         {"default_language", "en"},
         {"languages",
          {{"en",
            {{"subject", "Hi {{customer.first_name}}"}, {"text", "{{campaign.offer}} for you"}}},
           {"de",
            {{"subject", "Hallo {{customer.first_name}}"}, {"text", "{{campaign.offer}}"}}}}}});
    put("offer_b", {{"name", "Offer B"},
                    {"channel", "email"},
                    {"default_language", "en"},
                    {"languages", {{"en", {{"subject", "B"}, {"text", "variant b"}}}}}});
    put("ping", {{"name", "Ping"},
                 {"channel", "push"},
                 {"default_language", "en"},
                 {"languages", {{"en", {{"title", "Ping"}, {"body", "{{campaign.offer}}"}}}}}});
  }

  void MakeService() {
    service_ = std::make_unique<CampaignService>(db(), clock_, *jobs_, ChannelProviders{}, options_,
                                                 nullptr);
  }

  audit::Actor actor() {
    audit::Actor a = audit::Actor::System("test", clock_.NowMs());
    a.label = "tester";
    return a;
  }

  // Customers c1..cn (ids in order), each with email consent unless
  // `consent` says otherwise; returns their ids.
  std::vector<int64_t> Customers(int n, const std::string& time_zone = "", bool consent = true,
                                 const std::string& prefix = "c") {
    std::vector<int64_t> ids;
    Status st = db().Transact([&](store::Connection& c) -> Status {
      for (int i = 1; i <= n; ++i) {
        const std::string ext = prefix + std::to_string(i);
        ASSIGN_OR_RETURN(
            auto row,
            c.QueryRow("INSERT INTO customers (external_id, first_name, email, "
                       "language, time_zone, created_at, updated_at) VALUES (?, ?, ?, "
                       "'en', ?, ?, ?) RETURNING id",
                       {ext, "N" + std::to_string(i), ext + "@example.com",
                        time_zone.empty() ? store::Value() : store::Value(time_zone), kT0, kT0}));
        ids.push_back(row->Int(0));
        if (consent) {
          for (const char* ch : {"email", "push", "sms"}) {
            RETURN_IF_ERROR(c.Execute("INSERT INTO consents (customer_id, channel, status, at) "
                                      "VALUES (?, ?, 'granted', ?)",
                                      {ids.back(), ch, kT0})
                                .status());
          }
        }
      }
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return ids;
  }

  int64_t List(const std::vector<int64_t>& members, const std::string& key = "list") {
    int64_t id = 0;
    Status st = db().Transact([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(auto row,
                       c.QueryRow("INSERT INTO lists (key, name, kind, created_at, "
                                  "updated_at) VALUES (?, ?, 'static', ?, ?) RETURNING id",
                                  {key, key, kT0, kT0}));
      id = row->Int(0);
      for (int64_t m : members) {
        RETURN_IF_ERROR(c.Execute("INSERT INTO list_members (list_id, customer_id, added_at) "
                                  "VALUES (?, ?, ?)",
                                  {id, m, kT0})
                            .status());
      }
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  Campaign Create(json::object body) {
    auto c = service_->Create(actor(), body);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Campaign{};
  }

  json::object EmailBody(int64_t list_id) {
    return {{"name", "Spring"},
            {"channel", "email"},
            {"template_key", "offer"},
            {"audience", {{"list_id", list_id}}},
            {"data", {{"offer", "20% off"}}}};
  }

  // Schedules and runs the campaign's expansion to the end.
  Campaign Send(int64_t id) {
    auto s = service_->Schedule(actor(), id);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    auto r = service_->Run(id);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *service_->Get(id);
  }

  struct Row {
    int64_t id, customer_id;
    std::string status, recipient, template_key, content;
    std::optional<int64_t> next_attempt_at, device_id;
    std::string error_message;
  };
  std::vector<Row> Messages(int64_t campaign) {
    auto rows = db().Execute(
        "SELECT id, customer_id, status, recipient, template_key, content, "
        "next_attempt_at, device_id, error_message FROM messages WHERE "
        "campaign_id = ? ORDER BY id",
        {campaign});
    EXPECT_TRUE(rows.ok());
    std::vector<Row> out;
    for (const auto& r : rows->rows)
      out.push_back({r.Int(0), r.Int(1), r.Str(2), r.Str(3), r.Str(4), r.Str(5), r.OptInt(6),
                     r.OptInt(7), r.Str(8)});
    return out;
  }

  FakeClock clock_{kT0};
  CampaignOptions options_;
  std::unique_ptr<jobs::JobService> jobs_;
  std::unique_ptr<CampaignService> service_;
};

TEST_P(CampaignsTest, SnapshotsExpandsAndCompletes) {
  options_.chunk = 7;
  MakeService();
  auto ids = Customers(20);
  auto without = Customers(3, "", /*consent=*/false, "nc");
  std::vector<int64_t> members = ids;
  members.insert(members.end(), without.begin(), without.end());
  Campaign cp = Create(EmailBody(List(members)));
  EXPECT_EQ(cp.state, "draft");
  cp = Send(cp.id);
  EXPECT_EQ(cp.state, "sending");
  EXPECT_EQ(cp.counts.audience, 23);
  EXPECT_EQ(cp.counts.queued, 20);
  EXPECT_EQ(cp.counts.suppressed, 3);
  auto msgs = Messages(cp.id);
  ASSERT_EQ(msgs.size(), 23u);
  std::set<int64_t> customers;
  for (const auto& m : msgs) {
    customers.insert(m.customer_id);
    if (m.status == "queued") {
      EXPECT_NE(m.content.find("20% off for you"), std::string::npos) << m.content;
      EXPECT_NE(m.content.find("Hi N"), std::string::npos) << m.content;
      EXPECT_EQ(m.next_attempt_at, kT0);
    } else {
      EXPECT_EQ(m.error_message, "no email consent for marketing");
    }
  }
  EXPECT_EQ(customers.size(), 23u);
  // Messages still out: not completed.
  EXPECT_FALSE(*service_->CheckCompletion(cp.id));
  ASSERT_TRUE(db().Execute("UPDATE messages SET status = 'sent', next_attempt_at = NULL WHERE "
                           "campaign_id = ? AND status = 'queued'",
                           {cp.id})
                  .ok());
  EXPECT_TRUE(*service_->CheckCompletion(cp.id));
  cp = *service_->Get(cp.id);
  EXPECT_EQ(cp.state, "completed");
  EXPECT_TRUE(cp.completed_at.has_value());
  EXPECT_EQ(cp.counts.sent, 20);
  // A snapshot: customers added to the list later are not sent to.
  auto later =
      db().Execute("SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ?", {cp.id});
  EXPECT_EQ(later->rows[0].Int(0), 23);
}

TEST_P(CampaignsTest, ResumesExpansionWithoutDuplicatesOrGaps) {
  options_.chunk = 4;
  MakeService();
  auto ids = Customers(30);
  Campaign cp = Create(EmailBody(List(ids)));
  ASSERT_TRUE(service_->Schedule(actor(), cp.id).ok());
  ASSERT_TRUE(service_->Start(cp.id).ok());
  ASSERT_TRUE(service_->Start(cp.id).ok());  // a second start changes nothing
  ASSERT_TRUE(*service_->ExpandChunk(cp.id));
  ASSERT_TRUE(*service_->ExpandChunk(cp.id));
  EXPECT_EQ(Messages(cp.id).size(), 8u);
  // The process dies here; another one picks the job up.
  options_.chunk = 5;
  MakeService();
  ASSERT_TRUE(service_->Run(cp.id).ok());
  auto msgs = Messages(cp.id);
  ASSERT_EQ(msgs.size(), 30u);
  std::set<int64_t> customers;
  for (const auto& m : msgs) customers.insert(m.customer_id);
  EXPECT_EQ(customers, std::set<int64_t>(ids.begin(), ids.end()));
  // Running again after the end adds nothing.
  ASSERT_TRUE(service_->Run(cp.id).ok());
  EXPECT_EQ(Messages(cp.id).size(), 30u);
}

TEST_P(CampaignsTest, PushGoesToEveryActiveDevice) {
  auto ids = Customers(3);
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    int n = 0;
                    for (auto [cust, status] : std::vector<std::pair<int64_t, const char*>>{
                             {ids[0], "active"}, {ids[0], "active"}, {ids[1], "unregistered"}}) {
                      RETURN_IF_ERROR(c.Execute("INSERT INTO devices (installation_id, "
                                                "customer_id, platform, token, status, "
                                                "last_seen_at, created_at, updated_at) VALUES (?, "
                                                "?, 'android', ?, ?, ?, ?, ?)",
                                                {"inst" + std::to_string(n), cust,
                                                 "tok" + std::to_string(n), status, kT0, kT0, kT0})
                                          .status());
                      ++n;
                    }
                    return Status::Ok();
                  })
                  .ok());
  Campaign cp = Create({{"name", "Ping"},
                        {"channel", "push"},
                        {"template_key", "ping"},
                        {"audience", {{"list_id", List(ids)}}},
                        {"data", {{"offer", "now"}}}});
  cp = Send(cp.id);
  auto msgs = Messages(cp.id);
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(msgs[0].recipient, "tok0");
  EXPECT_EQ(msgs[1].recipient, "tok1");
  EXPECT_EQ(msgs[0].status, "queued");
  EXPECT_TRUE(msgs[0].device_id.has_value());
  EXPECT_EQ(msgs[2].status, "suppressed");
  EXPECT_EQ(msgs[2].error_message, "no active device");
  EXPECT_EQ(msgs[3].status, "suppressed");
}

TEST_P(CampaignsTest, AppliesPreferencesAndTheSuppressionList) {
  auto ids = Customers(3);
  ASSERT_TRUE(db().Execute("INSERT INTO suppressions (channel, recipient, reason, created_by, "
                           "created_at) VALUES ('email', 'c1@example.com', 'bounce', 't', ?)",
                           {kT0})
                  .ok());
  ASSERT_TRUE(db().Execute("INSERT INTO message_preferences (customer_id, topic, channel, "
                           "allowed, updated_at) VALUES (?, 'offers', 'email', 0, ?)",
                           {ids[1], kT0})
                  .ok());
  json::object body = EmailBody(List(ids));
  body["topic"] = "offers";
  Campaign cp = Send(Create(body).id);
  auto msgs = Messages(cp.id);
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].status, "suppressed");
  EXPECT_EQ(msgs[0].error_message, "suppressed");
  EXPECT_EQ(msgs[1].status, "suppressed");
  EXPECT_EQ(msgs[1].error_message, "opted_out:offers");
  EXPECT_EQ(msgs[2].status, "queued");
}

TEST_P(CampaignsTest, SplitsVariantsDeterministically) {
  auto ids = Customers(400);
  json::object body = EmailBody(List(ids));
  body.erase("template_key");
  body["variants"] = json::array{{{"key", "A"}, {"template_key", "offer"}, {"percent", 30}},
                                 {{"key", "B"}, {"template_key", "offer_b"}, {"percent", 70}}};
  Campaign cp = Send(Create(body).id);
  std::map<std::string, int> by_template;
  for (const auto& m : Messages(cp.id)) {
    ++by_template[m.template_key];
    EXPECT_EQ(m.template_key,
              cp.in.variants[PickVariant(cp.id, m.customer_id, cp.in.variants)].template_key);
  }
  EXPECT_EQ(by_template["offer"] + by_template["offer_b"], 400);
  EXPECT_GT(by_template["offer"], 80);
  EXPECT_LT(by_template["offer"], 160);
  // The same customer always gets the same variant of a campaign, and the
  // split differs between campaigns.
  int differ = 0;
  for (int64_t c : ids) {
    EXPECT_EQ(PickVariant(cp.id, c, cp.in.variants), PickVariant(cp.id, c, cp.in.variants));
    differ += PickVariant(cp.id, c, cp.in.variants) != PickVariant(cp.id + 1, c, cp.in.variants);
  }
  EXPECT_GT(differ, 50);
}

TEST_P(CampaignsTest, LocalTimeUsesEachRecipientsZone) {
  auto berlin = Customers(1, "Europe/Berlin", true, "be");
  auto ny = Customers(1, "America/New_York", true, "ny");
  auto none = Customers(1, "", true, "utc");
  std::vector<int64_t> all{berlin[0], ny[0], none[0]};
  json::object body = EmailBody(List(all));
  body["send_at"] = "2026-01-06T09:00:00Z";  // tomorrow 09:00 wall clock
  body["local_time"] = true;
  Campaign cp = Create(body);
  ASSERT_TRUE(service_->Schedule(actor(), cp.id).ok());
  // Not due before the earliest zone (UTC+14) reaches 09:00.
  ASSERT_TRUE(service_->Run(cp.id).ok());
  EXPECT_EQ(service_->Get(cp.id)->state, "scheduled");
  clock_.SetMs(ParseRfc3339("2026-01-05T19:00:00Z").value());
  ASSERT_TRUE(service_->Run(cp.id).ok());
  std::map<int64_t, int64_t> due;
  for (const auto& m : Messages(cp.id)) due[m.customer_id] = m.next_attempt_at.value_or(0);
  EXPECT_EQ(due[berlin[0]], ParseRfc3339("2026-01-06T08:00:00Z").value());
  EXPECT_EQ(due[ny[0]], ParseRfc3339("2026-01-06T14:00:00Z").value());
  EXPECT_EQ(due[none[0]], ParseRfc3339("2026-01-06T09:00:00Z").value());
}

TEST_P(CampaignsTest, SpreadsDueTimesByRateLimit) {
  options_.chunk = 3;
  MakeService();
  auto ids = Customers(7);
  json::object body = EmailBody(List(ids));
  body["rate_limit_per_minute"] = 120;
  Campaign cp = Send(Create(body).id);
  auto msgs = Messages(cp.id);
  ASSERT_EQ(msgs.size(), 7u);
  for (size_t i = 0; i < msgs.size(); ++i)
    EXPECT_EQ(msgs[i].next_attempt_at, kT0 + static_cast<int64_t>(i) * 500) << i;
}

TEST_P(CampaignsTest, FrequencyCapAndQuietHours) {
  options_.policy.caps["email"] = *ParseFrequencyCap("1/24h");
  options_.policy.quiet = *ParseQuietHours("21:00-08:00");
  MakeService();
  auto ids = Customers(2, "Europe/Berlin");
  // c1 got a marketing email an hour ago.
  NewMessage m;
  m.purpose = "marketing";
  m.channel = "email";
  m.provider = "capture";
  m.customer_id = ids[0];
  m.recipient = "c1@example.com";
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    return Outbox::Enqueue(c, kT0 - kHour, {m}).status();
                  })
                  .ok());
  json::object body = EmailBody(List(ids));
  body["send_at"] = "2026-01-05T21:30:00Z";  // 22:30 in Berlin: quiet
  Campaign cp = Create(body);
  ASSERT_TRUE(service_->Schedule(actor(), cp.id).ok());
  clock_.SetMs(ParseRfc3339("2026-01-05T21:30:00Z").value());
  ASSERT_TRUE(service_->Run(cp.id).ok());
  auto msgs = Messages(cp.id);
  ASSERT_EQ(msgs.size(), 2u);
  // c1's email 12.5 hours ago is inside the 24h window: capped.
  EXPECT_EQ(msgs[0].customer_id, ids[0]);
  EXPECT_EQ(msgs[0].status, "suppressed");
  EXPECT_EQ(msgs[0].error_message, "frequency_cap");
  // c2 is due at 22:30 Berlin time, deferred to 08:00 there.
  EXPECT_EQ(msgs[1].status, "queued");
  EXPECT_EQ(msgs[1].next_attempt_at, ParseRfc3339("2026-01-06T07:00:00Z").value());
}

TEST_P(CampaignsTest, PauseResumeAndCancelReachTheDispatcher) {
  auto ids = Customers(6);
  Campaign cp = Send(Create(EmailBody(List(ids))).id);
  Outbox outbox(db(), "worker");
  // One batch goes out before the pause.
  auto first = outbox.Claim("bulk", kT0, 60000, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  ASSERT_TRUE(service_->Pause(actor(), cp.id).ok());
  EXPECT_EQ(service_->Pause(actor(), cp.id).status().code(), StatusCode::kFailedPrecondition);
  auto none = outbox.Claim("bulk", kT0 + 1000, 60000, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // The batch in flight fails temporarily and comes back while paused: the
  // claim sets it aside again.
  std::vector<Outcome> retry(2, Outcome::Error(Outcome::Kind::kRetry, "x", "later"));
  ASSERT_EQ(*outbox.Record(*first, retry, kT0 + 1000, Outbox::Retry{10, 10, 10}), 2);
  none = outbox.Claim("bulk", kT0 + 2000, 60000, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(service_->Get(cp.id)->state, "paused");
  EXPECT_FALSE(*service_->CheckCompletion(cp.id) && service_->Get(cp.id)->state == "completed");

  ASSERT_TRUE(service_->Resume(actor(), cp.id).ok());
  auto all = outbox.Claim("bulk", kT0 + 3000, 60000, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 6u);
  std::vector<Outcome> sent;
  for (size_t i = 0; i < 3; ++i) sent.push_back(Outcome::Sent("p"));
  for (size_t i = 3; i < 6; ++i)
    sent.push_back(Outcome::Error(Outcome::Kind::kRetry, "x", "later"));
  ASSERT_EQ(*outbox.Record(*all, sent, kT0 + 3000, Outbox::Retry{10, 10, 10}), 6);

  cp = *service_->Cancel(actor(), cp.id);
  EXPECT_EQ(cp.state, "cancelled");
  EXPECT_EQ(cp.counts.sent, 3);
  EXPECT_EQ(cp.counts.cancelled, 3);
  EXPECT_EQ(service_->Resume(actor(), cp.id).status().code(), StatusCode::kFailedPrecondition);
  auto after = outbox.Claim("bulk", kT0 + 10000, 60000, 100);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  // Every change is in the audit log.
  auto audit = db().Execute(
      "SELECT action FROM audit_log WHERE resource_type = 'campaign' AND "
      "resource_id = ? ORDER BY id",
      {std::to_string(cp.id)});
  ASSERT_TRUE(audit.ok());
  std::vector<std::string> actions;
  for (const auto& r : audit->rows) actions.push_back(r.Str(0));
  EXPECT_EQ(actions,
            (std::vector<std::string>{"campaign.create", "campaign.schedule", "campaign.start",
                                      "campaign.pause", "campaign.resume", "campaign.cancel"}));
}

TEST_P(CampaignsTest, ChecksInputAndStates) {
  auto ids = Customers(1);
  const int64_t list = List(ids);
  auto fields = [&](json::object body) {
    auto r = service_->Create(actor(), body);
    std::set<std::string> out;
    EXPECT_FALSE(r.ok());
    if (!r.ok())
      for (const auto& e : r.status().fields()) out.insert(e.field);
    return out;
  };
  json::object body = EmailBody(list);
  body["channel"] = "fax";
  EXPECT_EQ(fields(body), std::set<std::string>{"channel"});
  body = EmailBody(list);
  body["template_key"] = "ping";  // a push template
  EXPECT_EQ(fields(body), std::set<std::string>{"template_key"});
  body = EmailBody(9999);
  EXPECT_EQ(fields(body), std::set<std::string>{"audience.list_id"});
  body = EmailBody(list);
  body["variants"] = json::array{{{"key", "A"}, {"template_key", "offer"}, {"percent", 60}}};
  EXPECT_EQ(fields(body), std::set<std::string>{"variants"});
  body = EmailBody(list);
  body["send_at"] = "tomorrow";
  body["color"] = "red";
  EXPECT_EQ(fields(body), (std::set<std::string>{"send_at", "color"}));
  body = EmailBody(list);
  body["local_time"] = true;
  EXPECT_EQ(fields(body), std::set<std::string>{"local_time"});
  auto count = db().Execute("SELECT COUNT(*) FROM campaigns");
  EXPECT_EQ(count->rows[0].Int(0), 0);

  Campaign cp = Create(EmailBody(list));
  auto patched = service_->Update(actor(), cp.id, {{"name", "Renamed"}}, cp.version);
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->in.name, "Renamed");
  EXPECT_EQ(patched->in.template_key, "offer");
  EXPECT_EQ(service_->Update(actor(), cp.id, {{"name", "x"}}, cp.version).status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(service_->Pause(actor(), cp.id).status().code(), StatusCode::kFailedPrecondition);
  cp = Send(cp.id);
  EXPECT_EQ(service_->Update(actor(), cp.id, {{"name", "y"}}, std::nullopt).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->Delete(actor(), cp.id).code(), StatusCode::kFailedPrecondition);
}

TEST_P(CampaignsTest, TheJobStartsWhenDueAndChecksUntilComplete) {
  auto ids = Customers(5);
  json::object body = EmailBody(List(ids));
  body["send_at"] = "2026-01-05T11:00:00Z";
  Campaign cp = Create(body);
  ASSERT_TRUE(service_->Schedule(actor(), cp.id).ok());
  jobs_->RunOnce();
  EXPECT_EQ(service_->Get(cp.id)->state, "scheduled");
  // Moved an hour later: the first job finds it not due, the new one starts it.
  auto moved =
      service_->Update(actor(), cp.id, {{"send_at", "2026-01-05T12:00:00Z"}}, std::nullopt);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  clock_.SetMs(ParseRfc3339("2026-01-05T11:00:00Z").value());
  jobs_->RunOnce();
  EXPECT_EQ(service_->Get(cp.id)->state, "scheduled");
  clock_.SetMs(ParseRfc3339("2026-01-05T12:00:00Z").value());
  jobs_->RunOnce();
  cp = *service_->Get(cp.id);
  EXPECT_EQ(cp.state, "sending");
  EXPECT_EQ(cp.counts.queued, 5);
  ASSERT_TRUE(db().Execute("UPDATE messages SET status = 'sent', next_attempt_at = NULL WHERE "
                           "campaign_id = ?",
                           {cp.id})
                  .ok());
  clock_.Advance(std::chrono::minutes(1));
  jobs_->RunOnce();
  EXPECT_EQ(service_->Get(cp.id)->state, "completed");
}

// KONTOR_CAMPAIGN_BENCH=1: the snapshot of 1,000,000 customers (one
// statement) and the expansion rate, with the figures printed.
TEST_P(CampaignsTest, BenchSnapshotOfAMillion) {
  if (!std::getenv("KONTOR_CAMPAIGN_BENCH")) GTEST_SKIP() << "set KONTOR_CAMPAIGN_BENCH=1";
  constexpr int64_t kN = 1000000;
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    store::Params rows;
                    for (int64_t i = 0; i < kN; ++i) {
                      for (store::Value v : {store::Value("b" + std::to_string(i)),
                                             store::Value("b" + std::to_string(i) + "@example.com"),
                                             store::Value(kT0), store::Value(kT0)})
                        rows.push_back(std::move(v));
                    }
                    RETURN_IF_ERROR(store::InsertMany(c,
                                                      "INSERT INTO customers (external_id, email, "
                                                      "created_at, updated_at) VALUES",
                                                      4, std::move(rows)));
                    RETURN_IF_ERROR(
                        c.Execute("INSERT INTO consents (customer_id, channel, status, at) "
                                  "SELECT id, 'email', 'granted', 0 FROM customers")
                            .status());
                    RETURN_IF_ERROR(c.Execute("INSERT INTO segments (key, name, rule, created_at, "
                                              "updated_at) VALUES ('all', 'all', '{\"consent\": "
                                              "\"email\"}', 0, 0)")
                                        .status());
                    return Status::Ok();
                  })
                  .ok());
  auto seg = db().QueryRow("SELECT id FROM segments WHERE key = 'all'");
  Campaign cp = Create({{"name", "Bench"},
                        {"channel", "email"},
                        {"template_key", "offer"},
                        {"audience", {{"segment_id", (*seg)->Int(0)}}},
                        {"data", {{"offer", "x"}}}});
  ASSERT_TRUE(service_->Schedule(actor(), cp.id).ok());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(service_->Start(cp.id).ok());
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(service_->Get(cp.id)->audience_count, kN);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(*service_->ExpandChunk(cp.id));
  auto t2 = std::chrono::steady_clock::now();
  const double snap = std::chrono::duration<double>(t1 - t0).count();
  const double expand = std::chrono::duration<double>(t2 - t1).count();
  std::printf("snapshot of %lld customers: %.2f s; expansion: %.0f recipients/s\n",
              static_cast<long long>(kN), snap, 20.0 * options_.chunk / expand);
}

INSTANTIATE_DATABASE_TEST(CampaignsTest);

}  // namespace
}  // namespace kontor::messaging
