// Runs against SQLite in a temp file, and also against PostgreSQL when
// KONTOR_TEST_PG_URL names a server (each test gets a database of its own,
// created through that URL and dropped afterwards).
#include "jobs/job_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "store/migrate.h"
#include "store/test_db.h"

namespace kontor::jobs {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int64_t kLeaseMs = 30000;

int64_t At(const std::string& rfc3339) { return ParseRfc3339(rfc3339).value(); }

JobKind Kind(const std::string& name, Handler h, int max_attempts = 5) {
  return JobKind{name, "test kind " + name, std::move(h), max_attempts};
}

Status Ok() { return Status::Ok(); }

class JobServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto t = store::TestDatabase::Create(GetParam() == "postgres" ? store::Dialect::kPostgres
                                                                  : store::Dialect::kSqlite);
    if (!t.ok() && t.status().code() == StatusCode::kFailedPrecondition) {
      GTEST_SKIP() << t.status().message();
    }
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    test_db_ = std::move(t).value();
    url_ = test_db_->url();
    db_ = &test_db_->db();
  }

  void TearDown() override {
    services_.clear();  // stops threads before their databases go away
    extra_dbs_.clear();
    test_db_.reset();
  }

  std::unique_ptr<store::Database> OpenDb() {
    auto db = store::Database::Open(url_, store::DatabaseOptions{});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  // A second "node": its own connection pool on the same database.
  store::Database& OtherDb() {
    extra_dbs_.push_back(OpenDb());
    return *extra_dbs_.back();
  }

  JobService& NewService(store::Database& db, const std::string& node, Options o = {}) {
    o.node_id = node;
    services_.push_back(std::make_unique<JobService>(db, clock_, o));
    return *services_.back();
  }
  JobService& NewService(const std::string& node, Options o = {}) {
    return NewService(*db_, node, o);
  }

  int64_t Enqueue(JobService& s, EnqueueRequest r) {
    int64_t id = 0;
    Status st = db_->Transact([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(id, s.Enqueue(c, r));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }
  int64_t Enqueue(JobService& s, const std::string& kind, json::object payload = {}) {
    EnqueueRequest r;
    r.kind = kind;
    r.payload = std::move(payload);
    r.created_by = "test";
    return Enqueue(s, r);
  }

  Job GetJob(JobService& s, int64_t id) {
    Job job;
    Status st = db_->WithConnection([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(job, s.Get(c, id));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return job;
  }

  Result<Job> Cancel(JobService& s, int64_t id) {
    Result<Job> out = Status::Internal("not run");
    Status st = db_->Transact([&](store::Connection& c) -> Status {
      out = s.RequestCancel(c, id);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  struct Run {
    int attempt;
    std::string node;
    std::string outcome;
    std::string error;
    bool finished;
  };
  std::vector<Run> Runs(int64_t job_id) {
    auto res = db_->Execute(
        "SELECT attempt, node, outcome, error, finished_at FROM job_runs "
        "WHERE job_id = ? ORDER BY id",
        {job_id});
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    std::vector<Run> out;
    if (!res.ok()) return out;
    for (const auto& r : res->rows) {
      out.push_back({static_cast<int>(r.Int(0)), r.Str(1), r.Str(2), r.Str(3), !r.IsNull(4)});
    }
    return out;
  }

  int64_t Count(const std::string& sql, const store::Params& p = {}) {
    auto row = db_->QueryRow(sql, p);
    EXPECT_TRUE(row.ok() && row->has_value()) << row.status().ToString();
    return row.ok() && row->has_value() ? (*row)->Int(0) : -1;
  }

  // Polls (real time) until `pred` holds or `timeout` passes.
  template <typename Pred>
  bool WaitFor(Pred pred, milliseconds timeout = milliseconds(20000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return pred();
  }

  FakeClock clock_{At("2026-01-01T09:59:00Z")};
  std::unique_ptr<store::TestDatabase> test_db_;
  std::string url_;
  store::Database* db_ = nullptr;
  std::vector<std::unique_ptr<store::Database>> extra_dbs_;
  std::vector<std::unique_ptr<JobService>> services_;
};

TEST_P(JobServiceTest, EnqueueClaimSucceed) {
  JobService& s = NewService("node-a");
  json::object seen;
  int seen_attempt = 0;
  s.RegisterKind(Kind("test.echo", [&](JobContext& ctx) {
    seen = ctx.payload();
    seen_attempt = ctx.attempt();
    EXPECT_EQ(ctx.clock().NowMs(), clock_.NowMs());
    return Ok();
  }));
  const int64_t id = Enqueue(s, "test.echo", {{"to", "a@example.com"}});
  ASSERT_GT(id, 0);

  Job queued = GetJob(s, id);
  EXPECT_EQ(queued.state, "queued");
  EXPECT_EQ(queued.attempts, 0);
  EXPECT_EQ(queued.max_attempts, 5);
  EXPECT_EQ(queued.run_at, clock_.NowMs());
  EXPECT_EQ(queued.created_by, "test");

  clock_.Advance(milliseconds(10));
  EXPECT_EQ(s.RunOnce(), 1);
  EXPECT_EQ(seen, (json::object{{"to", "a@example.com"}}));
  EXPECT_EQ(seen_attempt, 1);

  Job done = GetJob(s, id);
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.attempts, 1);
  EXPECT_EQ(done.finished_at, clock_.NowMs());
  EXPECT_FALSE(done.lease_owner.has_value());
  EXPECT_FALSE(done.lease_expires_at.has_value());
  EXPECT_FALSE(done.last_error.has_value());

  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].attempt, 1);
  EXPECT_EQ(runs[0].node, "node-a");
  EXPECT_EQ(runs[0].outcome, "succeeded");
  EXPECT_TRUE(runs[0].finished);

  EXPECT_EQ(s.RunOnce(), 0);  // nothing left
}

TEST_P(JobServiceTest, JobToJsonShape) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.noop", [](JobContext&) { return Ok(); }));
  const int64_t id = Enqueue(s, "test.noop", {{"n", 1}});
  json::object o = JobToJson(GetJob(s, id));
  EXPECT_EQ(o.at("id"), json::value(std::to_string(id)));
  EXPECT_EQ(o.at("kind"), "test.noop");
  EXPECT_EQ(o.at("state"), "queued");
  EXPECT_EQ(o.at("payload"), (json::object{{"n", 1}}));
  EXPECT_EQ(o.at("run_at"), "2026-01-01T09:59:00.000Z");
  EXPECT_EQ(o.at("attempts"), 0);
  EXPECT_EQ(o.at("max_attempts"), 5);
  EXPECT_EQ(o.at("progress"), (json::object{{"done", 0}, {"total", 0}}));
  EXPECT_TRUE(o.at("last_error").is_null());
  EXPECT_TRUE(o.at("lease_owner").is_null());
  EXPECT_TRUE(o.at("lease_expires_at").is_null());
  EXPECT_TRUE(o.at("schedule").is_null());
  EXPECT_EQ(o.at("created_at"), "2026-01-01T09:59:00.000Z");
  EXPECT_EQ(o.at("updated_at"), "2026-01-01T09:59:00.000Z");
  EXPECT_TRUE(o.at("finished_at").is_null());
  EXPECT_EQ(o.size(), 15u);
}

TEST_P(JobServiceTest, EnqueueValidation) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.noop", [](JobContext&) { return Ok(); }));
  Status st = db_->Transact([&](store::Connection& c) -> Status {
    EnqueueRequest r;
    r.kind = "no.such.kind";
    return s.Enqueue(c, r).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kValidation);
  ASSERT_EQ(st.fields().size(), 1u);
  EXPECT_EQ(st.fields()[0].field, "kind");

  st = db_->Transact([&](store::Connection& c) -> Status {
    EnqueueRequest r;
    r.kind = "test.noop";
    r.max_attempts = 0;
    return s.Enqueue(c, r).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kValidation);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 0);
}

TEST_P(JobServiceTest, EnqueueCommitsWithCallerTransaction) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.noop", [](JobContext&) { return Ok(); }));
  Status st = db_->Transact([&](store::Connection& c) -> Status {
    EnqueueRequest r;
    r.kind = "test.noop";
    RETURN_IF_ERROR(s.Enqueue(c, r).status());
    return Status::Conflict("the caller's work failed");
  });
  EXPECT_EQ(st.code(), StatusCode::kConflict);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 0);
}

TEST_P(JobServiceTest, Dedupe) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.noop", [](JobContext&) { return Ok(); }));
  EnqueueRequest r;
  r.kind = "test.noop";
  r.dedupe_key = "invoice:42";
  const int64_t first = Enqueue(s, r);
  const int64_t second = Enqueue(s, r);
  EXPECT_EQ(first, second);
  // Still deduplicated after the job has run.
  EXPECT_EQ(s.RunOnce(), 1);
  EXPECT_EQ(Enqueue(s, r), first);
  r.dedupe_key = "invoice:43";
  EXPECT_NE(Enqueue(s, r), first);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 2);
}

TEST_P(JobServiceTest, RunAtInTheFuture) {
  JobService& s = NewService("node-a");
  int runs = 0;
  s.RegisterKind(Kind("test.count", [&](JobContext&) {
    ++runs;
    return Ok();
  }));
  EnqueueRequest r;
  r.kind = "test.count";
  r.run_at = clock_.NowMs() + 5000;
  const int64_t id = Enqueue(s, r);
  EXPECT_EQ(s.RunOnce(), 0);
  clock_.Advance(milliseconds(4999));
  EXPECT_EQ(s.RunOnce(), 0);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(s.RunOnce(), 1);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(GetJob(s, id).state, "succeeded");
}

TEST_P(JobServiceTest, RunOnceHonoursMaxJobs) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.noop", [](JobContext&) { return Ok(); }));
  for (int i = 0; i < 5; ++i) Enqueue(s, "test.noop");
  EXPECT_EQ(s.RunOnce(2), 2);
  EXPECT_EQ(s.RunOnce(), 3);
  EXPECT_EQ(s.CountByState()["succeeded"], 5);
}

TEST_P(JobServiceTest, OnlyRegisteredKindsAreClaimed) {
  JobService& a = NewService("node-a");
  JobService& b = NewService("node-b");
  a.RegisterKind(Kind("test.a", [](JobContext&) { return Ok(); }));
  b.RegisterKind(Kind("test.b", [](JobContext&) { return Ok(); }));
  const int64_t id = Enqueue(b, "test.b");
  EXPECT_EQ(a.RunOnce(), 0);
  EXPECT_EQ(GetJob(a, id).state, "queued");
  EXPECT_EQ(b.RunOnce(), 1);
}

TEST_P(JobServiceTest, ProgressIsThrottledAndExtendsLease) {
  JobService& s = NewService("node-a");
  std::vector<int64_t> db_done;
  std::vector<int64_t> lease;
  int64_t id = 0;
  auto snapshot = [&] {
    Job j = GetJob(s, id);
    db_done.push_back(j.progress_done);
    lease.push_back(j.lease_expires_at.value_or(0));
  };
  s.RegisterKind(Kind("test.progress", [&](JobContext& ctx) {
    EXPECT_TRUE(ctx.SetProgress(1, 4).ok());
    snapshot();  // written: first call
    EXPECT_TRUE(ctx.SetProgress(2, 4).ok());
    snapshot();  // throttled
    clock_.Advance(milliseconds(300));
    EXPECT_TRUE(ctx.SetProgress(3, 4).ok());
    snapshot();  // written, lease extended from the new now
    EXPECT_TRUE(ctx.SetProgress(4, 4).ok());
    snapshot();                               // done == total is never throttled
    EXPECT_TRUE(ctx.SetProgress(5, 9).ok());  // throttled; Finish writes it
    return Ok();
  }));
  id = Enqueue(s, "test.progress");
  const int64_t start = clock_.NowMs();
  EXPECT_EQ(s.RunOnce(), 1);
  EXPECT_EQ(db_done, (std::vector<int64_t>{1, 1, 3, 4}));
  EXPECT_EQ(lease, (std::vector<int64_t>{start + kLeaseMs, start + kLeaseMs, start + 300 + kLeaseMs,
                                         start + 300 + kLeaseMs}));
  Job j = GetJob(s, id);
  EXPECT_EQ(j.state, "succeeded");
  EXPECT_EQ(j.progress_done, 5);
  EXPECT_EQ(j.progress_total, 9);
  json::object o = JobToJson(j);
  EXPECT_EQ(o.at("progress"), (json::object{{"done", 5}, {"total", 9}}));
}

TEST_P(JobServiceTest, RetryWithBackoffThenFail) {
  JobService& s = NewService("node-a");
  int calls = 0;
  s.RegisterKind(Kind(
      "test.flaky",
      [&](JobContext& ctx) {
        ++calls;
        EXPECT_EQ(ctx.attempt(), calls);
        return Status::Unavailable("smtp down");
      },
      3));
  const int64_t id = Enqueue(s, "test.flaky");

  EXPECT_EQ(s.RunOnce(), 1);
  Job j = GetJob(s, id);
  EXPECT_EQ(j.state, "queued");
  EXPECT_EQ(j.attempts, 1);
  ASSERT_TRUE(j.last_error.has_value());
  EXPECT_NE(j.last_error->find("smtp down"), std::string::npos);
  EXPECT_FALSE(j.lease_owner.has_value());
  EXPECT_FALSE(j.finished_at.has_value());
  // 1 s ± 20 %.
  EXPECT_GE(j.run_at, clock_.NowMs() + 800);
  EXPECT_LE(j.run_at, clock_.NowMs() + 1200);

  EXPECT_EQ(s.RunOnce(), 0);  // not due yet
  clock_.SetMs(j.run_at);
  EXPECT_EQ(s.RunOnce(), 1);
  j = GetJob(s, id);
  EXPECT_EQ(j.state, "queued");
  EXPECT_EQ(j.attempts, 2);
  // 2 s ± 20 %.
  EXPECT_GE(j.run_at, clock_.NowMs() + 1600);
  EXPECT_LE(j.run_at, clock_.NowMs() + 2400);

  clock_.SetMs(j.run_at);
  EXPECT_EQ(s.RunOnce(), 1);
  j = GetJob(s, id);
  EXPECT_EQ(j.state, "failed");
  EXPECT_EQ(j.attempts, 3);
  EXPECT_EQ(j.finished_at, clock_.NowMs());
  EXPECT_EQ(calls, 3);

  clock_.Advance(milliseconds(3600 * 1000));
  EXPECT_EQ(s.RunOnce(), 0);

  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].outcome, "retry");
  EXPECT_EQ(runs[1].outcome, "retry");
  EXPECT_EQ(runs[2].outcome, "failed");
  for (const auto& r : runs) {
    EXPECT_TRUE(r.finished);
    EXPECT_NE(r.error.find("smtp down"), std::string::npos);
  }
}

TEST_P(JobServiceTest, BackoffIsCappedAtAnHour) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind(
      "test.flaky", [](JobContext&) { return Status::Internal("boom"); }, 20));
  const int64_t id = Enqueue(s, "test.flaky");
  for (int attempt = 1; attempt <= 15; ++attempt) {
    ASSERT_EQ(s.RunOnce(), 1) << attempt;
    Job j = GetJob(s, id);
    const int64_t delay = j.run_at - clock_.NowMs();
    const int64_t nominal = std::min<int64_t>(int64_t{1000} << (attempt - 1), 3600 * 1000);
    EXPECT_GE(delay, nominal * 8 / 10) << attempt;
    EXPECT_LE(delay, nominal * 12 / 10) << attempt;
    clock_.SetMs(j.run_at);
  }
}

TEST_P(JobServiceTest, ExceptionIsRetryable) {
  JobService& s = NewService("node-a");
  s.RegisterKind(
      Kind("test.throws", [](JobContext&) -> Status { throw std::runtime_error("disk on fire"); }));
  const int64_t id = Enqueue(s, "test.throws");
  EXPECT_EQ(s.RunOnce(), 1);
  Job j = GetJob(s, id);
  EXPECT_EQ(j.state, "queued");
  ASSERT_TRUE(j.last_error.has_value());
  EXPECT_NE(j.last_error->find("disk on fire"), std::string::npos);
  EXPECT_GT(j.run_at, clock_.NowMs());
}

TEST_P(JobServiceTest, NonRetryableFailure) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.invalid", [](JobContext&) {
    return Status::InvalidArgument("payload lacks an address");
  }));
  s.RegisterKind(Kind("test.validation", [](JobContext&) {
    return Status::Validation({{"to", "not an email"}});
  }));
  const int64_t a = Enqueue(s, "test.invalid");
  const int64_t b = Enqueue(s, "test.validation");
  EXPECT_EQ(s.RunOnce(), 2);
  for (int64_t id : {a, b}) {
    Job j = GetJob(s, id);
    EXPECT_EQ(j.state, "failed");
    EXPECT_EQ(j.attempts, 1);
    EXPECT_TRUE(j.finished_at.has_value());
    ASSERT_TRUE(j.last_error.has_value());
  }
  EXPECT_NE(GetJob(s, a).last_error->find("payload lacks an address"), std::string::npos);
  EXPECT_EQ(Runs(a).at(0).outcome, "failed");
}

TEST_P(JobServiceTest, CancelQueued) {
  JobService& s = NewService("node-a");
  int runs = 0;
  s.RegisterKind(Kind("test.count", [&](JobContext&) {
    ++runs;
    return Ok();
  }));
  const int64_t id = Enqueue(s, "test.count");
  auto cancelled = Cancel(s, id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(cancelled->state, "cancelled");
  EXPECT_EQ(cancelled->finished_at, clock_.NowMs());
  EXPECT_EQ(s.RunOnce(), 0);
  EXPECT_EQ(runs, 0);

  auto again = Cancel(s, id);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Cancel(s, id + 1000).status().code(), StatusCode::kNotFound);
}

TEST_P(JobServiceTest, CancelFinishedIsRejected) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.noop", [](JobContext&) { return Ok(); }));
  const int64_t id = Enqueue(s, "test.noop");
  EXPECT_EQ(s.RunOnce(), 1);
  auto r = Cancel(s, id);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetJob(s, id).state, "succeeded");
}

TEST_P(JobServiceTest, CancelRunning) {
  JobService& s = NewService("node-a");
  int64_t id = 0;
  std::vector<bool> checks;
  s.RegisterKind(Kind("test.long", [&](JobContext& ctx) -> Status {
    checks.push_back(ctx.CancelRequested());  // reads the flag: not requested
    auto during = Cancel(s, id);
    EXPECT_TRUE(during.ok());
    if (during.ok()) {
      EXPECT_EQ(during->state, "running");
      EXPECT_TRUE(during->cancel_requested);
    }
    checks.push_back(ctx.CancelRequested());  // throttled: not re-read yet
    clock_.Advance(milliseconds(300));
    checks.push_back(ctx.CancelRequested());  // re-read
    if (ctx.CancelRequested()) return Cancelled();
    return Ok();
  }));
  id = Enqueue(s, "test.long");
  EXPECT_EQ(s.RunOnce(), 1);
  EXPECT_EQ(checks, (std::vector<bool>{false, false, true}));
  Job j = GetJob(s, id);
  EXPECT_EQ(j.state, "cancelled");
  EXPECT_TRUE(j.finished_at.has_value());
  EXPECT_EQ(Runs(id).at(0).outcome, "cancelled");
}

TEST_P(JobServiceTest, CancelRequestedJobIsNotRetried) {
  JobService& s = NewService("node-a");
  int64_t id = 0;
  s.RegisterKind(Kind("test.ignores_cancel", [&](JobContext&) -> Status {
    EXPECT_TRUE(Cancel(s, id).ok());
    return Status::Unavailable("failed anyway");
  }));
  id = Enqueue(s, "test.ignores_cancel");
  EXPECT_EQ(s.RunOnce(), 1);
  EXPECT_EQ(GetJob(s, id).state, "cancelled");
}

TEST_P(JobServiceTest, CancelWhileWaitingForRetry) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.flaky", [](JobContext&) { return Status::Unavailable("later"); }));
  const int64_t id = Enqueue(s, "test.flaky");
  EXPECT_EQ(s.RunOnce(), 1);
  auto r = Cancel(s, id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, "cancelled");
  clock_.Advance(milliseconds(10000));
  EXPECT_EQ(s.RunOnce(), 0);
}

// Node A claims the job and "crashes" (stops heartbeating) mid-run; once the
// lease has expired node B takes the job over. A's late result is ignored.
TEST_P(JobServiceTest, LeaseTakeoverAfterCrash) {
  store::Database& db_b = OtherDb();
  JobService& a = NewService("node-a");
  JobService& b = NewService(db_b, "node-b");
  int64_t id = 0;
  int b_runs = 0;
  Status a_late_progress;
  bool a_cancel_after = false;
  std::optional<std::string> owner_seen_by_b;
  b.RegisterKind(Kind("test.work", [&](JobContext& ctx) -> Status {
    ++b_runs;
    EXPECT_EQ(ctx.attempt(), 2);
    owner_seen_by_b = GetJob(b, ctx.job_id()).lease_owner;
    return Status::InvalidArgument("b rejects the payload");
  }));
  a.RegisterKind(Kind("test.work", [&](JobContext& ctx) -> Status {
    EXPECT_EQ(ctx.attempt(), 1);
    EXPECT_TRUE(ctx.SetProgress(1, 10).ok());
    clock_.Advance(milliseconds(kLeaseMs - 1));
    EXPECT_EQ(b.RunOnce(), 0);  // lease not expired yet
    clock_.Advance(milliseconds(2));
    EXPECT_EQ(b.RunOnce(), 1);  // expired: B takes over and finishes
    a_late_progress = ctx.SetProgress(10, 10);
    a_cancel_after = ctx.CancelRequested();
    return Ok();  // too late: must not turn B's failure into a success
  }));
  id = Enqueue(a, "test.work");
  EXPECT_EQ(a.RunOnce(), 1);

  EXPECT_EQ(b_runs, 1);
  EXPECT_EQ(owner_seen_by_b, "node-b");
  EXPECT_EQ(a_late_progress.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(a_cancel_after);
  Job j = GetJob(a, id);
  EXPECT_EQ(j.state, "failed");
  EXPECT_EQ(j.attempts, 2);
  EXPECT_EQ(j.progress_done, 1);  // A's late progress was not written
  ASSERT_TRUE(j.last_error.has_value());
  EXPECT_NE(j.last_error->find("b rejects the payload"), std::string::npos);
  auto runs = Runs(id);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].node, "node-a");
  EXPECT_EQ(runs[0].attempt, 1);
  EXPECT_EQ(runs[0].outcome, "lease_expired");
  EXPECT_EQ(runs[1].node, "node-b");
  EXPECT_EQ(runs[1].attempt, 2);
  EXPECT_EQ(runs[1].outcome, "failed");
}

TEST_P(JobServiceTest, TakeoverOfFinalAttemptFailsWithoutRunning) {
  JobService& a = NewService("node-a");
  JobService& b = NewService(OtherDb(), "node-b");
  int b_runs = 0;
  b.RegisterKind(Kind(
      "test.once",
      [&](JobContext&) {
        ++b_runs;
        return Ok();
      },
      1));
  a.RegisterKind(Kind(
      "test.once",
      [&](JobContext&) -> Status {
        clock_.Advance(milliseconds(kLeaseMs + 1));
        EXPECT_EQ(b.RunOnce(), 0);
        return Ok();
      },
      1));
  const int64_t id = Enqueue(a, "test.once");
  EXPECT_EQ(a.RunOnce(), 1);
  EXPECT_EQ(b_runs, 0);
  Job j = GetJob(a, id);
  EXPECT_EQ(j.state, "failed");
  EXPECT_EQ(j.attempts, 1);
  ASSERT_TRUE(j.last_error.has_value());
  EXPECT_NE(j.last_error->find("lease expired"), std::string::npos);
  EXPECT_EQ(Runs(id).size(), 1u);
}

TEST_P(JobServiceTest, TakeoverOfCancelRequestedJobCancels) {
  JobService& a = NewService("node-a");
  JobService& b = NewService(OtherDb(), "node-b");
  int b_runs = 0;
  int64_t id = 0;
  b.RegisterKind(Kind("test.work", [&](JobContext&) {
    ++b_runs;
    return Ok();
  }));
  a.RegisterKind(Kind("test.work", [&](JobContext&) -> Status {
    EXPECT_TRUE(Cancel(a, id).ok());
    clock_.Advance(milliseconds(kLeaseMs + 1));
    EXPECT_EQ(b.RunOnce(), 0);
    return Ok();
  }));
  id = Enqueue(a, "test.work");
  EXPECT_EQ(a.RunOnce(), 1);
  EXPECT_EQ(b_runs, 0);
  EXPECT_EQ(GetJob(a, id).state, "cancelled");
}

// Two nodes with real worker threads on one database: every job runs once.
TEST_P(JobServiceTest, RacingServicesNeverRunAJobTwice) {
  constexpr int kJobs = 60;
  Options o;
  o.workers = 3;
  o.poll_ms = 5;
  std::mutex mu;
  std::map<int64_t, int> handled;
  std::map<std::string, int> by_node;
  auto make_handler = [&](std::string node) {
    return [&, node](JobContext& ctx) {
      {
        std::lock_guard lock(mu);
        ++handled[ctx.job_id()];
        ++by_node[node];
      }
      std::this_thread::sleep_for(milliseconds(1));
      return Ok();
    };
  };
  JobService& a = NewService("node-a", o);
  JobService& b = NewService(OtherDb(), "node-b", o);
  a.RegisterKind(Kind("test.race", make_handler("node-a")));
  b.RegisterKind(Kind("test.race", make_handler("node-b")));
  ASSERT_TRUE(db_->Transact([&](store::Connection& c) -> Status {
                   for (int i = 0; i < kJobs; ++i) {
                     EnqueueRequest r;
                     r.kind = "test.race";
                     RETURN_IF_ERROR(a.Enqueue(c, r).status());
                   }
                   return Status::Ok();
                 })
                  .ok());
  a.Start();
  b.Start();
  EXPECT_TRUE(WaitFor([&] { return a.CountByState()["succeeded"] == kJobs; }));
  a.Stop();
  b.Stop();

  std::lock_guard lock(mu);
  EXPECT_EQ(handled.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : handled) EXPECT_EQ(n, 1) << "job " << id;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM job_runs"), kJobs);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM (SELECT job_id FROM job_runs GROUP BY job_id "
                  "HAVING COUNT(*) > 1) t"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE attempts <> 1"), 0);
  std::cout << "[          ] jobs by node: a=" << by_node["node-a"] << " b=" << by_node["node-b"]
            << "\n";
}

TEST_P(JobServiceTest, EnqueueWakesIdleWorkers) {
  Options o;
  o.workers = 1;
  o.poll_ms = 60000;  // without the wake-up nothing would run during the test
  JobService& s = NewService("node-a", o);
  s.RegisterKind(Kind("test.noop", [](JobContext&) { return Ok(); }));
  s.Start();
  std::this_thread::sleep_for(milliseconds(50));  // let the worker go idle
  const int64_t id = Enqueue(s, "test.noop");
  EXPECT_TRUE(WaitFor([&] { return GetJob(s, id).state == "succeeded"; }, milliseconds(5000)));
  s.Stop();
}

TEST_P(JobServiceTest, HeartbeatExtendsLeaseAndStopWaitsForHandler) {
  Options o;
  o.workers = 1;
  o.poll_ms = 5;
  o.lease_ms = 300;  // heartbeat every 100 ms of real time
  JobService& s = NewService("node-a", o);
  std::atomic<bool> release{false};
  std::atomic<bool> saw_cancel{false};
  s.RegisterKind(Kind("test.block", [&](JobContext& ctx) {
    while (!release) std::this_thread::sleep_for(milliseconds(5));
    saw_cancel = ctx.CancelRequested();
    return Ok();
  }));
  const int64_t id = Enqueue(s, "test.block");
  s.Start();
  ASSERT_TRUE(WaitFor([&] { return GetJob(s, id).state == "running"; }));
  EXPECT_EQ(GetJob(s, id).lease_expires_at, clock_.NowMs() + 300);
  clock_.Advance(milliseconds(10000));
  EXPECT_TRUE(WaitFor([&] { return GetJob(s, id).lease_expires_at == clock_.NowMs() + 300; }));
  // A cancel request reaches the handler (via the heartbeat or its own read).
  ASSERT_TRUE(Cancel(s, id).ok());
  std::thread releaser([&] {
    std::this_thread::sleep_for(milliseconds(250));
    release = true;
  });
  s.Stop();  // waits for the handler
  releaser.join();
  EXPECT_TRUE(saw_cancel);
  // It returned OK after seeing the cancel: the work completed, so it succeeded.
  EXPECT_EQ(GetJob(s, id).state, "succeeded");
}

TEST_P(JobServiceTest, ListPagesNewestFirstWithFilters) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("test.a", [](JobContext&) { return Ok(); }));
  s.RegisterKind(Kind("test.b", [](JobContext&) { return Status::InvalidArgument("no"); }));
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Enqueue(s, i % 2 ? "test.b" : "test.a"));
  EXPECT_EQ(s.RunOnce(2), 2);  // ids[0] succeeded, ids[1] failed

  std::vector<int64_t> seen;
  JobFilter f;
  f.limit = 2;
  for (int page = 0; page < 5; ++page) {
    auto r = s.List(f);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& j : r->items) seen.push_back(j.id);
    if (!r->next_before_id) break;
    EXPECT_EQ(r->items.size(), 2u);
    f.before_id = r->next_before_id;
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{ids[4], ids[3], ids[2], ids[1], ids[0]}));

  JobFilter by_kind;
  by_kind.kind = "test.b";
  auto r = s.List(by_kind);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 2u);
  EXPECT_EQ(r->items[0].id, ids[3]);
  EXPECT_FALSE(r->next_before_id.has_value());

  JobFilter by_state;
  by_state.state = "queued";
  r = s.List(by_state);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items.size(), 3u);

  JobFilter bad;
  bad.state = "sleeping";
  EXPECT_EQ(s.List(bad).status().code(), StatusCode::kValidation);

  auto counts = s.CountByState();
  EXPECT_EQ(counts["queued"], 3);
  EXPECT_EQ(counts["succeeded"], 1);
  EXPECT_EQ(counts["failed"], 1);
  EXPECT_EQ(counts["running"], 0);
  EXPECT_EQ(counts["cancelled"], 0);
}

TEST_P(JobServiceTest, KindsAreSorted) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("zeta", [](JobContext&) { return Ok(); }));
  s.RegisterKind(Kind("alpha", [](JobContext&) { return Ok(); }));
  auto kinds = s.Kinds();
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0], (std::pair<std::string, std::string>{"alpha", "test kind alpha"}));
  EXPECT_EQ(kinds[1].first, "zeta");
  EXPECT_TRUE(s.HasKind("zeta"));
  EXPECT_FALSE(s.HasKind("beta"));
}

TEST_P(JobServiceTest, EnsureScheduleValidates) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("report", [](JobContext&) { return Ok(); }));
  auto field_of = [](const Status& st) {
    return st.fields().empty() ? std::string() : st.fields()[0].field;
  };
  Status st = s.EnsureSchedule("r", "report", "61 * * * *", "UTC", {});
  EXPECT_EQ(st.code(), StatusCode::kValidation);
  EXPECT_EQ(field_of(st), "cron");
  EXPECT_NE(st.fields()[0].message.find("minute"), std::string::npos);
  st = s.EnsureSchedule("r", "report", "@daily", "Europe/Atlantis", {});
  EXPECT_EQ(field_of(st), "timezone");
  st = s.EnsureSchedule("r", "nope", "@daily", "UTC", {});
  EXPECT_EQ(field_of(st), "kind");
  st = s.EnsureSchedule("r", "report", "0 0 30 2 *", "UTC", {});
  EXPECT_EQ(field_of(st), "cron");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM schedules"), 0);
}

TEST_P(JobServiceTest, EnsureScheduleCreatesKeepsAndUpdates) {
  JobService& s = NewService("node-a");
  s.RegisterKind(Kind("report", [](JobContext&) { return Ok(); }));
  ASSERT_TRUE(
      s.EnsureSchedule("nightly", "report", "30 2 * * *", "Europe/Berlin", {{"format", "csv"}})
          .ok());
  auto list = s.ListSchedules();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const json::object& sched = list->at(0).as_object();
  EXPECT_EQ(sched.at("name"), "nightly");
  EXPECT_EQ(sched.at("kind"), "report");
  EXPECT_EQ(sched.at("cron"), "30 2 * * *");
  EXPECT_EQ(sched.at("timezone"), "Europe/Berlin");
  EXPECT_EQ(sched.at("enabled"), true);
  EXPECT_EQ(sched.at("next_run_at"), "2026-01-02T01:30:00.000Z");  // 02:30 CET
  EXPECT_TRUE(sched.at("last_job_id").is_null());
  EXPECT_TRUE(sched.at("id").is_string());

  // Unchanged: next_run_at stays even when it is in the past (a missed slot).
  clock_.SetMs(At("2026-01-03T12:00:00Z"));
  ASSERT_TRUE(
      s.EnsureSchedule("nightly", "report", "30 2 * * *", "Europe/Berlin", {{"format", "csv"}})
          .ok());
  EXPECT_EQ(s.ListSchedules()->at(0).as_object().at("next_run_at"), "2026-01-02T01:30:00.000Z");

  // Changed: recomputed from now.
  ASSERT_TRUE(
      s.EnsureSchedule("nightly", "report", "0 6 * * *", "Europe/Berlin", {{"format", "csv"}})
          .ok());
  EXPECT_EQ(s.ListSchedules()->at(0).as_object().at("next_run_at"), "2026-01-04T05:00:00.000Z");
  ASSERT_TRUE(
      s.EnsureSchedule("nightly", "report", "0 6 * * *", "Europe/Berlin", {{"format", "pdf"}})
          .ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM schedules"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM schedules WHERE payload = ?", {"{\"format\":\"pdf\"}"}), 1);
}

TEST_P(JobServiceTest, MissedRunsFireOnce) {
  JobService& s = NewService("node-a");
  std::vector<json::object> payloads;
  s.RegisterKind(Kind("tick", [&](JobContext& ctx) {
    payloads.push_back(ctx.payload());
    return Ok();
  }));
  ASSERT_TRUE(s.EnsureSchedule("every-minute", "tick", "* * * * *", "UTC", {{"x", 1}}).ok());
  clock_.Advance(milliseconds(3 * 3600 * 1000 + 30 * 1000));  // down for three hours
  EXPECT_EQ(s.RunOnce(), 1);
  EXPECT_EQ(s.RunOnce(), 0);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], (json::object{{"x", 1}}));
  auto sched = s.ListSchedules()->at(0).as_object();
  EXPECT_EQ(sched.at("next_run_at"), "2026-01-01T13:00:00.000Z");  // after now, not after the slot
  const int64_t job_id = std::stoll(std::string(sched.at("last_job_id").as_string()));
  Job j = GetJob(s, job_id);
  EXPECT_EQ(j.schedule_name, "every-minute");
  EXPECT_EQ(j.created_by, "schedule:every-minute");
  EXPECT_EQ(j.run_at, At("2026-01-01T10:00:00Z"));  // the slot it was due
  EXPECT_EQ(JobToJson(j).at("schedule"), "every-minute");
}

// Two nodes fire due schedules at the same moment (real threads): each slot
// yields exactly one job.
TEST_P(JobServiceTest, SchedulesFireOncePerSlotAcrossServices) {
  JobService& a = NewService("node-a");
  JobService& b = NewService(OtherDb(), "node-b");
  std::atomic<int> runs{0};
  a.RegisterKind(Kind("report", [&](JobContext&) {
    ++runs;
    return Ok();
  }));
  b.RegisterKind(Kind("report", [&](JobContext&) {
    ++runs;
    return Ok();
  }));
  ASSERT_TRUE(a.EnsureSchedule("hourly", "report", "0 * * * *", "UTC", {}).ok());
  ASSERT_TRUE(b.EnsureSchedule("hourly", "report", "0 * * * *", "UTC", {}).ok());
  EXPECT_EQ(a.RunOnce() + b.RunOnce(), 0);  // 09:59: not yet

  constexpr int kSlots = 12;
  for (int slot = 1; slot <= kSlots; ++slot) {
    clock_.SetMs(At("2026-01-01T09:00:00Z") + slot * int64_t{3600 * 1000});
    std::atomic<int> ran{0};
    std::thread ta([&] { ran += a.RunOnce(); });
    std::thread tb([&] { ran += b.RunOnce(); });
    ta.join();
    tb.join();
    EXPECT_EQ(ran, 1) << "slot " << slot;
    EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), slot);
  }
  EXPECT_EQ(runs, kSlots);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT run_at) FROM jobs"), kSlots);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE schedule_id IS NOT NULL AND state = "
                  "'succeeded'"),
            kSlots);
}

TEST_P(JobServiceTest, StartedServicesFireSchedules) {
  Options o;
  o.workers = 1;
  o.poll_ms = 5;
  std::atomic<int> runs{0};
  JobService& a = NewService("node-a", o);
  JobService& b = NewService(OtherDb(), "node-b", o);
  a.RegisterKind(Kind("report", [&](JobContext&) {
    ++runs;
    return Ok();
  }));
  b.RegisterKind(Kind("report", [&](JobContext&) {
    ++runs;
    return Ok();
  }));
  ASSERT_TRUE(a.EnsureSchedule("hourly", "report", "0 * * * *", "UTC", {}).ok());
  a.Start();
  b.Start();
  clock_.SetMs(At("2026-01-01T10:00:00Z"));
  EXPECT_TRUE(WaitFor([&] { return runs >= 1; }));
  std::this_thread::sleep_for(milliseconds(100));  // both nodes poll several more times
  a.Stop();
  b.Stop();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 1);
}

INSTANTIATE_TEST_SUITE_P(Jobs, JobServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kontor::jobs
