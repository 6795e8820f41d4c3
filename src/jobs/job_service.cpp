#include "jobs/job_service.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <random>
#include <sstream>
#include <tuple>

#include "core/log.h"
#include "core/retry.h"
#include "jobs/cron.h"

namespace kontor::jobs {
namespace {

// Progress writes and cancel-flag reads are throttled to this much clock time.
constexpr int64_t kThrottleMs = 250;
constexpr int64_t kBackoffBaseMs = 1000;
constexpr int64_t kBackoffCapMs = 3600 * 1000;
constexpr int kMaxListLimit = 500;
constexpr size_t kMaxErrorLen = 2000;
constexpr int kMaxAttemptsLimit = 100;
// After a kick that found nothing (the enqueuing transaction may not have
// committed yet), look again after 50, 100, ... 1600 ms instead of a full poll.
constexpr int64_t kKickRecheckMs = 50;
constexpr int64_t kKickRecheckMaxMs = 1600;

constexpr const char* kStates[] = {"queued", "running", "succeeded", "failed", "cancelled"};

constexpr const char* kJobSelect =
    "SELECT j.id, j.kind, j.payload, j.state, j.run_at, j.attempts, j.max_attempts, "
    "j.lease_owner, j.lease_expires_at, j.progress_done, j.progress_total, j.last_error, "
    "j.schedule_id, j.cancel_requested, j.created_by, j.created_at, j.updated_at, "
    "j.finished_at, s.name FROM jobs j LEFT JOIN schedules s ON s.id = j.schedule_id";

// Guard shared by every write that concludes or extends an attempt.
constexpr const char* kOwnedBy =
    " WHERE id = ? AND lease_owner = ? AND attempts = ? AND state = 'running'";

json::object ParsePayload(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

Job RowToJob(const store::Row& r) {
  Job j;
  j.id = r.Int(0);
  j.kind = r.Str(1);
  j.payload = ParsePayload(r.Str(2));
  j.state = r.Str(3);
  j.run_at = r.Int(4);
  j.attempts = static_cast<int>(r.Int(5));
  j.max_attempts = static_cast<int>(r.Int(6));
  j.lease_owner = r.OptStr(7);
  j.lease_expires_at = r.OptInt(8);
  j.progress_done = r.Int(9);
  j.progress_total = r.Int(10);
  j.last_error = r.OptStr(11);
  j.schedule_id = r.OptInt(12);
  j.cancel_requested = r.Int(13) != 0;
  j.created_by = r.Str(14);
  j.created_at = r.Int(15);
  j.updated_at = r.Int(16);
  j.finished_at = r.OptInt(17);
  j.schedule_name = r.OptStr(18);
  return j;
}

std::string Truncate(std::string s) {
  if (s.size() > kMaxErrorLen) {
    s.resize(kMaxErrorLen);
    s += "...";
  }
  return s;
}

std::string DefaultNodeId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, 8, "node");
  std::random_device rd;
  std::ostringstream id;
  id << host << "-" << getpid() << "-" << std::hex << (rd() & 0xffffff);
  return id.str();
}

bool IsCancelled(const Status& st) {
  return st.code() == StatusCode::kFailedPrecondition && st.message() == "cancelled";
}

std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

}  // namespace

json::object JobToJson(const Job& job) {
  json::object o;
  o["id"] = std::to_string(job.id);
  o["kind"] = job.kind;
  o["state"] = job.state;
  o["payload"] = job.payload;
  o["run_at"] = FormatRfc3339(job.run_at);
  o["attempts"] = job.attempts;
  o["max_attempts"] = job.max_attempts;
  o["progress"] = json::object{{"done", job.progress_done}, {"total", job.progress_total}};
  o["last_error"] = NullOr(job.last_error);
  o["lease_owner"] = NullOr(job.lease_owner);
  o["lease_expires_at"] = TimeOrNull(job.lease_expires_at);
  o["schedule"] = NullOr(job.schedule_name);
  o["created_at"] = FormatRfc3339(job.created_at);
  o["updated_at"] = FormatRfc3339(job.updated_at);
  o["finished_at"] = TimeOrNull(job.finished_at);
  return o;
}

// ---------------------------------------------------------------------------
// JobContext

const Clock& JobContext::clock() const { return service_->clock_; }

Status JobContext::SetProgress(int64_t done, int64_t total) {
  progress_ = {done, total};
  if (lease_lost_) return Status::FailedPrecondition("lease lost");
  const int64_t now = clock().NowMs();
  if (done != total && last_progress_write_ms_ && now - *last_progress_write_ms_ < kThrottleMs) {
    return Status::Ok();  // written by Finish at the latest
  }
  last_progress_write_ms_ = now;
  auto extended = service_->ExtendLease(job_id_, attempt_, progress_);
  if (!extended.ok()) {
    // Progress is advisory and the heartbeat also keeps the lease: a database
    // hiccup here should not make a handler give up its work.
    LogWarn("job progress write failed",
            {{"job_id", job_id_}, {"error", extended.status().ToString()}});
    return Status::Ok();
  }
  const std::optional<bool>& cancel = *extended;
  if (!cancel) {
    lease_lost_ = true;
    return Status::FailedPrecondition("lease lost");
  }
  if (*cancel) cancel_seen_ = true;
  last_cancel_check_ms_ = now;  // the flag was just read
  return Status::Ok();
}

bool JobContext::CancelRequested() {
  if (cancel_seen_ || lease_lost_) return true;
  const int64_t now = clock().NowMs();
  if (last_cancel_check_ms_ && now - *last_cancel_check_ms_ < kThrottleMs) return false;
  last_cancel_check_ms_ = now;
  auto r = service_->ReadCancel(job_id_, attempt_);
  if (!r.ok()) return false;  // a database hiccup is no reason to abandon the work
  if (!*r) {
    lease_lost_ = true;
    return true;
  }
  if (**r) cancel_seen_ = true;
  return **r;
}

// ---------------------------------------------------------------------------
// JobService

JobService::JobService(store::Database& db, const Clock& clock, Options options)
    : db_(db), clock_(clock), options_(std::move(options)) {
  if (options_.node_id.empty()) options_.node_id = DefaultNodeId();
  options_.workers = std::max(options_.workers, 0);
  options_.lease_ms = std::max<int64_t>(options_.lease_ms, 30);
  options_.poll_ms = std::max<int64_t>(options_.poll_ms, 1);
  options_.stop_grace_ms = std::max<int64_t>(options_.stop_grace_ms, 0);
}

JobService::~JobService() { Stop(); }

void JobService::RegisterKind(JobKind kind) {
  std::lock_guard lock(kinds_mu_);
  kind.max_attempts = std::clamp(kind.max_attempts, 1, kMaxAttemptsLimit);
  std::string name = kind.kind;
  kinds_[name] = std::move(kind);
}

std::vector<std::pair<std::string, std::string>> JobService::Kinds() const {
  std::lock_guard lock(kinds_mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, k] : kinds_) out.emplace_back(name, k.description);
  return out;
}

bool JobService::HasKind(const std::string& kind) const {
  std::lock_guard lock(kinds_mu_);
  return kinds_.count(kind) > 0;
}

Result<int64_t> JobService::Enqueue(store::Connection& c, const EnqueueRequest& r) {
  return EnqueueInternal(c, r, std::nullopt);
}

Result<int64_t> JobService::EnqueueInternal(store::Connection& c, const EnqueueRequest& r,
                                            std::optional<int64_t> schedule_id) {
  int max_attempts;
  {
    std::lock_guard lock(kinds_mu_);
    auto it = kinds_.find(r.kind);
    if (it == kinds_.end()) {
      return Status::Validation({{"kind", "unknown job kind \"" + r.kind + "\""}});
    }
    max_attempts = it->second.max_attempts;
    if (it->second.validate) RETURN_IF_ERROR(it->second.validate(r.payload));
  }
  if (r.max_attempts) {
    if (*r.max_attempts < 1 || *r.max_attempts > kMaxAttemptsLimit) {
      return Status::Validation(
          {{"max_attempts", "must be between 1 and " + std::to_string(kMaxAttemptsLimit)}});
    }
    max_attempts = *r.max_attempts;
  }
  if (r.dedupe_key && r.dedupe_key->empty()) {
    return Status::Validation({{"dedupe_key", "must not be empty"}});
  }
  const int64_t now = clock_.NowMs();
  const std::string find_sql = "SELECT id FROM jobs WHERE dedupe_key = ?";
  if (r.dedupe_key) {
    ASSIGN_OR_RETURN(auto existing, c.QueryRow(find_sql, {*r.dedupe_key}));
    if (existing) return existing->Int(0);
  }
  // ON CONFLICT rather than catching the unique violation: on PostgreSQL a
  // failed statement would abort the caller's whole transaction.
  ASSIGN_OR_RETURN(
      auto inserted,
      c.Execute("INSERT INTO jobs (kind, payload, state, run_at, attempts, max_attempts, "
                "schedule_id, dedupe_key, created_by, created_at, updated_at) "
                "VALUES (?, ?, 'queued', ?, 0, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                {r.kind, json::serialize(r.payload), r.run_at.value_or(now), max_attempts,
                 schedule_id, r.dedupe_key, r.created_by, now, now}));
  if (inserted.rows.empty()) {
    // A concurrent transaction used the key first and has committed by now.
    ASSIGN_OR_RETURN(auto existing, c.QueryRow(find_sql, {*r.dedupe_key}));
    if (!existing) return Status::Unavailable("dedupe_key conflict; retry");
    return existing->Int(0);
  }
  Kick();
  return inserted.rows.front().Int(0);
}

Status JobService::EnsureSchedule(const std::string& name, const std::string& kind,
                                  const std::string& cron, const std::string& tz,
                                  const json::object& payload) {
  std::vector<FieldError> errors;
  if (name.empty()) errors.push_back({"name", "must not be empty"});
  if (!HasKind(kind)) errors.push_back({"kind", "unknown job kind \"" + kind + "\""});
  auto parsed = CronSchedule::Parse(cron);
  if (!parsed.ok()) errors.push_back({"cron", parsed.status().message()});
  Status zone = CheckTimeZone(tz);
  if (!zone.ok()) errors.push_back({"timezone", zone.message()});
  const int64_t now = clock_.NowMs();
  int64_t next = 0;
  if (parsed.ok() && zone.ok()) {
    auto n = parsed->NextAfter(now, tz);
    if (n.ok()) {
      next = *n;
    } else {
      errors.push_back({"cron", n.status().message()});
    }
  }
  if (!errors.empty()) return Status::Validation(std::move(errors));

  const std::string payload_text = json::serialize(payload);
  return db_.Transact([&](store::Connection& c) -> Status {
    const std::string select =
        "SELECT id, kind, cron, timezone, payload FROM schedules WHERE name = ?";
    ASSIGN_OR_RETURN(auto row, c.QueryRow(select, {name}));
    if (!row) {
      ASSIGN_OR_RETURN(auto ins, c.Execute("INSERT INTO schedules (name, kind, cron, timezone, "
                                           "payload, enabled, next_run_at, created_at, "
                                           "updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) "
                                           "ON CONFLICT (name) DO NOTHING",
                                           {name, kind, cron, tz, payload_text, next, now, now}));
      if (ins.affected == 1) return Status::Ok();
      // Another node created it concurrently: compare with what it wrote.
      ASSIGN_OR_RETURN(row, c.QueryRow(select, {name}));
      if (!row) return Status::Unavailable("schedule " + name + " vanished; retry");
    }
    if (row->Str(1) == kind && row->Str(2) == cron && row->Str(3) == tz &&
        row->Str(4) == payload_text) {
      return Status::Ok();  // unchanged: keep next_run_at so a missed slot still fires
    }
    return c
        .Execute(
            "UPDATE schedules SET kind = ?, cron = ?, timezone = ?, payload = ?, "
            "next_run_at = ?, updated_at = ? WHERE id = ?",
            {kind, cron, tz, payload_text, next, now, row->Int(0)})
        .status();
  });
}

Result<Job> JobService::Get(store::Connection& c, int64_t id) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kJobSelect) + " WHERE j.id = ?", {id}));
  if (!row) return Status::NotFound("job " + std::to_string(id) + " not found");
  return RowToJob(*row);
}

Result<JobPage> JobService::List(const JobFilter& f) {
  if (f.state && std::find(std::begin(kStates), std::end(kStates), *f.state) == std::end(kStates)) {
    return Status::Validation(
        {{"state", "must be one of queued, running, succeeded, failed, cancelled"}});
  }
  const int limit = std::clamp(f.limit, 1, kMaxListLimit);
  std::string sql = std::string(kJobSelect) + " WHERE 1 = 1";
  store::Params params;
  if (f.state) {
    sql += " AND j.state = ?";
    params.emplace_back(*f.state);
  }
  if (f.kind) {
    sql += " AND j.kind = ?";
    params.emplace_back(*f.kind);
  }
  if (f.before_id) {
    sql += " AND j.id < ?";
    params.emplace_back(*f.before_id);
  }
  sql += " ORDER BY j.id DESC LIMIT ?";
  params.emplace_back(limit + 1);  // one extra tells whether there is a next page
  ASSIGN_OR_RETURN(auto res, db_.Execute(sql, params));
  JobPage page;
  for (const auto& row : res.rows) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_before_id = page.items.back().id;
      break;
    }
    page.items.push_back(RowToJob(row));
  }
  return page;
}

Result<json::array> JobService::ListSchedules() {
  ASSIGN_OR_RETURN(auto res, db_.Execute("SELECT id, name, kind, cron, timezone, enabled, "
                                         "next_run_at, last_job_id FROM schedules ORDER BY name"));
  json::array out;
  for (const auto& r : res.rows) {
    auto last = r.OptInt(7);
    out.push_back(json::object{
        {"id", std::to_string(r.Int(0))},
        {"name", r.Str(1)},
        {"kind", r.Str(2)},
        {"cron", r.Str(3)},
        {"timezone", r.Str(4)},
        {"enabled", r.Int(5) != 0},
        {"next_run_at", FormatRfc3339(r.Int(6))},
        {"last_job_id", last ? json::value(std::to_string(*last)) : json::value(nullptr)},
    });
  }
  return out;
}

Result<Job> JobService::RequestCancel(store::Connection& c, int64_t id) {
  // Each UPDATE is conditional on the state just read, so a concurrent claim
  // or finish between the read and the write sends us round again.
  for (int round = 0; round < 3; ++round) {
    ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT state FROM jobs WHERE id = ?", {id}));
    if (!row) return Status::NotFound("job " + std::to_string(id) + " not found");
    const std::string state = row->Str(0);
    const int64_t now = clock_.NowMs();
    store::QueryResult res;
    if (state == "queued") {
      ASSIGN_OR_RETURN(res, c.Execute("UPDATE jobs SET state = 'cancelled', cancel_requested = 1, "
                                      "finished_at = ?, updated_at = ? "
                                      "WHERE id = ? AND state = 'queued'",
                                      {now, now, id}));
    } else if (state == "running") {
      ASSIGN_OR_RETURN(res, c.Execute("UPDATE jobs SET cancel_requested = 1, updated_at = ? "
                                      "WHERE id = ? AND state = 'running'",
                                      {now, id}));
    } else {
      return Status::FailedPrecondition("job " + std::to_string(id) + " is already " + state);
    }
    if (res.affected == 1) return Get(c, id);
  }
  return Status::Unavailable("job " + std::to_string(id) + " keeps changing state; retry");
}

std::map<std::string, int64_t> JobService::CountByState() {
  std::map<std::string, int64_t> out;
  for (const char* s : kStates) out[s] = 0;
  auto res = db_.Execute("SELECT state, COUNT(*) FROM jobs GROUP BY state");
  if (!res.ok()) {
    LogWarn("jobs: counting by state failed", {{"error", res.status().ToString()}});
    return out;
  }
  for (const auto& r : res->rows) out[r.Str(0)] = r.Int(1);
  return out;
}

// ---------------------------------------------------------------------------
// Claiming and running

Result<std::optional<JobService::Claimed>> JobService::ClaimNext() {
  std::vector<std::string> kinds;
  {
    std::lock_guard lock(kinds_mu_);
    for (const auto& [name, k] : kinds_) kinds.push_back(name);
  }
  if (kinds.empty()) return std::optional<Claimed>();

  // A taken-over job that must not run again is concluded in the claiming
  // transaction; then we look for the next one.
  for (int round = 0; round < 16; ++round) {
    std::optional<Claimed> out;
    bool concluded = false;
    Status st = db_.Transact([&](store::Connection& c) -> Status {
      out.reset();
      concluded = false;
      const int64_t now = clock_.NowMs();
      const bool pg = c.dialect() == store::Dialect::kPostgres;
      // PostgreSQL: SKIP LOCKED lets concurrent claimers pass over each
      // other's rows. SQLite has one writer (BEGIN IMMEDIATE), so the plain
      // subquery is already exclusive.
      const std::string due = "kind IN (" + Placeholders(kinds.size()) +
                              ") AND ((state = 'queued' AND run_at <= ?) OR "
                              "(state = 'running' AND lease_expires_at < ?))";
      const std::string sql =
          "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?, "
          "attempts = attempts + 1, updated_at = ? "
          "WHERE id = (SELECT id FROM jobs WHERE " +
          due + " ORDER BY priority DESC, run_at, id LIMIT 1" +
          (pg ? " FOR UPDATE SKIP LOCKED" : "") +
          ") RETURNING id, attempts, max_attempts, cancel_requested, kind, payload";
      store::Params p = {options_.node_id, now + options_.lease_ms, now};
      for (const auto& k : kinds) p.emplace_back(k);
      p.emplace_back(now);
      p.emplace_back(now);
      ASSIGN_OR_RETURN(auto res, c.Execute(sql, p));
      if (res.rows.empty()) return Status::Ok();
      const store::Row& row = res.rows.front();
      const int64_t id = row.Int(0);
      const int attempt = static_cast<int>(row.Int(1));
      const int max_attempts = static_cast<int>(row.Int(2));
      const bool cancel = row.Int(3) != 0;

      // A run still open belongs to a node whose lease expired (a takeover).
      RETURN_IF_ERROR(c.Execute("UPDATE job_runs SET finished_at = ?, outcome = 'lease_expired', "
                                "error = 'lease expired' WHERE job_id = ? AND finished_at IS NULL",
                                {now, id})
                          .status());
      if (cancel || attempt > max_attempts) {
        // Taken over after a cancel request, or the lost attempt was the last
        // one: conclude without running, and don't count an attempt we didn't make.
        std::optional<std::string> error;
        if (!cancel) error = "lease expired on the final attempt";
        RETURN_IF_ERROR(c.Execute("UPDATE jobs SET state = ?, attempts = attempts - 1, "
                                  "last_error = COALESCE(?, last_error), lease_owner = NULL, "
                                  "lease_expires_at = NULL, finished_at = ?, updated_at = ? "
                                  "WHERE id = ?",
                                  {cancel ? "cancelled" : "failed", error, now, now, id})
                            .status());
        concluded = true;
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(auto run, c.Execute("INSERT INTO job_runs (job_id, attempt, node, "
                                           "started_at) VALUES (?, ?, ?, ?) RETURNING id",
                                           {id, attempt, options_.node_id, now}));
      if (run.rows.empty()) return Status::Internal("job_runs insert returned no id");
      out = Claimed{id, attempt, run.rows.front().Int(0), row.Str(4), ParsePayload(row.Str(5))};
      return Status::Ok();
    });
    if (!st.ok()) return st;
    if (!concluded) return out;
  }
  return std::optional<Claimed>();
}

void JobService::RunClaimed(const Claimed& cl) {
  Handler handler;
  {
    std::lock_guard lock(kinds_mu_);
    auto it = kinds_.find(cl.kind);
    if (it != kinds_.end()) handler = it->second.handler;
  }
  JobContext ctx(this, cl.job_id, cl.attempt, cl.payload);
  {
    std::lock_guard lock(mu_);
    active_[cl.run_id] = &ctx;
  }
  json::object log_fields{{"job_id", cl.job_id}, {"kind", cl.kind}, {"attempt", cl.attempt}};
  Status result;
  if (!handler) {
    result = Status::InvalidArgument("no handler for kind " + cl.kind);
  } else {
    std::optional<std::string> thrown;
    try {
      result = handler(ctx);
    } catch (const std::exception& e) {
      thrown = e.what();
    } catch (...) {
      thrown = "a non-standard exception";
    }
    if (thrown) {
      // Counts as a retryable failure, like any error other than invalid input.
      result = Status::Internal("handler threw: " + *thrown);
      json::object f = log_fields;
      f["error"] = *thrown;
      LogError("job handler threw", f);
    }
  }

  // The result must land or the job would rerun after its lease expires;
  // ride out a short database hiccup (the heartbeat keeps the lease meanwhile).
  Status st = Finish(cl, ctx, result);
  for (int i = 0; i < 4 && !st.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << i));
    st = Finish(cl, ctx, result);
  }
  if (!st.ok()) {
    json::object f = log_fields;
    f["error"] = st.ToString();
    LogError("job result could not be recorded; it will run again after its lease expires", f);
  }
  std::lock_guard lock(mu_);
  active_.erase(cl.run_id);
  if (active_.empty()) idle_cv_.notify_all();
}

Status JobService::Finish(const Claimed& cl, JobContext& ctx, const Status& result) {
  bool lost = false;
  std::string outcome;
  int64_t retry_at = 0;
  Status st = db_.Transact([&](store::Connection& c) -> Status {
    lost = false;
    const int64_t now = clock_.NowMs();
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT cancel_requested, max_attempts "
                                                      "FROM jobs") +
                                              kOwnedBy,
                                          {cl.job_id, options_.node_id, cl.attempt}));
    if (!row) {
      lost = true;
      return Status::Ok();
    }
    const bool cancel_requested = row->Int(0) != 0;
    const int max_attempts = static_cast<int>(row->Int(1));
    std::string state;
    std::optional<int64_t> run_at, finished_at = now;
    std::optional<std::string> error;
    if (result.ok()) {
      state = "succeeded";
    } else if (IsCancelled(result)) {
      state = "cancelled";
    } else {
      error = Truncate(result.ToString());
      const bool permanent =
          result.code() == StatusCode::kInvalidArgument || result.code() == StatusCode::kValidation;
      if (cancel_requested) {
        state = "cancelled";  // no point retrying what was asked to stop
      } else if (permanent || cl.attempt >= max_attempts) {
        state = "failed";
      } else {
        state = "queued";
        run_at = retry_at = now + Backoff(cl.attempt);
        finished_at.reset();
      }
    }
    outcome = state == "queued" ? "retry" : state;
    std::optional<int64_t> done, total;
    if (ctx.progress_) {
      done = ctx.progress_->first;
      total = ctx.progress_->second;
    }
    ASSIGN_OR_RETURN(
        auto upd,
        c.Execute(std::string("UPDATE jobs SET state = ?, run_at = COALESCE(?, run_at), "
                              "last_error = COALESCE(?, last_error), lease_owner = NULL, "
                              "lease_expires_at = NULL, progress_done = COALESCE(?, "
                              "progress_done), progress_total = COALESCE(?, progress_total), "
                              "updated_at = ?, finished_at = ?") +
                      kOwnedBy,
                  {state, run_at, error, done, total, now, finished_at, cl.job_id, options_.node_id,
                   cl.attempt}));
    if (upd.affected != 1) {
      lost = true;
      return Status::Ok();
    }
    return c
        .Execute("UPDATE job_runs SET finished_at = ?, outcome = ?, error = ? WHERE id = ?",
                 {now, outcome, error, cl.run_id})
        .status();
  });
  if (!st.ok()) return st;

  json::object f{{"job_id", cl.job_id}, {"kind", cl.kind}, {"attempt", cl.attempt}};
  if (!result.ok()) f["error"] = result.ToString();
  if (lost) {
    LogWarn("job lease was taken over; this attempt's result is discarded", f);
  } else if (outcome == "retry") {
    f["retry_at"] = FormatRfc3339(retry_at);
    LogWarn("job failed; will retry", f);
  } else if (outcome == "failed") {
    LogError("job failed", f);
  } else {
    LogDebug("job " + outcome, f);
  }
  return Status::Ok();
}

int64_t JobService::Backoff(int attempt) const {
  return BackoffMs(attempt, kBackoffBaseMs, kBackoffCapMs);
}

Result<std::optional<bool>> JobService::ExtendLease(
    int64_t job_id, int attempt, std::optional<std::pair<int64_t, int64_t>> progress) {
  const int64_t now = clock_.NowMs();
  Result<store::QueryResult> res = Status::Internal("not run");
  if (progress) {
    res = db_.Execute(std::string("UPDATE jobs SET lease_expires_at = ?, progress_done = ?, "
                                  "progress_total = ?, updated_at = ?") +
                          kOwnedBy + " RETURNING cancel_requested",
                      {now + options_.lease_ms, progress->first, progress->second, now, job_id,
                       options_.node_id, attempt});
  } else {
    res = db_.Execute(std::string("UPDATE jobs SET lease_expires_at = ?") + kOwnedBy +
                          " RETURNING cancel_requested",
                      {now + options_.lease_ms, job_id, options_.node_id, attempt});
  }
  if (!res.ok()) return res.status();
  if (res->rows.empty()) return std::optional<bool>();
  return std::optional<bool>(res->rows.front().Int(0) != 0);
}

Result<std::optional<bool>> JobService::ReadCancel(int64_t job_id, int attempt) {
  ASSIGN_OR_RETURN(auto row,
                   db_.QueryRow(std::string("SELECT cancel_requested FROM jobs") + kOwnedBy,
                                {job_id, options_.node_id, attempt}));
  if (!row) return std::optional<bool>();
  return std::optional<bool>(row->Int(0) != 0);
}

void JobService::HeartbeatOnce() {
  std::vector<std::tuple<int64_t, int64_t, int>> runs;  // run id, job id, attempt
  {
    std::lock_guard lock(mu_);
    for (const auto& [run_id, ctx] : active_)
      runs.emplace_back(run_id, ctx->job_id_, ctx->attempt_);
  }
  for (const auto& [run_id, job_id, attempt] : runs) {
    auto r = ExtendLease(job_id, attempt, std::nullopt);
    if (!r.ok()) {
      LogWarn("job lease heartbeat failed", {{"job_id", job_id}, {"error", r.status().ToString()}});
      continue;
    }
    std::lock_guard lock(mu_);
    auto it = active_.find(run_id);
    if (it == active_.end()) continue;  // finished meanwhile
    if (!*r) {
      it->second->lease_lost_ = true;
    } else if (**r) {
      it->second->cancel_seen_ = true;
    }
  }
}

// ---------------------------------------------------------------------------
// Schedules

int JobService::FireDueSchedules() {
  const int64_t now = clock_.NowMs();
  auto due = db_.Execute(
      "SELECT id, name, kind, cron, timezone, payload, next_run_at "
      "FROM schedules WHERE enabled = 1 AND next_run_at <= ? "
      "ORDER BY next_run_at, id",
      {now});
  if (!due.ok()) {
    LogWarn("jobs: reading due schedules failed", {{"error", due.status().ToString()}});
    return 0;
  }
  int fired = 0;
  for (const auto& row : due->rows) {
    const int64_t id = row.Int(0);
    const std::string name = row.Str(1), kind = row.Str(2), cron = row.Str(3), tz = row.Str(4);
    const int64_t slot = row.Int(6);
    if (!HasKind(kind)) continue;  // a node that knows the kind will fire it
    // From now, not from the slot: runs missed while down collapse into one.
    auto parsed = CronSchedule::Parse(cron);
    Result<int64_t> next = parsed.ok() ? parsed->NextAfter(now, tz) : parsed.status();
    if (!next.ok()) {
      std::lock_guard lock(mu_);
      if (!bad_schedules_[id]) {
        bad_schedules_[id] = true;
        LogError("schedule cannot be evaluated; not firing it",
                 {{"schedule", name}, {"error", next.status().ToString()}});
      }
      continue;
    }
    int64_t job_id = 0;
    bool won = false;
    Status st = db_.Transact([&](store::Connection& c) -> Status {
      won = false;
      EnqueueRequest r;
      r.kind = kind;
      r.payload = ParsePayload(row.Str(5));
      r.run_at = slot;
      // Second guard behind the compare-and-set below.
      r.dedupe_key = "schedule:" + std::to_string(id) + ":" + std::to_string(slot);
      r.created_by = "schedule:" + name;
      ASSIGN_OR_RETURN(job_id, EnqueueInternal(c, r, id));
      ASSIGN_OR_RETURN(auto upd, c.Execute("UPDATE schedules SET next_run_at = ?, last_job_id = ?, "
                                           "updated_at = ? WHERE id = ? AND next_run_at = ?",
                                           {*next, job_id, now, id, slot}));
      if (upd.affected != 1) {
        // Another node fired this slot first; roll back our enqueue.
        return Status::Conflict("schedule slot already fired");
      }
      won = true;
      return Status::Ok();
    });
    if (st.ok() && won) {
      ++fired;
      LogInfo("schedule fired", {{"schedule", name},
                                 {"job_id", job_id},
                                 {"slot", FormatRfc3339(slot)},
                                 {"next_run_at", FormatRfc3339(*next)}});
    } else if (st.code() != StatusCode::kConflict) {
      LogWarn("schedule firing failed", {{"schedule", name}, {"error", st.ToString()}});
    }
  }
  return fired;
}

// ---------------------------------------------------------------------------
// Threads

int JobService::RunOnce(int max_jobs) {
  FireDueSchedules();
  int ran = 0;
  while (ran < max_jobs) {
    auto claimed = ClaimNext();
    if (!claimed.ok()) {
      LogWarn("jobs: claiming failed", {{"error", claimed.status().ToString()}});
      break;
    }
    if (!*claimed) break;
    RunClaimed(**claimed);
    ++ran;
  }
  return ran;
}

void JobService::Kick() {
  {
    std::lock_guard lock(mu_);
    ++kicks_;
  }
  wake_cv_.notify_all();
}

void JobService::WorkerLoop() {
  // After a kick that found nothing, look again soon with a doubling delay:
  // the enqueuing transaction may not have committed yet.
  int64_t recheck_ms = 0;
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = kicks_;
    }
    auto claimed = ClaimNext();
    if (claimed.ok() && *claimed) {
      RunClaimed(**claimed);
      recheck_ms = 0;
      continue;
    }
    if (!claimed.ok()) {
      LogWarn("jobs: claiming failed", {{"error", claimed.status().ToString()}});
    }
    int64_t wait_ms = options_.poll_ms;
    if (recheck_ms > 0 && recheck_ms < options_.poll_ms) {
      wait_ms = recheck_ms;
      recheck_ms = recheck_ms * 2 > kKickRecheckMaxMs ? 0 : recheck_ms * 2;
    }
    std::unique_lock lock(mu_);
    if (wake_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                          [&] { return stopping_ || kicks_ != seen; })) {
      recheck_ms = kKickRecheckMs;
    }
  }
}

void JobService::ScheduleLoop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (FireDueSchedules() > 0) Kick();
    std::unique_lock lock(mu_);
    wake_cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [&] { return stopping_; });
  }
}

void JobService::HeartbeatLoop() {
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(options_.lease_ms / 3, 10));
  for (;;) {
    {
      std::unique_lock lock(mu_);
      hb_cv_.wait_for(lock, interval, [&] { return heartbeat_stop_; });
      if (heartbeat_stop_) return;
      if (heartbeat_paused_) continue;
    }
    HeartbeatOnce();
  }
}

void JobService::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  heartbeat_stop_ = false;
  heartbeat_paused_ = false;
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  scheduler_ = std::thread([this] { ScheduleLoop(); });
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  LogInfo("job service started", {{"node", options_.node_id}, {"workers", options_.workers}});
}

void JobService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  wake_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  {
    std::unique_lock lock(mu_);
    if (!idle_cv_.wait_for(lock, std::chrono::milliseconds(options_.stop_grace_ms),
                           [&] { return active_.empty(); })) {
      json::array ids;
      for (const auto& [run_id, ctx] : active_) ids.push_back(ctx->job_id_);
      LogWarn("job handlers still running after the stop grace; their leases will lapse",
              {{"job_ids", ids}});
      heartbeat_paused_ = true;
    }
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
  {
    std::lock_guard lock(mu_);
    heartbeat_stop_ = true;
  }
  hb_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  std::lock_guard lock(mu_);
  started_ = false;
  stopping_ = false;
}

}  // namespace kontor::jobs
