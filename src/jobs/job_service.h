// Durable background jobs and cron schedules, shared by every node on one
// database.
//
// A job row is claimed under a lease (lease_owner + lease_expires_at); the
// owner heartbeats the lease while the handler runs. A node that dies stops
// heartbeating, its lease expires and any node takes the job over as a new
// attempt. Every write that concludes an attempt is conditional on
// (lease_owner, attempts) still being the claimer's, so a node whose lease was
// taken over cannot overwrite the new owner's result. Handlers must therefore
// be idempotent: an attempt can run twice when a lease is lost mid-run.
//
// Schedules fire exactly once per slot across nodes: the node that moves
// schedules.next_run_at from the old value (a compare-and-set) enqueues the
// job in the same transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "store/database.h"

namespace kontor::jobs {

struct Job {
  int64_t id = 0;
  std::string kind;
  json::object payload;
  std::string state;  // queued|running|succeeded|failed|cancelled
  int64_t run_at = 0;
  int attempts = 0;
  int max_attempts = 0;
  std::optional<std::string> lease_owner;
  std::optional<int64_t> lease_expires_at;
  int64_t progress_done = 0;
  int64_t progress_total = 0;
  std::optional<std::string> last_error;
  std::optional<int64_t> schedule_id;
  std::optional<std::string> schedule_name;  // joined from schedules, for JobToJson
  bool cancel_requested = false;
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> finished_at;
};

// The `Job` shape of docs/api.md.
json::object JobToJson(const Job& job);

class JobService;

// What a handler gets. Not thread-safe: call it from the handler's thread.
// Don't call SetProgress/CancelRequested while holding a write transaction of
// your own: on SQLite the write would wait for your transaction.
class JobContext {
 public:
  int64_t job_id() const { return job_id_; }
  int attempt() const { return attempt_; }
  const json::object& payload() const { return payload_; }
  const Clock& clock() const;

  // Writes progress (throttled: at most every ~250 ms of clock time unless
  // done == total; the last value is always written when the job finishes)
  // and extends the lease. kFailedPrecondition "lease lost" when another node
  // has taken the job over: the handler should stop, its result is ignored.
  // Database errors are logged, not returned (progress is advisory).
  Status SetProgress(int64_t done, int64_t total);
  // True once a cancel was requested (or the lease was lost). Re-reads the
  // flag at most every ~250 ms of clock time. A handler that honours it
  // returns Cancelled().
  bool CancelRequested();

 private:
  friend class JobService;
  JobContext(JobService* service, int64_t job_id, int attempt, json::object payload)
      : service_(service), job_id_(job_id), attempt_(attempt), payload_(std::move(payload)) {}

  JobService* service_;
  int64_t job_id_;
  int attempt_;
  json::object payload_;
  // Set by the heartbeat thread too.
  std::atomic<bool> cancel_seen_{false};
  std::atomic<bool> lease_lost_{false};
  std::optional<int64_t> last_progress_write_ms_;
  std::optional<int64_t> last_cancel_check_ms_;
  std::optional<std::pair<int64_t, int64_t>> progress_;  // latest done/total, written or not
};

// OK → succeeded; Cancelled() → cancelled; kInvalidArgument / kValidation →
// failed without retry; anything else (or an exception) → retried with
// exponential backoff until max_attempts, then failed.
using Handler = std::function<Status(JobContext&)>;

// What a handler returns when it stopped because CancelRequested() was true.
inline Status Cancelled() { return Status::FailedPrecondition("cancelled"); }

struct JobKind {
  std::string kind;
  std::string description;
  Handler handler;
  int max_attempts = 5;
  // Checks a payload at enqueue time, so a bad one is a 422 for the caller
  // rather than a failed job later. Errors name fields under "payload.".
  std::function<Status(const json::object& payload)> validate;
};

struct EnqueueRequest {
  std::string kind;
  json::object payload;
  std::optional<int64_t> run_at;  // default: now
  std::optional<std::string> dedupe_key;
  std::optional<int> max_attempts;  // default: the kind's
  std::string created_by;
};

struct JobFilter {
  std::optional<std::string> state, kind;
  std::optional<int64_t> before_id;
  int limit = 50;
};

struct JobPage {
  std::vector<Job> items;  // newest first
  std::optional<int64_t> next_before_id;
};

struct Options {
  std::string node_id;  // empty: hostname-pid-random
  int workers = 2;
  int64_t lease_ms = 30000;
  int64_t poll_ms = 500;
  // How long Stop() waits for running handlers before it stops heartbeating
  // their leases (so other nodes can take the jobs over once they expire).
  int64_t stop_grace_ms = 10000;
};

class JobService {
 public:
  JobService(store::Database& db, const Clock& clock, Options options);
  ~JobService();  // Stop()
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Before Start() / RunOnce(). A node only claims kinds it has registered, so
  // during a rolling deploy a new kind waits for a node that knows it.
  void RegisterKind(JobKind kind);
  std::vector<std::pair<std::string, std::string>> Kinds() const;  // kind, description; sorted
  bool HasKind(const std::string& kind) const;

  // Inside the caller's transaction, so a job commits together with its cause.
  // Unknown kind → kValidation naming "kind". A dedupe_key already used →
  // the existing job's id.
  Result<int64_t> Enqueue(store::Connection& c, const EnqueueRequest& r);

  // Creates or updates the named periodic schedule (cron + IANA zone). A new
  // or changed schedule gets next_run_at computed from now; an unchanged one
  // keeps it, so a slot missed while every node was down still fires (once).
  // Errors are kValidation naming kind, cron or timezone.
  Status EnsureSchedule(const std::string& name, const std::string& kind, const std::string& cron,
                        const std::string& tz, const json::object& payload);

  Result<Job> Get(store::Connection& c, int64_t id);
  Result<JobPage> List(const JobFilter& f);
  // [{"id","name","kind","cron","timezone","enabled","next_run_at","last_job_id"}], by name.
  Result<json::array> ListSchedules();

  // queued → cancelled at once; running → cancel_requested = 1 (the handler
  // decides); finished → kFailedPrecondition. Returns the job after the change.
  Result<Job> RequestCancel(store::Connection& c, int64_t id);

  // Jobs per state (every state present, 0 when none): queue depth for metrics.
  std::map<std::string, int64_t> CountByState();

  // One synchronous round: fire due schedules, then claim and run due jobs on
  // the calling thread until none is due (at most max_jobs). Returns jobs run.
  int RunOnce(int max_jobs = 100);

  // `workers` threads polling every poll_ms (woken early by Enqueue in this
  // process), a schedule thread and a lease heartbeat thread.
  void Start();
  // Stops claiming and waits for running handlers; one still running after
  // stop_grace_ms keeps its lease without heartbeats (another node takes the
  // job over after expiry) and Stop() goes on waiting for it to return.
  void Stop();

  const std::string& node_id() const { return options_.node_id; }

 private:
  friend class JobContext;
  struct Claimed {
    int64_t job_id;
    int attempt;
    int64_t run_id;
    std::string kind;
    json::object payload;
  };

  Result<int64_t> EnqueueInternal(store::Connection& c, const EnqueueRequest& r,
                                  std::optional<int64_t> schedule_id);
  // Claims the next due job of a registered kind; nullopt when none is due.
  Result<std::optional<Claimed>> ClaimNext();
  void RunClaimed(const Claimed& claimed);
  Status Finish(const Claimed& claimed, JobContext& ctx, const Status& result);
  // Fires every due schedule; returns how many jobs were enqueued.
  int FireDueSchedules();
  void HeartbeatOnce();
  // Both return the job's cancel_requested flag, or nullopt when the attempt
  // no longer holds the lease. ExtendLease also writes progress when given.
  Result<std::optional<bool>> ExtendLease(int64_t job_id, int attempt,
                                          std::optional<std::pair<int64_t, int64_t>> progress);
  Result<std::optional<bool>> ReadCancel(int64_t job_id, int attempt);
  int64_t Backoff(int attempt) const;
  void WorkerLoop();
  void ScheduleLoop();
  void HeartbeatLoop();
  void Kick();

  store::Database& db_;
  const Clock& clock_;
  Options options_;

  mutable std::mutex kinds_mu_;
  std::map<std::string, JobKind> kinds_;

  std::mutex mu_;                    // guards everything below
  std::condition_variable wake_cv_;  // workers and the schedule thread
  std::condition_variable idle_cv_;  // active_ became empty
  std::condition_variable hb_cv_;    // heartbeat thread
  bool started_ = false;
  bool stopping_ = false;
  bool heartbeat_stop_ = false;
  bool heartbeat_paused_ = false;  // after the stop grace: let leases expire
  uint64_t kicks_ = 0;
  std::map<int64_t, JobContext*> active_;  // job_runs id → context of a running handler
  std::map<int64_t, bool> bad_schedules_;  // schedule ids already logged as broken
  std::vector<std::thread> workers_;
  std::thread scheduler_;
  std::thread heartbeat_;
};

}  // namespace kontor::jobs
