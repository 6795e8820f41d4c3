// Payments against both databases with a fake clock: prenotes hold live
// entries, files are valid, balanced with an offset account, named with
// advancing modifiers, and concurrent builders never put a payment in two
// files; returns of a prenote fail the account's later payments.
#include "payments/payments.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "payments/ach/reader.h"
#include "payments/files.h"
#include "payments/registry.h"
#include "payments/returns.h"
#include "store/test_fixture.h"

namespace kontor::payments {
namespace {

class PaymentsTest : public store::DatabaseTest {
 protected:
  // Monday 2026-11-23 10:00 in New York.
  PaymentsTest() : clock_(*ParseRfc3339("2026-11-23T15:00:00Z")) {}

  void SetUp() override {
    store::DatabaseTest::SetUp();
    if (IsSkipped()) return;
    registry_ = std::make_unique<Registry>(db(), clock_, 100000000);
    payments_ = std::make_unique<PaymentService>(db(), clock_, *registry_);
    files_ = std::make_unique<FileService>(db(), clock_, *registry_, *payments_);
    returns_ = std::make_unique<ReturnService>(db(), clock_, *registry_, *payments_);
  }

  audit::Actor Actor() { return audit::Actor::System("test", clock_.NowMs()); }

  Originator MakeOriginator(bool offset) {
    json::object body{{"name", "Acme Payroll"},
                      {"company_id", "1234567890"},
                      {"entry_description", "PAYROLL"},
                      {"odfi_routing", "091000019"},
                      {"immediate_destination", "091000019"},
                      {"immediate_destination_name", "Partner Bank"},
                      {"immediate_origin", "1234567890"},
                      {"immediate_origin_name", "Acme"}};
    if (offset) {
      body["offset"] = json::object{{"routing_number", "091000019"},
                                    {"account_number", "99887766"},
                                    {"account_type", "checking"}};
    }
    auto o = registry_->CreateOriginator(Actor(), body);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return *o;
  }

  Counterparty MakeCounterparty(const std::string& name, bool prenote = false,
                                const std::string& kind = "individual") {
    auto c = registry_->CreateCounterparty(Actor(), {{"name", name},
                                                     {"kind", kind},
                                                     {"routing_number", "021000021"},
                                                     {"account_number", "123456789"},
                                                     {"prenote", prenote}});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }

  Result<CreateOutcome> Pay(const Originator& o, const Counterparty& c, const std::string& dir,
                            int64_t cents, const std::string& key, const std::string& sec = "PPD") {
    return payments_->Create(Actor(),
                             {{"originator_id", std::to_string(o.id)},
                              {"counterparty_id", std::to_string(c.id)},
                              {"direction", dir},
                              {"sec_code", sec},
                              {"amount_cents", cents},
                              {"idempotency_key", key}},
                             std::nullopt);
  }

  int64_t Later() { return clock_.NowMs() + int64_t{30} * 86400000; }

  FakeClock clock_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<PaymentService> payments_;
  std::unique_ptr<FileService> files_;
  std::unique_ptr<ReturnService> returns_;
};

TEST_P(PaymentsTest, BalancedFileWithOffsetAndTraceNumbers) {
  Originator o = MakeOriginator(/*offset=*/true);
  Counterparty a = MakeCounterparty("Alice");
  Counterparty b = MakeCounterparty("Bob Corp", false, "company");
  ASSERT_TRUE(Pay(o, a, "credit", 150000, "k1").ok());
  ASSERT_TRUE(Pay(o, a, "debit", 2500, "k2").ok());
  ASSERT_TRUE(Pay(o, b, "credit", 999, "k3", "CCD").ok());
  auto built = files_->BuildDue(Actor(), o.id, Later());
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ASSERT_EQ(built->size(), 1u);
  const AchFile& f = built->front();
  EXPECT_EQ(f.name, "1234567890_261123_A.ach");
  EXPECT_EQ(f.debit_total_cents, f.credit_total_cents) << "the offset entries balance the file";
  auto content = files_->Content(f.id);
  ASSERT_TRUE(content.ok());
  ach::ReadResult r = ach::Read(*content);
  ASSERT_TRUE(r.ok()) << r.errors.front().Message();
  ASSERT_EQ(r.file.batches.size(), 2u);  // PPD and CCD
  std::string last;
  for (const auto& batch : r.file.batches) {
    EXPECT_EQ(batch.header.Get("serviceClassCode"), "200");
    for (const auto& e : batch.entries) {
      std::string trace(e.record.Get("traceNumber"));
      EXPECT_EQ(trace.substr(0, 8), "09100001");
      EXPECT_GT(trace, last);
      last = trace;
    }
  }
  // A second build the same day takes the next modifier.
  ASSERT_TRUE(Pay(o, a, "credit", 100, "k4").ok());
  built = files_->BuildDue(Actor(), o.id, Later());
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->size(), 1u);
  EXPECT_EQ(built->front().file_id_modifier, "B");
}

TEST_P(PaymentsTest, FilesAreBuiltAtTheCutoffNotBefore) {
  Originator o = MakeOriginator(false);
  Counterparty a = MakeCounterparty("Alice");
  auto next_day = Pay(o, a, "credit", 100, "nd");  // Monday 10:00: Monday's 20:00 window
  ASSERT_TRUE(next_day.ok());
  auto same_day = payments_->Create(Actor(),
                                    {{"originator_id", std::to_string(o.id)},
                                     {"counterparty_id", std::to_string(a.id)},
                                     {"direction", "credit"},
                                     {"sec_code", "PPD"},
                                     {"amount_cents", 200},
                                     {"same_day", true},
                                     {"idempotency_key", "sd"}},
                                    std::nullopt);
  ASSERT_TRUE(same_day.ok()) << same_day.status().ToString();
  EXPECT_EQ(same_day->payment.window_at, *ParseRfc3339("2026-11-23T19:00:00Z"));  // 14:00 EST
  // What the minute job does: build what is due now.
  auto build_at = [&](const std::string& t) {
    clock_.SetMs(*ParseRfc3339(t));
    auto r = files_->BuildDue(Actor());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->size() : 0;
  };
  EXPECT_EQ(build_at("2026-11-23T18:59:00Z"), 0u);
  EXPECT_EQ(build_at("2026-11-23T19:00:00Z"), 1u);  // the same-day cutoff: one entry
  EXPECT_EQ(payments_->Get(same_day->payment.id)->status, "in_file");
  EXPECT_EQ(payments_->Get(next_day->payment.id)->status, "scheduled");
  EXPECT_EQ(build_at("2026-11-24T00:59:00Z"), 0u);
  EXPECT_EQ(build_at("2026-11-24T01:00:00Z"), 1u);  // 20:00 EST: the next-day file
  EXPECT_EQ(payments_->Get(next_day->payment.id)->status, "in_file");
  EXPECT_EQ(build_at("2026-11-24T01:01:00Z"), 0u);
}

TEST_P(PaymentsTest, ConcurrentBuildersNeverShareAPayment) {
  Originator o = MakeOriginator(false);
  Counterparty a = MakeCounterparty("Alice");
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE(Pay(o, a, "credit", 100 + i, "c" + std::to_string(i)).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto r = files_->BuildDue(Actor(), o.id, Later());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  auto rows = db().Execute(
      "SELECT COUNT(*), COUNT(DISTINCT payment_id), COUNT(file_id) FROM payment_entries");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->rows[0].Int(0), 60);
  EXPECT_EQ(rows->rows[0].Int(2), 60) << "every entry is in a file";
  auto files = db().Execute("SELECT SUM(entry_count) FROM ach_files");
  EXPECT_EQ(files->rows[0].Int(0), 60) << "and in exactly one";
}

TEST_P(PaymentsTest, PrenoteHoldsLivePaymentsAndAReturnFailsThem) {
  Originator o = MakeOriginator(false);
  Counterparty c = MakeCounterparty("Carol", /*prenote=*/true);
  EXPECT_EQ(c.prenote_status, "pending");
  auto live = Pay(o, c, "credit", 5000, "live-1");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->payment.status, "pending");
  auto cp = registry_->GetCounterparty(c.id);
  ASSERT_TRUE(cp->prenote_payment_id.has_value());
  auto pre = payments_->Get(*cp->prenote_payment_id);
  ASSERT_TRUE(pre.ok());
  EXPECT_TRUE(pre->prenote);
  EXPECT_EQ(pre->amount_cents, 0);
  // The live payment settles no earlier than three banking days after the prenote.
  EXPECT_EQ(pre->effective_date, "2026-11-24");
  EXPECT_EQ(live->payment.effective_date, "2026-11-30");  // Thanksgiving skipped

  // The first file carries only the prenote (transaction code 23).
  auto built = files_->BuildDue(Actor(), o.id, clock_.NowMs() + int64_t{12} * 3600000);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ASSERT_EQ(built->size(), 1u);
  auto content = files_->Content(built->front().id);
  ach::ReadResult r = ach::Read(*content);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.file.batches.size(), 1u);
  ASSERT_EQ(r.file.batches[0].entries.size(), 1u);
  EXPECT_EQ(r.file.batches[0].entries[0].record.Get("transactionCode"), "23");
  EXPECT_EQ(registry_->GetCounterparty(c.id)->prenote_status, "sent");

  // The bank returns the prenote: R03 no account.
  auto p = payments_->Get(pre->id);
  const std::string trace = *p->entries[0].trace_number;
  // The bank's return: a real return file with our trace number in its 99
  // addenda (columns 7-21).
  std::string path = __FILE__;
  path = path.substr(0, path.rfind("/src/")) + "/tests/conformance/ach/valid/return-WEB.ach";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string ret, line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n == 4) line.replace(6, 15, trace);
    ret += line + "\n";
  }
  auto processed = returns_->Process(Actor(), o.id, "RET1.ach", ret);
  ASSERT_TRUE(processed.ok()) << processed.status().ToString()
                              << (processed.status().fields().empty()
                                      ? ""
                                      : processed.status().fields().front().message);
  EXPECT_EQ(processed->matched, 1);
  EXPECT_EQ(payments_->Get(pre->id)->status, "returned");
  EXPECT_EQ(registry_->GetCounterparty(c.id)->prenote_status, "failed");
  // Processing the same file again changes nothing.
  processed = returns_->Process(Actor(), o.id, "RET1.ach", ret);
  ASSERT_TRUE(processed.ok());
  EXPECT_TRUE(processed->already_processed);

  // The held live payment is failed at its window, not sent.
  built = files_->BuildDue(Actor(), o.id, Later());
  ASSERT_TRUE(built.ok());
  EXPECT_TRUE(built->empty());
  auto after = payments_->Get(live->payment.id);
  EXPECT_EQ(after->status, "failed");
  EXPECT_NE(after->status_reason->find("prenote"), std::string::npos);
  // New live payments to the failed account break rule ALL-30.
  auto again = Pay(o, c, "credit", 100, "live-2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kValidation);
}

TEST_P(PaymentsTest, SameDayOverTheLimitGoesNextDayUnlessSplittingIsAllowed) {
  Originator o = MakeOriginator(false);
  Counterparty a = MakeCounterparty("Alice");
  auto body = [&](const std::string& key) {
    return json::object{{"originator_id", std::to_string(o.id)},
                        {"counterparty_id", std::to_string(a.id)},
                        {"direction", "credit"},
                        {"sec_code", "PPD"},
                        {"amount_cents", 250000000},  // $2.5M
                        {"same_day", true},
                        {"idempotency_key", key}};
  };
  auto p = payments_->Create(Actor(), body("big"), std::nullopt);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->payment.same_day);
  EXPECT_EQ(p->payment.entries.size(), 1u);
  ASSERT_TRUE(
      registry_->UpdateOriginator(Actor(), o.id, {{"allow_same_day_split", true}}, std::nullopt)
          .ok());
  p = payments_->Create(Actor(), body("big-split"), std::nullopt);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->payment.same_day);
  ASSERT_EQ(p->payment.entries.size(), 3u);
  int64_t sum = 0;
  for (const auto& e : p->payment.entries) {
    EXPECT_LE(e.amount_cents, 100000000);
    sum += e.amount_cents;
  }
  EXPECT_EQ(sum, 250000000);
}

INSTANTIATE_DATABASE_TEST(PaymentsTest);

}  // namespace
}  // namespace kontor::payments
