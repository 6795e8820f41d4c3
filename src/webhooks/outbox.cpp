#include "webhooks/outbox.h"

#include <algorithm>

#include "audit/audit.h"
#include "core/log.h"
#include "core/retry.h"
#include "webhooks/events.h"
#include "webhooks/signing.h"

namespace kontor::webhooks {
namespace {

constexpr size_t kMaxExcerpt = 4096;

// Response bodies are stored as text and rendered in JSON: invalid UTF-8
// and NUL (which PostgreSQL TEXT refuses) become U+FFFD, and a character cut
// by the excerpt limit is dropped.
std::string ToValidUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= in.size() && c != 0;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len > 1) {
      // Overlong forms, surrogates and code points above U+10FFFF.
      uint32_t cp = c & (0xFF >> (len + 1));
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (in[i + k] & 0x3F);
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (!ok) {
      if (i + len > in.size() && len > 0) break;  // cut off at the end
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

// Erasure: the delivery log must not keep what the feed no longer does. The
// customer's earlier events are rewritten as the feed now renders them (the
// record's key only), pending ones included, and responses are dropped.
Status ScrubErasedCustomer(store::Connection& c, const std::string& customer, int64_t erased_seq) {
  ASSIGN_OR_RETURN(auto rows, c.Execute("SELECT d.id, ch.seq, ch.op, ch.at FROM changes ch "
                                        "JOIN webhook_deliveries d ON d.change_seq = ch.seq "
                                        "WHERE ch.customer_key = ? AND ch.entity = 'customer' "
                                        "AND ch.seq < ?",
                                        {customer, erased_seq}));
  for (const auto& row : rows.rows) {
    std::optional<Event> ev =
        EventForChange({row.Int(1), "customer", customer, row.Str(2), row.Int(3), nullptr});
    RETURN_IF_ERROR(
        c.Execute("UPDATE webhook_deliveries SET request_body = ?, response_body = NULL "
                  "WHERE id = ?",
                  {EventBody(*ev), row.Int(0)})
            .status());
  }
  return Status::Ok();
}

}  // namespace

struct Outbox::Claimed {
  int64_t id = 0;
  int64_t webhook_id = 0;
  std::string event_id;
  std::string event_type;
  std::string body;
  int64_t attempt = 0;
  int64_t max_attempts = 0;
  std::string url;
  std::string secret;
};

Outbox::Outbox(store::Database& db, const Clock& clock, const HttpClient& client, Options options)
    : db_(db), clock_(clock), client_(client), options_(std::move(options)) {}

Outbox::~Outbox() { Stop(); }

Result<int> Outbox::FanOut(int max_changes) {
  // Everything is read and planned outside the write transaction, which then
  // only moves the cursor and inserts: bulk syncs write thousands of changes
  // a second, and on SQLite every write transaction here is time the sync's
  // writers wait. Planning ahead is safe because the cursor moves by
  // compare-and-set: if another node fanned these changes out meanwhile, the
  // plan is thrown away.
  ASSIGN_OR_RETURN(auto state, db_.QueryRow("SELECT cursor FROM webhook_state WHERE id = 1"));
  if (!state) return Status::Internal("webhook_state has no row");
  const int64_t cursor = state->Int(0);
  ASSIGN_OR_RETURN(auto changes,
                   db_.Execute("SELECT seq, entity, entity_key, op, at, data FROM changes "
                               "WHERE seq > ? ORDER BY seq LIMIT ?",
                               {cursor, static_cast<int64_t>(max_changes)}));
  if (changes.rows.empty()) return 0;
  const int64_t last = changes.rows.back().Int(0);

  struct Hook {
    int64_t id;
    std::vector<std::string> events;
    int64_t since_seq;
  };
  std::vector<Hook> hooks;
  ASSIGN_OR_RETURN(auto hr,
                   db_.Execute("SELECT id, events, since_seq FROM webhooks WHERE enabled = 1"));
  for (const auto& row : hr.rows)
    hooks.push_back({row.Int(0), ParseStringArray(row.Str(1)), row.Int(2)});

  struct Delivery {
    int64_t webhook_id;
    std::string event_id, event_type;
    int64_t seq;
    std::string body;
  };
  std::vector<Delivery> deliveries;
  std::vector<std::pair<std::string, int64_t>> erased;  // customer key, seq
  for (const auto& row : changes.rows) {
    FeedChange ch{row.Int(0), row.Str(1), row.Str(2), row.Str(3), row.Int(4), nullptr};
    if (ch.entity == "customer" && ch.op == "delete") erased.emplace_back(ch.key, ch.seq);
    if (hooks.empty()) continue;  // no event to build
    if (!row.IsNull(5)) {
      std::error_code ec;
      ch.data = json::parse(row.Str(5), ec);
      if (ec) ch.data = nullptr;
    }
    std::optional<Event> ev = EventForChange(ch);
    if (!ev) continue;
    std::optional<std::string> body;
    for (const auto& h : hooks) {
      if (ch.seq <= h.since_seq || !Subscribed(h.events, ev->type)) continue;
      if (!body) body = EventBody(*ev);
      deliveries.push_back({h.id, ev->id, ev->type, ch.seq, *body});
    }
  }

  bool moved = false;
  Status st = db_.Transact([&](store::Connection& c) -> Status {
    moved = false;
    // The compare-and-set comes first: it also locks the row, so a second
    // node's fan-out waits here and then finds the cursor moved.
    ASSIGN_OR_RETURN(auto cas,
                     c.Execute("UPDATE webhook_state SET cursor = ? WHERE id = 1 AND cursor = ?",
                               {last, cursor}));
    if (cas.affected == 0) return Status::Ok();
    const int64_t now = clock_.NowMs();
    for (const auto& d : deliveries) {
      RETURN_IF_ERROR(
          c.Execute("INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, "
                    "change_seq, status, attempts, max_attempts, next_attempt_at, "
                    "request_body, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                    {d.webhook_id, d.event_id, d.event_type, d.seq, options_.max_attempts, now,
                     d.body, now})
              .status());
    }
    for (const auto& [key, seq] : erased) RETURN_IF_ERROR(ScrubErasedCustomer(c, key, seq));
    moved = true;
    return Status::Ok();
  });
  // A unique violation means another node inserted the same deliveries and
  // will commit the cursor: nothing is lost by stepping aside.
  if (st.code() == StatusCode::kConflict) return 0;
  RETURN_IF_ERROR(st);
  return moved ? static_cast<int>(changes.rows.size()) : 0;
}

int64_t Outbox::Backoff(int attempt) const {
  return BackoffMs(attempt, options_.backoff_base_ms, options_.backoff_max_ms);
}

Result<std::optional<Outbox::Claimed>> Outbox::Claim() {
  // A claimed delivery whose endpoint was disabled meanwhile is concluded in
  // the claiming transaction; then we look for the next one.
  for (int round = 0; round < 16; ++round) {
    std::optional<Claimed> out;
    bool concluded = false;
    RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
      out.reset();
      concluded = false;
      const int64_t now = clock_.NowMs();
      const bool pg = c.dialect() == store::Dialect::kPostgres;
      const int64_t lease = options_.timeout_ms + 60000;
      // PostgreSQL: SKIP LOCKED lets claimers on several nodes pass over each
      // other's rows; SQLite has one writer, so the subquery is exclusive.
      const std::string sql =
          std::string(
              "UPDATE webhook_deliveries SET lease_owner = ?, lease_expires_at = ?, "
              "attempts = attempts + 1, last_attempt_at = ? WHERE id = (SELECT id FROM "
              "webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND "
              "(lease_expires_at IS NULL OR lease_expires_at < ?) ORDER BY next_attempt_at, id "
              "LIMIT 1") +
          (pg ? " FOR UPDATE SKIP LOCKED" : "") +
          ") RETURNING id, webhook_id, event_id, event_type, request_body, attempts, max_attempts";
      ASSIGN_OR_RETURN(auto r, c.Execute(sql, {options_.node_id, now + lease, now, now, now}));
      if (r.rows.empty()) return Status::Ok();
      const store::Row& row = r.rows.front();
      Claimed cl{row.Int(0), row.Int(1), row.Str(2), row.Str(3), row.Str(4),
                 row.Int(5), row.Int(6), "",         ""};
      ASSIGN_OR_RETURN(auto w,
                       c.QueryRow("SELECT url, secret, enabled, disabled_reason FROM webhooks "
                                  "WHERE id = ?",
                                  {cl.webhook_id}));
      std::optional<std::string> fail;
      if (w && w->Int(2) == 0 && cl.event_type != "ping") {
        fail = w->OptStr(3).value_or("webhook disabled");
      } else if (cl.attempt > cl.max_attempts) {
        // The previous owner's lease expired on the final attempt.
        fail = "lease expired on the final attempt";
      }
      if (fail) {
        RETURN_IF_ERROR(
            c.Execute("UPDATE webhook_deliveries SET status = 'failed', attempts = attempts - 1, "
                      "next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, "
                      "error = ? WHERE id = ?",
                      {*fail, cl.id})
                .status());
        concluded = true;
        return Status::Ok();
      }
      cl.url = w->Str(0);
      cl.secret = w->Str(1);
      out = std::move(cl);
      return Status::Ok();
    }));
    if (!concluded) return out;
  }
  return std::optional<Claimed>();
}

Result<bool> Outbox::DeliverNext() {
  ASSIGN_OR_RETURN(std::optional<Claimed> cl, Claim());
  if (!cl) return false;
  const int64_t ts = clock_.NowMs() / 1000;
  PostRequest req;
  req.url = cl->url;
  req.timeout = std::chrono::milliseconds(options_.timeout_ms);
  req.max_response_bytes = kMaxExcerpt;
  req.body = cl->body;
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "Kontor-Webhooks/1"},
                 {"Kontor-Event-Id", cl->event_id},
                 {"Kontor-Event-Type", cl->event_type},
                 {"Kontor-Delivery-Id", std::to_string(cl->id)},
                 {"Kontor-Timestamp", std::to_string(ts)},
                 {"Kontor-Signature", Sign(cl->secret, ts, cl->body)}};
  PostResult res = client_.Post(req);
  // The outcome must land, or the delivery is sent again after its lease
  // expires; ride out a short database hiccup.
  Status st;
  for (int i = 0; i < 5; ++i) {
    st = Record(*cl, res, req.headers);
    if (st.ok() || st.code() == StatusCode::kFailedPrecondition) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << i));
  }
  if (st.code() == StatusCode::kFailedPrecondition) {
    LogWarn("webhook delivery lease was lost; this attempt's outcome is discarded",
            {{"delivery_id", cl->id}});
  } else if (!st.ok()) {
    LogError("webhook delivery outcome could not be recorded; it will be sent again",
             {{"delivery_id", cl->id}, {"error", st.ToString()}});
  }
  return true;
}

Status Outbox::Record(const Claimed& cl, const PostResult& res,
                      const std::vector<std::pair<std::string, std::string>>& headers) {
  const bool ok = res.status >= 200 && res.status < 300;
  std::optional<std::string> error;
  if (!ok) error = res.status != 0 ? "HTTP " + std::to_string(res.status) : res.error;
  json::object sent;
  for (const auto& [k, v] : headers) sent[k] = v;
  const std::string sent_json = json::serialize(sent);
  const std::optional<std::string> excerpt =
      res.status != 0 ? std::optional<std::string>(ToValidUtf8(res.body.substr(0, kMaxExcerpt)))
                      : std::nullopt;
  const std::optional<int64_t> status =
      res.status != 0 ? std::optional<int64_t>(res.status) : std::nullopt;

  return db_.Transact([&](store::Connection& c) -> Status {
    const int64_t now = clock_.NowMs();
    // Locks the endpoint's row: its failure count moves one attempt at a time.
    ASSIGN_OR_RETURN(auto w,
                     c.Execute(ok ? "UPDATE webhooks SET consecutive_failures = 0 WHERE id = ? "
                                    "RETURNING consecutive_failures, enabled, url"
                                  : "UPDATE webhooks SET consecutive_failures = "
                                    "consecutive_failures + 1 WHERE id = ? "
                                    "RETURNING consecutive_failures, enabled, url",
                               {cl.webhook_id}));
    if (w.rows.empty()) return Status::Ok();  // deleted meanwhile, with its deliveries
    const int64_t failures = w.rows.front().Int(0);
    bool enabled = w.rows.front().Int(1) != 0;
    const std::string url = w.rows.front().Str(2);

    std::optional<std::string> disabled_reason;
    if (!ok && enabled && failures >= options_.disable_after_failures) {
      disabled_reason = "disabled after " + std::to_string(failures) +
                        " consecutive failed deliveries; last: " + *error + " from " + url;
      enabled = false;
    }

    std::string state = "pending";
    std::optional<int64_t> next_at;
    if (ok) {
      state = "succeeded";
    } else if ((!enabled && cl.event_type != "ping") || cl.attempt >= cl.max_attempts) {
      state = "failed";
    } else {
      next_at = now + Backoff(static_cast<int>(cl.attempt));
    }
    ASSIGN_OR_RETURN(auto upd,
                     c.Execute("UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, "
                               "lease_owner = NULL, lease_expires_at = NULL, response_status = ?, "
                               "response_body = ?, error = ?, duration_ms = ?, request_headers = ? "
                               "WHERE id = ? AND lease_owner = ? AND attempts = ?",
                               {state, next_at, status, excerpt, error, res.duration_ms, sent_json,
                                cl.id, options_.node_id, cl.attempt}));
    if (upd.affected == 0) return Status::FailedPrecondition("lease lost");
    RETURN_IF_ERROR(
        c.Execute("INSERT INTO webhook_attempts (delivery_id, attempt, at, response_status, "
                  "error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                  {cl.id, cl.attempt, now - res.duration_ms, status, error, res.duration_ms})
            .status());
    if (disabled_reason) {
      RETURN_IF_ERROR(
          c.Execute("UPDATE webhooks SET enabled = 0, disabled_reason = ?, disabled_at = ?, "
                    "updated_at = ? WHERE id = ?",
                    {*disabled_reason, now, now, cl.webhook_id})
              .status());
      RETURN_IF_ERROR(
          c.Execute("UPDATE webhook_deliveries SET status = 'failed', error = ?, "
                    "next_attempt_at = NULL WHERE webhook_id = ? AND status = 'pending' "
                    "AND event_type <> 'ping' AND lease_owner IS NULL",
                    {*disabled_reason, cl.webhook_id})
              .status());
      RETURN_IF_ERROR(
          audit::Record(c, audit::Actor::System("webhooks", now),
                        {"webhook.disabled", "webhook", std::to_string(cl.webhook_id),
                         json::value(json::object{{"enabled", true}}),
                         json::value(json::object{{"enabled", false},
                                                  {"disabled_reason", *disabled_reason},
                                                  {"consecutive_failures", failures}})}));
      LogWarn("webhook disabled after repeated failures",
              {{"webhook_id", cl.webhook_id}, {"reason", *disabled_reason}});
    }
    return Status::Ok();
  });
}

Result<int64_t> Outbox::Prune(int64_t cutoff_ms) {
  int64_t n = 0;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    const char* kOld =
        "SELECT id FROM webhook_deliveries WHERE created_at < ? AND status <> 'pending'";
    RETURN_IF_ERROR(
        c.Execute(std::string("DELETE FROM webhook_attempts WHERE delivery_id IN (") + kOld + ")",
                  {cutoff_ms})
            .status());
    ASSIGN_OR_RETURN(auto r, c.Execute("DELETE FROM webhook_deliveries WHERE created_at < ? AND "
                                       "status <> 'pending'",
                                       {cutoff_ms}));
    n = r.affected;
    return Status::Ok();
  }));
  return n;
}

void Outbox::Kick() {
  {
    std::lock_guard lock(mu_);
    ++kicks_;
  }
  cv_.notify_all();
}

void Outbox::WorkerLoop(int index) {
  // Thread 0 fans out; the others deliver, so a slow endpoint never holds up
  // the fan-out of new changes.
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = kicks_;
    }
    bool worked = false;
    if (index == 0) {
      auto n = FanOut();
      if (!n.ok()) LogWarn("webhooks: fan-out failed", {{"error", n.status().ToString()}});
      if (n.ok() && *n > 0) {
        worked = true;
        Kick();
      }
    } else {
      auto d = DeliverNext();
      if (!d.ok()) LogWarn("webhooks: delivery failed", {{"error", d.status().ToString()}});
      worked = d.ok() && *d;
    }
    if (worked) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                 [&] { return stopping_ || (index != 0 && kicks_ != seen); });
  }
}

void Outbox::Start() {
  std::lock_guard lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  const int n = 1 + std::max(1, options_.workers);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
}

void Outbox::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace kontor::webhooks
