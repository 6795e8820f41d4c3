// The outbox and dispatcher against both databases, with a scripted
// provider: leases and crash recovery, retries with backoff and Retry-After,
// permanent failures, unregistered devices, paused providers, lanes.
#include "messaging/outbox.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <thread>

#include "messaging/dispatcher.h"
#include "store/test_fixture.h"

namespace kontor::messaging {
namespace {

constexpr int64_t kT0 = 1767225600000;

// Answers from a script, then kSent; records what it was asked to send.
class ScriptedProvider : public Provider {
 public:
  std::string_view name() const override { return "scripted"; }
  std::string_view channel() const override { return "sms"; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override {
    std::vector<Outcome> out;
    for (const Outgoing& m : batch) {
      sent.push_back(m);
      if (script.empty()) {
        out.push_back(Outcome::Sent("p-" + std::to_string(m.id)));
      } else {
        out.push_back(script.front());
        script.pop_front();
      }
    }
    return out;
  }
  std::deque<Outcome> script;
  std::vector<Outgoing> sent;
};

// A factory whose providers all hand their batches to `p` (the dispatcher
// owns what a factory makes, the test keeps `p`).
ProviderFactory ForwardTo(ScriptedProvider* p) {
  return [p](const std::string& name) -> Result<std::unique_ptr<Provider>> {
    if (name != "scripted") return Status::NotFound("no provider " + name);
    struct Forward : Provider {
      explicit Forward(ScriptedProvider* to) : to(to) {}
      std::string_view name() const override { return "scripted"; }
      std::string_view channel() const override { return "sms"; }
      std::vector<Outcome> Send(const std::vector<Outgoing>& b) override { return to->Send(b); }
      ScriptedProvider* to;
    };
    return std::unique_ptr<Provider>(std::make_unique<Forward>(p));
  };
}

class MessageOutboxTest : public store::DatabaseTest {
 protected:
  int64_t Queue(const std::string& lane = "transactional", int max_attempts = 3,
                std::optional<int64_t> device = std::nullopt) {
    NewMessage m;
    m.lane = lane;
    m.channel = "sms";
    m.provider = "scripted";
    m.recipient = "+4930123";
    m.content = {{"text", "hi"}};
    m.max_attempts = max_attempts;
    m.device_id = device;
    std::vector<int64_t> ids;
    Status st = db().Transact([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(ids, Outbox::Enqueue(c, clock_.NowMs(), {m}));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return ids.empty() ? 0 : ids[0];
  }
  Message Get(int64_t id) {
    Outbox o(db(), "reader");
    auto m = o.Get(id);
    EXPECT_TRUE(m.ok() && *m);
    return m.ok() && *m ? **m : Message{};
  }
  std::unique_ptr<Dispatcher> MakeDispatcher(ProviderFactory factory) {
    DispatcherOptions o;
    o.node_id = "n1";
    o.lease_ms = 60000;
    o.retry.base_ms = 1000;
    o.retry.max_ms = 60000;
    o.retry.paused_ms = 30000;
    o.poll_ms = 20;
    return std::make_unique<Dispatcher>(db(), clock_, std::move(factory), o);
  }
  FakeClock clock_{kT0};
};

TEST_P(MessageOutboxTest, SendsRecordsAndKeepsATimeline) {
  ScriptedProvider p;
  const int64_t id = Queue();
  // A provider that cannot be made (misconfigured): the message waits, and
  // the attempt does not count against it.
  const ProviderFactory broken = [](const std::string& name) {
    return Result<std::unique_ptr<Provider>>(Status::NotFound("no provider " + name));
  };
  Dispatcher::Providers none(broken);
  ASSERT_EQ(*MakeDispatcher(broken)->RunOnce("transactional", none), 1);
  Message m = Get(id);
  EXPECT_EQ(m.status, "queued");
  EXPECT_EQ(m.attempts, 0);
  EXPECT_EQ(m.error_code, "provider_unavailable");
  EXPECT_EQ(*m.next_attempt_at, kT0 + 30000);
  // Worker threads pick it up once it is due.
  clock_.Advance(Millis(30000));
  auto d = MakeDispatcher(ForwardTo(&p));
  d->Start();
  d->Kick();
  for (int i = 0; i < 250 && Get(id).status != "sent"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  d->Stop();
  m = Get(id);
  EXPECT_EQ(m.status, "sent");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.provider_message_id, "p-" + std::to_string(id));
  EXPECT_FALSE(m.error_code);
  EXPECT_EQ(*m.sent_at, kT0 + 30000);
  Outbox o(db(), "reader");
  auto events = o.Events(id);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> kinds;
  for (const auto& e : *events) kinds.push_back(e.status);
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "paused", "sent"}));
}

// Creation and a plain send are read from the message row, not stored as
// events: the timeline still shows them, in order, with receipts after the
// send and without doubling rows written as events by older versions.
TEST_P(MessageOutboxTest, TimelineReadsCreationAndSendFromTheRow) {
  ScriptedProvider p;
  const ProviderFactory factory = ForwardTo(&p);
  auto d = MakeDispatcher(factory);
  Dispatcher::Providers providers(factory);
  p.script = {Outcome::Error(Outcome::Kind::kRetry, "503", "busy")};
  const int64_t id = Queue("transactional", 3);
  ASSERT_EQ(*d->RunOnce("transactional", providers), 1);
  clock_.Advance(Millis(5000));
  ASSERT_EQ(*d->RunOnce("transactional", providers), 1);
  const int64_t sent_at = clock_.NowMs();
  clock_.Advance(Millis(1000));
  ASSERT_TRUE(db().Execute("INSERT INTO message_events (message_id, at, status, detail) VALUES "
                           "(?, ?, 'delivered', 'receipt')",
                           {id, clock_.NowMs()})
                  .ok());
  Outbox o(db(), "reader");
  auto events = o.Events(id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].status, "queued");
  EXPECT_EQ((*events)[0].at, kT0);
  EXPECT_EQ((*events)[1].status, "retry");
  EXPECT_EQ((*events)[1].attempt, 1);
  EXPECT_EQ((*events)[2].status, "sent");
  EXPECT_EQ((*events)[2].at, sent_at);
  EXPECT_EQ((*events)[2].attempt, 2);
  EXPECT_EQ((*events)[2].detail, "p-" + std::to_string(id));
  EXPECT_EQ((*events)[3].status, "delivered");
  // Rows an older version stored for both steps are shown once.
  ASSERT_TRUE(db().Execute("DELETE FROM message_events WHERE message_id = ?", {id}).ok());
  ASSERT_TRUE(db().Execute("INSERT INTO message_events (message_id, at, status, attempt, detail) "
                           "VALUES (?, ?, 'queued', NULL, ''), (?, ?, 'sent', 2, 'x')",
                           {id, kT0, id, sent_at})
                  .ok());
  events = o.Events(id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].detail, "x");
  // A suppressed message: one step, with its reason.
  NewMessage m;
  m.lane = "bulk";
  m.channel = "sms";
  m.provider = "scripted";
  m.recipient = "+4930999";
  m.content = {{"text", "hi"}};
  m.max_attempts = 3;
  m.suppressed_because = "no sms consent for marketing";
  std::vector<int64_t> ids;
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    ASSIGN_OR_RETURN(ids, Outbox::Enqueue(c, clock_.NowMs(), {m}));
                    return Status::Ok();
                  })
                  .ok());
  events = o.Events(ids.at(0));
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].status, "suppressed");
  EXPECT_EQ((*events)[0].detail, "no sms consent for marketing");
}

TEST_P(MessageOutboxTest, RetriesWithBackoffAndRetryAfterThenGivesUp) {
  ScriptedProvider p;
  const ProviderFactory factory = ForwardTo(&p);
  auto d = MakeDispatcher(factory);
  Dispatcher::Providers providers(factory);
  const int64_t id = Queue("transactional", 3);
  Outcome slow = Outcome::Error(Outcome::Kind::kRetry, "429", "slow down");
  slow.retry_after_ms = 50000;
  p.script = {Outcome::Error(Outcome::Kind::kRetry, "503", "busy"), slow,
              Outcome::Error(Outcome::Kind::kRetry, "503", "busy")};
  ASSERT_EQ(*d->RunOnce("transactional", providers), 1);
  Message m = Get(id);
  EXPECT_EQ(m.status, "queued");
  EXPECT_EQ(m.attempts, 1);
  // First retry after base ±20 %.
  EXPECT_GE(*m.next_attempt_at, kT0 + 800);
  EXPECT_LE(*m.next_attempt_at, kT0 + 1200);
  EXPECT_EQ(*d->RunOnce("transactional", providers), 0) << "not due yet";
  clock_.SetMs(*m.next_attempt_at);
  ASSERT_EQ(*d->RunOnce("transactional", providers), 1);
  m = Get(id);
  EXPECT_EQ(*m.next_attempt_at, clock_.NowMs() + 50000) << "Retry-After wins over a shorter backoff";
  clock_.SetMs(*m.next_attempt_at);
  ASSERT_EQ(*d->RunOnce("transactional", providers), 1);
  m = Get(id);
  EXPECT_EQ(m.status, "failed");
  EXPECT_EQ(m.attempts, 3);
  EXPECT_FALSE(m.next_attempt_at);
  EXPECT_EQ(m.error_code, "503");
  EXPECT_NE(m.error_message->find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(p.sent.size(), 3u);
}

TEST_P(MessageOutboxTest, ACrashedWorkersBatchIsSentAgainAfterItsLease) {
  Outbox o1(db(), "n1"), o2(db(), "n2");
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Queue("bulk", 2));
  // n1 claims three and dies without recording anything.
  auto claimed = o1.Claim("bulk", clock_.NowMs(), 60000, 3);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 3u);
  auto rest = o2.Claim("bulk", clock_.NowMs(), 60000, 10);
  ASSERT_EQ(rest->size(), 2u) << "in-flight messages are passed over";
  std::vector<Outcome> sent(3, Outcome::Sent("ok"));
  EXPECT_EQ(*o2.Record(*rest, {sent[0], sent[1]}, clock_.NowMs(), {}), 2);
  clock_.Advance(Millis(60001));
  auto again = o2.Claim("bulk", clock_.NowMs(), 60000, 10);
  ASSERT_EQ(again->size(), 3u) << "the dead worker's batch is due again";
  EXPECT_EQ((*again)[0].out.attempt, 2);
  // n1's late outcomes are dropped: n2 holds the lease now.
  EXPECT_EQ(*o1.Record(*claimed, sent, clock_.NowMs(), {}), 0);
  // n2 records the first and dies during the last allowed attempt of the others.
  EXPECT_EQ(*o2.Record({(*again)[0]}, {sent[0]}, clock_.NowMs(), {}), 1);
  clock_.Advance(Millis(60001));
  auto last = o1.Claim("bulk", clock_.NowMs(), 60000, 10);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->size(), 0u) << "no attempt left: failed instead of claimed";
  std::map<std::string, int> by_status;
  for (int64_t id : ids) ++by_status[Get(id).status];
  EXPECT_EQ(by_status, (std::map<std::string, int>{{"sent", 3}, {"failed", 2}}));
  EXPECT_EQ(Get((*again)[1].out.id).error_code, "lease_expired");
}

TEST_P(MessageOutboxTest, PermanentErrorsAndUnregisteredDevices) {
  ScriptedProvider p;
  const ProviderFactory factory = ForwardTo(&p);
  auto d = MakeDispatcher(factory);
  Dispatcher::Providers providers(factory);
  int64_t device = 0;
  Status st = db().Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow("INSERT INTO devices (installation_id, platform, token, "
                                          "last_seen_at, created_at, updated_at) VALUES "
                                          "('inst-1', 'android', 'tok-1', 0, 0, 0) RETURNING id"));
    device = row->Int(0);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  const int64_t a = Queue("transactional", 5);
  const int64_t b = Queue("transactional", 5, device);
  p.script = {Outcome::Error(Outcome::Kind::kFailed, "INVALID_ARGUMENT", "bad"),
              Outcome::Error(Outcome::Kind::kUnregistered, "UNREGISTERED", "gone")};
  ASSERT_EQ(*d->RunOnce("transactional", providers), 2);
  EXPECT_EQ(Get(a).status, "failed");
  EXPECT_EQ(Get(a).attempts, 1);
  EXPECT_EQ(Get(b).status, "failed");
  EXPECT_EQ(Get(b).error_code, "UNREGISTERED");
  auto dev = db().QueryRow("SELECT status, version FROM devices WHERE id = ?", {device});
  EXPECT_EQ((*dev)->Str(0), "unregistered");
  EXPECT_EQ((*dev)->Int(1), 2);
  auto change = db().QueryRow("SELECT COUNT(*) FROM changes WHERE entity = 'device' AND entity_key = 'inst-1'");
  EXPECT_EQ((*change)->Int(0), 1) << "the change feed hears of it";
}

TEST_P(MessageOutboxTest, LanesAreClaimedSeparately) {
  for (int i = 0; i < 3; ++i) Queue("bulk");
  const int64_t alert = Queue("alert");
  Outbox o(db(), "n1");
  auto claimed = o.Claim("alert", clock_.NowMs(), 60000, 10);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].out.id, alert);
  EXPECT_EQ(o.Claim("transactional", clock_.NowMs(), 60000, 10)->size(), 0u);
}

TEST_P(MessageOutboxTest, IdempotencyKeys) {
  NewMessage m;
  m.channel = "sms";
  m.provider = "scripted";
  m.recipient = "+4930123";
  m.idempotency_key = "k1";
  m.request_hash = "h1";
  std::vector<int64_t> first, second;
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    ASSIGN_OR_RETURN(first, Outbox::Enqueue(c, kT0, {m}));
                    ASSIGN_OR_RETURN(second, Outbox::Enqueue(c, kT0, {m}));
                    return Status::Ok();
                  }).ok());
  EXPECT_EQ(first, second);
  m.request_hash = "h2";
  Status st = db().Transact([&](store::Connection& c) { return Outbox::Enqueue(c, kT0, {m}).status(); });
  EXPECT_EQ(st.code(), StatusCode::kConflict);
}

INSTANTIATE_DATABASE_TEST(MessageOutboxTest);

}  // namespace
}  // namespace kontor::messaging
