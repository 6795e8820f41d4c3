#include "webhooks/outbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "clients/changes.h"
#include "store/test_fixture.h"
#include "webhooks/signing.h"

namespace kontor::webhooks {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// A real HTTP server on a loopback port that answers every request with a
// configurable status (after an optional delay) and keeps what it received.
class Receiver {
 public:
  Receiver() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Run(); });
  }
  ~Receiver() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket s(ioc_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);  // unblocks accept
    thread_.join();
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::atomic<int> status{200};
  std::atomic<int> delay_ms{0};
  std::string response_body = "thanks";

  std::vector<bhttp::request<bhttp::string_body>> Received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void Run() {
    for (;;) {
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (stop_ || ec) return;
      boost::beast::flat_buffer buf;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(s, buf, req, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mu_);
        received_.push_back(req);
      }
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status.load()), 11};
      if (status != 204) res.body() = response_body;
      res.prepare_payload();
      bhttp::write(s, res, ec);
      s.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<bhttp::request<bhttp::string_body>> received_;
};

constexpr int64_t kT0 = 1'800'000'000'000;

class OutboxTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    store::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto c = HttpClient::Create("", /*allow_private_networks=*/true);  // receivers on loopback
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    svc_ = std::make_unique<WebhookService>(db(), clock_);
    options_.backoff_base_ms = 1000;
    options_.backoff_max_ms = 8000;
    options_.max_attempts = 4;
    options_.disable_after_failures = 5;
    options_.timeout_ms = 2000;
    MakeOutbox();
  }
  void MakeOutbox() { outbox_ = std::make_unique<Outbox>(db(), clock_, *client_, options_); }
  audit::Actor Actor() { return audit::Actor::System("test", clock_.NowMs()); }

  std::pair<Webhook, std::string> Hook(const std::string& url, std::vector<std::string> events,
                                       bool enabled = true) {
    WebhookInput in;
    in.url = url;
    in.events = std::move(events);
    in.enabled = enabled;
    auto w = svc_->Create(Actor(), in);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return *w;
  }
  void Record(const clients::Change& ch) {
    ASSERT_TRUE(db().Transact([&](store::Connection& c) {
                      return clients::RecordChange(c, clock_.NowMs(), ch);
                    })
                    .ok());
  }
  void Customer(const std::string& id, const char* op) {
    Record({"customer", id, op, 1,
            std::string(op) == "delete" ? json::value(nullptr)
                                        : json::value(json::object{{"external_id", id}})});
  }
  std::vector<Delivery> Deliveries(int64_t webhook_id,
                                   std::optional<std::string> status = std::nullopt) {
    DeliveryFilter f;
    f.webhook_id = webhook_id;
    f.status = std::move(status);
    f.limit = 500;
    auto r = svc_->ListDeliveries(f);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->first : std::vector<Delivery>{};
  }
  int64_t Cursor() {
    return (*db().QueryRow("SELECT cursor FROM webhook_state WHERE id = 1"))->Int(0);
  }
  // Delivers everything due now; returns how many attempts were made.
  int Drain() {
    int n = 0;
    for (;;) {
      auto d = outbox_->DeliverNext();
      EXPECT_TRUE(d.ok()) << d.status().ToString();
      if (!d.ok() || !*d) return n;
      ++n;
    }
  }

  FakeClock clock_{kT0};
  Options options_;
  std::unique_ptr<HttpClient> client_;
  std::unique_ptr<WebhookService> svc_;
  std::unique_ptr<Outbox> outbox_;
};

TEST_P(OutboxTest, FanOutMatchesSubscriptionsOnceAndMovesTheCursor) {
  Customer("before", "create");  // predates every webhook: never sent
  auto all = Hook("http://127.0.0.1:9/all", {"*"});
  auto deleted_only = Hook("http://127.0.0.1:9/deleted", {"customer.deleted"});
  auto off = Hook("http://127.0.0.1:9/off", {"*"}, false);
  Customer("crm-1", "create");
  Customer("crm-1", "update");
  Customer("crm-1", "delete");
  Record({"segment", "seg", "create", 1, json::object{}});  // no event type
  Record({"device", "inst-1", "create", 1,
          json::object{{"installation_id", "inst-1"}, {"token", "tok-x"}}});

  auto n = outbox_->FanOut(3);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3);  // "before", then the first two of crm-1
  n = outbox_->FanOut();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(*outbox_->FanOut(), 0);
  auto max_seq = (*db().QueryRow("SELECT MAX(seq) FROM changes"))->Int(0);
  EXPECT_EQ(Cursor(), max_seq);

  auto got = Deliveries(all.first.id);
  ASSERT_EQ(got.size(), 4u);  // newest first
  EXPECT_EQ(got[3].event_type, "customer.created");
  EXPECT_EQ(got[2].event_type, "customer.updated");
  EXPECT_EQ(got[1].event_type, "customer.deleted");
  EXPECT_EQ(got[0].event_type, "device.changed");
  EXPECT_EQ(got[0].request_body.find("tok-x"), std::string::npos);
  EXPECT_EQ(got[3].status, "pending");
  EXPECT_EQ(got[3].event_id.rfind("evt_", 0), 0u);
  auto del = Deliveries(deleted_only.first.id);
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(del[0].event_id, got[1].event_id);  // one event id for every endpoint
  EXPECT_TRUE(Deliveries(off.first.id).empty());
}

TEST_P(OutboxTest, ConcurrentFanOutsNeverDuplicate) {
  auto a = Hook("http://127.0.0.1:9/a", {"*"});
  auto b = Hook("http://127.0.0.1:9/b", {"customer.created"});
  for (int i = 0; i < 60; ++i) Customer("c" + std::to_string(i), "create");
  // Two "nodes" with their own Outbox on the same database.
  Outbox other(db(), clock_, *client_, options_);
  std::atomic<int> total{0};
  auto run = [&](Outbox& o) {
    for (int k = 0; k < 40; ++k) {
      auto n = o.FanOut(7);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      total += *n;
    }
  };
  std::thread t1([&] { run(*outbox_); });
  std::thread t2([&] { run(other); });
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 60);
  EXPECT_EQ(Deliveries(a.first.id).size(), 60u);
  EXPECT_EQ(Deliveries(b.first.id).size(), 60u);
}

TEST_P(OutboxTest, SignedDeliveryReachesTheEndpoint) {
  Receiver rx;
  auto [hook, secret] = Hook(rx.url("/in?src=kontor"), {"customer.created"});
  Customer("crm-7", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  EXPECT_EQ(Drain(), 1);

  auto got = rx.Received();
  ASSERT_EQ(got.size(), 1u);
  const auto& req = got[0];
  EXPECT_EQ(req.target(), "/in?src=kontor");
  EXPECT_EQ(req[bhttp::field::content_type], "application/json");
  EXPECT_EQ(req[bhttp::field::user_agent], "Kontor-Webhooks/1");
  EXPECT_EQ(req["Kontor-Event-Type"], "customer.created");
  const std::string ts(req["Kontor-Timestamp"]);
  EXPECT_EQ(ts, std::to_string(kT0 / 1000));
  EXPECT_EQ(req["Kontor-Signature"], Sign(secret, std::stoll(ts), req.body()));
  auto body = ParseJsonObject(req.body());
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->at("type"), "customer.created");
  EXPECT_EQ(body->at("id"), req["Kontor-Event-Id"]);
  EXPECT_EQ(body->at("data").at("external_id"), "crm-7");

  auto d = Deliveries(hook.id);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "succeeded");
  EXPECT_EQ(d[0].attempts, 1);
  EXPECT_EQ(d[0].response_status, 200);
  EXPECT_FALSE(d[0].next_attempt_at);
  EXPECT_EQ(d[0].response_body, "thanks");
  EXPECT_EQ(req["Kontor-Delivery-Id"], std::to_string(d[0].id));
  EXPECT_EQ(svc_->AttemptLog(d[0].id)->size(), 1u);
  EXPECT_EQ(Drain(), 0);
}

TEST_P(OutboxTest, FailuresBackOffThenFail) {
  Receiver rx;
  rx.status = 503;
  auto [hook, secret] = Hook(rx.url(), {"*"});
  Customer("crm-8", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  EXPECT_EQ(Drain(), 1);
  auto d = Deliveries(hook.id)[0];
  EXPECT_EQ(d.status, "pending");
  EXPECT_EQ(d.response_status, 503);
  EXPECT_EQ(d.error, "HTTP 503");
  ASSERT_TRUE(d.next_attempt_at);
  // 1 s base, ±20 % jitter.
  EXPECT_GE(*d.next_attempt_at, kT0 + 800);
  EXPECT_LE(*d.next_attempt_at, kT0 + 1200);
  EXPECT_EQ(Drain(), 0) << "not due before its backoff";

  for (int attempt = 2; attempt <= 4; ++attempt) {
    clock_.Advance(Millis(10000));
    EXPECT_EQ(Drain(), 1);
  }
  d = Deliveries(hook.id)[0];
  EXPECT_EQ(d.status, "failed");
  EXPECT_EQ(d.attempts, 4);
  EXPECT_FALSE(d.next_attempt_at);
  EXPECT_EQ(svc_->AttemptLog(d.id)->size(), 4u);
  EXPECT_EQ(svc_->Get(hook.id)->consecutive_failures, 4);
  EXPECT_TRUE(svc_->Get(hook.id)->enabled);

  // A manual retry is one more attempt; a success resets the failure count.
  rx.status = 204;
  ASSERT_TRUE(svc_->Retry(Actor(), d.id).ok());
  EXPECT_EQ(Drain(), 1);
  d = Deliveries(hook.id)[0];
  EXPECT_EQ(d.status, "succeeded");
  EXPECT_EQ(d.attempts, 5);
  EXPECT_EQ(svc_->Get(hook.id)->consecutive_failures, 0);
  EXPECT_EQ(rx.Received().size(), 5u);
}

TEST_P(OutboxTest, Backoff) {
  options_.backoff_base_ms = 30000;
  options_.backoff_max_ms = 6 * 3600000LL;
  MakeOutbox();
  for (int i = 0; i < 50; ++i) {
    const int64_t first = outbox_->Backoff(1), third = outbox_->Backoff(3),
                  late = outbox_->Backoff(30);
    EXPECT_GE(first, 24000);
    EXPECT_LE(first, 36000);
    EXPECT_GE(third, 96000);
    EXPECT_LE(third, 144000);
    EXPECT_GE(late, 6 * 3600000LL * 8 / 10);
    EXPECT_LE(late, 6 * 3600000LL * 12 / 10);
  }
}

TEST_P(OutboxTest, DisabledAfterConsecutiveFailuresWithReason) {
  Receiver rx;
  rx.status = 500;
  options_.max_attempts = 10;
  options_.disable_after_failures = 3;
  MakeOutbox();
  auto [hook, secret] = Hook(rx.url(), {"*"});
  Customer("a", "create");
  Customer("b", "create");
  ASSERT_EQ(*outbox_->FanOut(), 2);
  EXPECT_EQ(Drain(), 2);  // failures 1 and 2
  EXPECT_EQ(svc_->Get(hook.id)->consecutive_failures, 2);
  clock_.Advance(Millis(60000));
  EXPECT_EQ(Drain(), 1);  // the third disables it; the other delivery fails with it

  auto w = *svc_->Get(hook.id);
  EXPECT_FALSE(w.enabled);
  ASSERT_TRUE(w.disabled_reason);
  EXPECT_EQ(*w.disabled_reason,
            "disabled after 3 consecutive failed deliveries; last: HTTP 500 from " + rx.url());
  EXPECT_EQ(w.disabled_at, clock_.NowMs());
  for (const auto& d : Deliveries(hook.id)) {
    EXPECT_EQ(d.status, "failed");
    EXPECT_FALSE(d.next_attempt_at);
  }
  EXPECT_EQ(Deliveries(hook.id, "failed").size(), 2u);
  auto audit = db().QueryRow(
      "SELECT actor_type, after_json FROM audit_log WHERE action = 'webhook.disabled'");
  ASSERT_TRUE(audit.ok() && *audit);
  EXPECT_EQ((*audit)->Str(0), "system");
  EXPECT_NE((*audit)->Str(1).find("HTTP 500"), std::string::npos);

  // Disabled: new changes are not fanned out to it, retries are refused,
  // a ping still goes (to check the endpoint before re-enabling).
  Customer("c", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  EXPECT_EQ(Deliveries(hook.id).size(), 2u);
  EXPECT_EQ(svc_->Retry(Actor(), Deliveries(hook.id)[0].id).status().code(),
            StatusCode::kFailedPrecondition);
  rx.status = 200;
  auto ping = svc_->SendTest(Actor(), hook.id);
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  EXPECT_EQ(Drain(), 1);
  EXPECT_EQ(svc_->GetDelivery(ping->id)->status, "succeeded");
  EXPECT_FALSE(svc_->Get(hook.id)->enabled);

  // Re-enabling re-arms it; a change made while it was disabled (even one
  // not fanned out yet) is not sent, the next one is.
  Customer("d", "create");
  WebhookInput on;
  on.enabled = true;
  auto re = svc_->Update(Actor(), hook.id, on);
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE(re->enabled);
  EXPECT_FALSE(re->disabled_reason);
  EXPECT_FALSE(re->disabled_at);
  EXPECT_EQ(re->consecutive_failures, 0);
  Customer("e", "create");
  ASSERT_EQ(*outbox_->FanOut(), 2);
  auto after = Deliveries(hook.id);
  ASSERT_EQ(after.size(), 4u);  // the two failed, the ping, and "e"
  EXPECT_NE(after[0].request_body.find(R"("external_id":"e")"), std::string::npos);
}

TEST_P(OutboxTest, TimeoutsAndRefusedConnectionsAreFailures) {
  Receiver rx;
  rx.delay_ms = 1500;
  options_.timeout_ms = 300;
  MakeOutbox();
  auto slow = Hook(rx.url(), {"*"});
  // A port nothing listens on: bind one, close it, use it.
  unsigned short dead_port;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    dead_port = a.local_endpoint().port();
  }
  auto refused = Hook("http://127.0.0.1:" + std::to_string(dead_port) + "/", {"*"});
  Customer("t", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  EXPECT_EQ(Drain(), 2);
  auto d = Deliveries(slow.first.id)[0];
  EXPECT_EQ(d.status, "pending");
  EXPECT_FALSE(d.response_status);
  ASSERT_TRUE(d.error);
  EXPECT_NE(d.error->find("timed out after 300 ms"), std::string::npos) << *d.error;
  EXPECT_LT(*d.duration_ms, 1400);
  d = Deliveries(refused.first.id)[0];
  ASSERT_TRUE(d.error);
  EXPECT_NE(d.error->find("connect"), std::string::npos) << *d.error;
}

TEST_P(OutboxTest, ResponseExcerptIsBoundedAndValidText) {
  Receiver rx;
  rx.response_body = std::string("\xff\x00ok", 4) + std::string(10000, 'x');
  auto hook = Hook(rx.url(), {"*"});
  Customer("r", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  EXPECT_EQ(Drain(), 1);
  auto d = *svc_->GetDelivery(Deliveries(hook.first.id)[0].id);
  ASSERT_TRUE(d.response_body);
  EXPECT_LE(d.response_body->size(), 4096u + 4);
  EXPECT_EQ(d.response_body->substr(0, 8), "\xEF\xBF\xBD\xEF\xBF\xBDok");
  EXPECT_NE(d.request_headers->find("Kontor-Signature"), std::string::npos);
}

TEST_P(OutboxTest, ErasureScrubsTheDeliveryLog) {
  Receiver rx;
  auto hook = Hook(rx.url(), {"*"});
  Record({"customer", "z", "create", 1,
          json::object{{"external_id", "z"}, {"email", "z@example.com"}}, "z"});
  Record({"customer", "z", "update", 2,
          json::object{{"external_id", "z"}, {"email", "z2@example.com"}}, "z"});
  ASSERT_EQ(*outbox_->FanOut(1), 1);
  EXPECT_EQ(Drain(), 1);
  ASSERT_EQ(*outbox_->FanOut(1), 1);  // the update stays pending
  ASSERT_TRUE(db().Transact([&](store::Connection& c) -> Status {
                    RETURN_IF_ERROR(clients::ScrubCustomerChanges(c, "z"));
                    return clients::RecordChange(c, clock_.NowMs(),
                                                 {"customer", "z", "delete", 3, nullptr, "z"});
                  })
                  .ok());
  ASSERT_EQ(*outbox_->FanOut(), 1);
  auto log = Deliveries(hook.first.id);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].event_type, "customer.deleted");
  for (const auto& d : log) {
    auto full = *svc_->GetDelivery(d.id);
    EXPECT_EQ(full.request_body.find("@example.com"), std::string::npos) << full.request_body;
    EXPECT_FALSE(full.response_body);
  }
  EXPECT_EQ(*ParseJsonObject(log[2].request_body)->at("data").if_object(),
            (json::object{{"external_id", "z"}}));
  EXPECT_EQ(log[2].status, "succeeded");
  EXPECT_EQ(log[1].status, "pending");
}

TEST_P(OutboxTest, PruneDeletesOldFinishedDeliveries) {
  Receiver rx;
  auto hook = Hook(rx.url(), {"*"});
  Customer("old", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  EXPECT_EQ(Drain(), 1);
  clock_.Advance(Millis(int64_t{31} * 86400000));
  rx.status = 500;
  Customer("new", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  auto n = outbox_->Prune(clock_.NowMs() - int64_t{30} * 86400000);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  auto left = Deliveries(hook.first.id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].status, "pending");
}

TEST_P(OutboxTest, DeleteRemovesTheLog) {
  auto hook = Hook("http://127.0.0.1:9/x", {"*"});
  Customer("d", "create");
  ASSERT_EQ(*outbox_->FanOut(), 1);
  ASSERT_TRUE(svc_->Delete(Actor(), hook.first.id).ok());
  EXPECT_EQ(svc_->Get(hook.first.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*db().QueryRow("SELECT COUNT(*) FROM webhook_deliveries"))->Int(0), 0);
  EXPECT_EQ(svc_->Delete(Actor(), hook.first.id).code(), StatusCode::kNotFound);
}

INSTANTIATE_DATABASE_TEST(OutboxTest);

}  // namespace
}  // namespace kontor::webhooks
