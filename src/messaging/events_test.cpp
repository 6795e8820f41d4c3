// Events and triggers on both databases: the group-committing writer (each
// request gets its own result, idempotency inside and across batches,
// unknown customers refused without storing anything), trigger conditions,
// and the processor (exactly once, channel fallback, delay, dedupe, topic
// opt-outs).
#include "messaging/events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "messaging/preferences.h"
#include "messaging/template_store.h"
#include "messaging/triggers.h"
#include "store/test_fixture.h"

namespace kontor::messaging {
namespace {

constexpr int64_t kT0 = 1767225600000;

json::value J(const char* s) { return json::parse(s); }

TEST(EventsConditionTest, ComparesTypedAndTwoValued) {
  auto c = Condition::Compile(J(R"({"all":[{"field":"data.total","op":"gte","value":100},
    {"not":{"field":"data.country","op":"in","value":["US","CA"]}},
    {"any":[{"field":"data.vip","op":"eq","value":true},{"field":"data.order.id","op":"exists"}]}]})"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto ev = [](const char* data) {
    return json::object{{"type", "t"}, {"data", json::parse(data)}};
  };
  EXPECT_TRUE(c->Matches(ev(R"({"total":100,"country":"DE","vip":true})")));
  EXPECT_TRUE(c->Matches(ev(R"({"total":100.5,"order":{"id":"x"}})")));
  EXPECT_FALSE(c->Matches(ev(R"({"total":99,"country":"DE","vip":true})")));
  EXPECT_FALSE(c->Matches(ev(R"({"total":"100","vip":true})")));  // a string is not a number
  EXPECT_FALSE(c->Matches(ev(R"({"total":150,"country":"US","vip":true})")));
  EXPECT_FALSE(c->Matches(ev(R"({"total":150,"order":{"id":null}})")));

  auto ne = Condition::Compile(J(R"({"field":"data.status","op":"ne","value":"x"})"));
  ASSERT_TRUE(ne.ok());
  EXPECT_TRUE(ne->Matches(ev("{}")));  // ne is the complement of eq
  EXPECT_FALSE(ne->Matches(ev(R"({"status":"x"})")));
  auto always = Condition::Compile(json::value(nullptr));
  ASSERT_TRUE(always.ok());
  EXPECT_TRUE(always->Matches(ev("{}")));
}

TEST(EventsConditionTest, ErrorsNameTheField) {
  auto field_of = [](const char* rule) {
    auto c = Condition::Compile(J(rule));
    return c.ok() || c.status().fields().empty() ? std::string("ok")
                                                 : c.status().fields().front().field;
  };
  EXPECT_EQ(field_of(R"({"field":"total","op":"eq","value":1})"), "condition.field");
  EXPECT_EQ(
      field_of(
          R"({"all":[{"field":"data.a","op":"eq","value":1},{"field":"data.b","op":"like","value":1}]})"),
      "condition.all[1].op");
  EXPECT_EQ(field_of(R"({"field":"data.a","op":"in","value":"x"})"), "condition.value");
  EXPECT_EQ(field_of(R"({"field":"data.a","op":"exists","value":1})"), "condition.value");
  EXPECT_EQ(field_of(R"({"field":"data.a","op":"lt","value":true})"), "condition.value");
  EXPECT_EQ(field_of(R"({"any":[]})"), "condition.any");
  EXPECT_EQ(field_of(R"({"not":{"field":"data.a","op":"eq"}})"), "condition.not.value");
  EXPECT_EQ(field_of(R"({"field":"data.a","op":"eq","value":1,"x":2})"), "condition.x");
  EXPECT_EQ(field_of("[1]"), "condition");
}

TEST(EventsParseTest, ValidatesTheBody) {
  auto field_of = [](const char* body) {
    auto r = ParseEvent(J(body).as_object(), std::nullopt);
    return r.ok() ? std::string("ok") : r.status().fields().front().field;
  };
  EXPECT_EQ(field_of(R"({"type":"a.b","customer":"c1","data":{"x":1}})"), "ok");
  EXPECT_EQ(field_of(R"({"customer":"c1"})"), "type");
  EXPECT_EQ(field_of(R"({"type":"a b","customer":"c1"})"), "type");
  EXPECT_EQ(field_of(R"({"type":"a"})"), "customer");
  EXPECT_EQ(field_of(R"({"type":"a","customer":"c","installation_id":"i"})"), "installation_id");
  EXPECT_EQ(field_of(R"({"type":"a","customer":"c","data":[]})"), "data");
  EXPECT_EQ(field_of(R"({"type":"a","customer":"c","occurred_at":"x"})"), "occurred_at");
  EXPECT_EQ(field_of(R"({"type":"a","customer":"c","zzz":1})"), "zzz");
  json::object big{
      {"type", "a"}, {"customer", "c"}, {"data", json::object{{"x", std::string(20000, 'x')}}}};
  auto r = ParseEvent(big, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().fields().front().field, "data");
  auto keyed = ParseEvent(J(R"({"type":"a","customer":"c"})").as_object(), std::string("k1"));
  ASSERT_TRUE(keyed.ok());
  EXPECT_EQ(keyed->idempotency_key, "k1");
  EXPECT_FALSE(keyed->request_hash.empty());
}

class EventsDbTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    store::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    clock_.SetMs(kT0);
    Customer("anna", "anna@example.com", "+4930111");
    Customer("bob", "bob@example.com", "+4930222");
    ASSERT_TRUE(db().Execute("INSERT INTO devices (installation_id, customer_id, platform, token, "
                             "last_seen_at, created_at, updated_at) VALUES ('inst-anna', "
                             "(SELECT id FROM customers WHERE external_id = 'anna'), 'android', "
                             "'tok-anna', 0, 0, 0)")
                    .ok());
    TemplateStore ts(db());
    for (
        const char* body :
        {R"({"name":"p","channel":"push","default_language":"en","languages":{"en":{"title":"T","body":"{{customer.first_name}}: {{event.data.order}}"}}})",
         R"({"name":"s","channel":"sms","default_language":"en","languages":{"en":{"text":"SMS {{data.order}}"}}})"}) {
      json::object b = J(body).as_object();
      const std::string key = b["channel"] == "push" ? "shipped.push" : "shipped.sms";
      auto put = ts.Put(Actor(), key, b, std::nullopt, nullptr);
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    }
  }
  void Customer(const std::string& id, const std::string& email, const std::string& phone) {
    ASSERT_TRUE(db().Execute("INSERT INTO customers (external_id, first_name, email, phone, "
                             "language, created_at, updated_at) VALUES (?, ?, ?, ?, 'en', 0, 0)",
                             {id, "F-" + id, email, phone})
                    .ok());
  }
  audit::Actor Actor() { return audit::Actor::System("test", clock_.NowMs()); }
  EventInput Event(const std::string& type, const std::string& customer, const char* data = "{}",
                   std::optional<std::string> key = std::nullopt) {
    json::object body{{"type", type}, {"customer", customer}, {"data", J(data)}};
    auto in = ParseEvent(body, key);
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    return *in;
  }
  int64_t Count(const std::string& sql) {
    auto row = db().QueryRow(sql);
    EXPECT_TRUE(row.ok());
    return row.ok() && *row ? (*row)->Int(0) : -1;
  }
  void PutTrigger(const std::string& key, const char* body) {
    TriggerStore ts(db());
    auto r = ts.Put(Actor(), key, J(body).as_object(), std::nullopt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  FakeClock clock_{kT0};
};

TEST_P(EventsDbTest, GroupCommitAnswersEachRequestOnItsOwn) {
  EventWriter w(db(), clock_);
  std::atomic<int> commits{0};
  w.set_on_commit([&] { ++commits; });
  w.Start();
  constexpr int kThreads = 16, kEach = 20;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0}, replayed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        EventInput in = Event("order.shipped", (i % 5 == 4) ? "nobody" : "anna", "{}",
                              i == 0 ? std::optional<std::string>("same-key") : std::nullopt);
        auto r = w.Write(Actor(), in);
        if (!r.ok()) {
          EXPECT_EQ(r.status().code(), StatusCode::kValidation);
          EXPECT_EQ(r.status().fields().front().field, "customer");
          ++refused;
        } else {
          ++ok;
          if (r->replayed) ++replayed;
        }
      }
      (void)t;
    });
  }
  for (auto& th : threads) th.join();
  w.Stop();
  EXPECT_EQ(refused.load(), kThreads * kEach / 5);
  EXPECT_EQ(replayed.load(), kThreads - 1);  // one key, sent by every thread once
  EXPECT_EQ(Count("SELECT COUNT(*) FROM events"), ok.load() - replayed.load());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'event.create'"),
            ok.load() - replayed.load());
  EXPECT_GE(commits.load(), 1);
}

TEST_P(EventsDbTest, IdempotencyKeyAcrossBatchesAndConflicts) {
  EventWriter w(db(), clock_);  // not started: writes on the caller's thread
  auto a = w.Write(Actor(), Event("t", "anna", R"({"x":1})", "k1"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE(a->replayed);
  auto b = w.Write(Actor(), Event("t", "anna", R"({"x":1})", "k1"));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->replayed);
  EXPECT_EQ(b->id, a->id);
  auto c = w.Write(Actor(), Event("t", "anna", R"({"x":2})", "k1"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kConflict);
  auto dev =
      ParseEvent(J(R"({"type":"t","installation_id":"inst-anna"})").as_object(), std::nullopt);
  ASSERT_TRUE(dev.ok());
  auto d = w.Write(Actor(), *dev);
  ASSERT_TRUE(d.ok());
  auto got = GetEvent(db(), d->id);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->customer, "anna");
  EXPECT_EQ((*got)->installation_id, "inst-anna");
}

TEST_P(EventsDbTest, ProcessorQueuesOnceWithFallbackDelayAndDedupe) {
  PutTrigger("shipped", R"({"event_type":"order.shipped","template_key":"shipped",
      "channels":["push","sms"],"delay_seconds":60,"dedupe_window_seconds":300})");
  PutTrigger("big", R"({"event_type":"order.shipped","template_key":"shipped","channels":["sms"],
      "condition":{"field":"data.total","op":"gt","value":1000},"lane":"alert"})");
  EventWriter w(db(), clock_);
  auto e1 = w.Write(Actor(), Event("order.shipped", "anna", R"({"order":"A1","total":5})"));
  auto e2 = w.Write(Actor(), Event("order.shipped", "bob", R"({"order":"B1","total":5000})"));
  auto e3 = w.Write(Actor(), Event("order.shipped", "anna", R"({"order":"A2"})"));
  auto e4 = w.Write(Actor(), Event("other.thing", "anna"));
  ASSERT_TRUE(e1.ok() && e2.ok() && e3.ok() && e4.ok());
  std::atomic<int> kicks{0};
  EventProcessor p(db(), clock_, ChannelProviders{}, [&] { ++kicks; });
  // A batch may stop early to keep its transaction short; all get done.
  int total = 0;
  for (int i = 0; i < 10 && total < 4; ++i) {
    auto n = p.ProcessBatch();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    total += *n;
  }
  EXPECT_EQ(total, 4);
  EXPECT_GE(kicks.load(), 1);
  auto again = p.ProcessBatch();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);  // exactly once
  EXPECT_EQ(Count("SELECT COUNT(*) FROM events WHERE processed_at IS NULL"), 0);

  auto o1 = EventOutcomes(db(), e1->id);
  ASSERT_TRUE(o1.ok());
  ASSERT_EQ(o1->size(), 1u);
  EXPECT_EQ((*o1)[0].outcome, "queued");
  auto row = db().QueryRow(
      "SELECT channel, recipient, content, next_attempt_at, lane FROM messages "
      "WHERE id = ?",
      {*(*o1)[0].message_id});
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*row)->Str(0), "push");
  EXPECT_EQ((*row)->Str(1), "tok-anna");
  EXPECT_NE((*row)->Str(2).find("F-anna: A1"), std::string::npos) << (*row)->Str(2);
  EXPECT_EQ((*row)->Int(3), kT0 + 60000);  // delayed

  // Bob has no device: sms. The big order also fires the conditional trigger.
  auto o2 = EventOutcomes(db(), e2->id);
  ASSERT_TRUE(o2.ok());
  ASSERT_EQ(o2->size(), 2u);
  for (const auto& o : *o2) {
    EXPECT_EQ(o.outcome, "queued");
    auto m = db().QueryRow("SELECT channel, content FROM messages WHERE id = ?", {*o.message_id});
    ASSERT_TRUE(m.ok() && *m);
    EXPECT_EQ((*m)->Str(0), "sms");
    EXPECT_NE((*m)->Str(1).find("SMS B1"), std::string::npos);
  }
  // Anna's second shipment within the window: suppressed as dedupe.
  auto o3 = EventOutcomes(db(), e3->id);
  ASSERT_TRUE(o3.ok());
  ASSERT_EQ(o3->size(), 1u);
  EXPECT_EQ((*o3)[0].outcome, "deduped");
  auto m3 = db().QueryRow("SELECT status, error_message FROM messages WHERE id = ?",
                          {*(*o3)[0].message_id});
  ASSERT_TRUE(m3.ok() && *m3);
  EXPECT_EQ((*m3)->Str(0), "suppressed");
  EXPECT_EQ((*m3)->Str(1), "dedupe");
  auto o4 = EventOutcomes(db(), e4->id);
  ASSERT_TRUE(o4.ok());
  EXPECT_TRUE(o4->empty());

  // After the window the trigger sends again.
  clock_.SetMs(kT0 + 301000);
  auto e5 = w.Write(Actor(), Event("order.shipped", "anna", R"({"order":"A3"})"));
  ASSERT_TRUE(e5.ok());
  ASSERT_TRUE(p.ProcessBatch().ok());
  auto o5 = EventOutcomes(db(), e5->id);
  ASSERT_TRUE(o5.ok());
  ASSERT_EQ(o5->size(), 1u);
  EXPECT_EQ((*o5)[0].outcome, "queued");
}

TEST_P(EventsDbTest, TopicOptOutFallsBackThenSuppresses) {
  PutTrigger("news", R"({"event_type":"news","template_key":"shipped","channels":["push","sms"],
      "topic":"news"})");
  const int64_t anna = Count("SELECT id FROM customers WHERE external_id = 'anna'");
  ASSERT_TRUE(db().Transact([&](store::Connection& c) {
                    return SavePreferences(c, Actor(), anna, {{"news", {{"push", false}}}});
                  })
                  .ok());
  EventWriter w(db(), clock_);
  EventProcessor p(db(), clock_, ChannelProviders{}, nullptr);
  auto e1 = w.Write(Actor(), Event("news", "anna", R"({"order":"N1"})"));
  ASSERT_TRUE(e1.ok());
  ASSERT_TRUE(p.ProcessBatch().ok());
  auto o1 = EventOutcomes(db(), e1->id);
  ASSERT_TRUE(o1.ok() && o1->size() == 1);
  auto m1 = db().QueryRow("SELECT channel FROM messages WHERE id = ?", {*(*o1)[0].message_id});
  ASSERT_TRUE(m1.ok() && *m1);
  EXPECT_EQ((*m1)->Str(0), "sms");

  ASSERT_TRUE(db().Execute("INSERT INTO suppressions (channel, recipient, reason, created_by, "
                           "created_at) VALUES ('sms', '+4930111', 'test', 'test', 0)")
                  .ok());
  auto e2 = w.Write(Actor(), Event("news", "anna", R"({"order":"N2"})"));
  ASSERT_TRUE(p.ProcessBatch().ok());
  auto o2 = EventOutcomes(db(), e2->id);
  ASSERT_TRUE(o2.ok() && o2->size() == 1);
  EXPECT_EQ((*o2)[0].outcome, "suppressed");
  EXPECT_EQ((*o2)[0].detail, "opted_out:news");  // the first channel ruled out
}

TEST_P(EventsDbTest, TriggersAreValidatedAndVersioned) {
  TriggerStore ts(db());
  auto bad = ts.Put(Actor(), "t1",
                    J(R"({"event_type":"x","template_key":"nope","channels":["sms"]})").as_object(),
                    std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().fields().front().field, "template_key");
  const char* good = R"({"event_type":"x","template_key":"shipped","channels":["sms"]})";
  auto a = ts.Put(Actor(), "t1", J(good).as_object(), std::nullopt);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->second);
  EXPECT_EQ(a->first.version, 1);
  auto same = ts.Put(Actor(), "t1", J(good).as_object(), 1);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->first.version, 1);
  auto stale =
      ts.Put(Actor(), "t1",
             J(R"({"event_type":"y","template_key":"shipped","channels":["sms"]})").as_object(), 7);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  ASSERT_TRUE(ts.Delete(Actor(), "t1").ok());
  EXPECT_EQ(ts.Get("t1").status().code(), StatusCode::kNotFound);
}

INSTANTIATE_DATABASE_TEST(EventsDbTest);

}  // namespace
}  // namespace kontor::messaging
