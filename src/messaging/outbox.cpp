#include "messaging/outbox.h"

#include <map>
#include <set>
#include <unordered_map>

#include "clients/devices.h"
#include "core/clock.h"
#include "core/retry.h"

namespace kontor::messaging {
namespace {

constexpr const char* kColumns =
    "id, lane, purpose, channel, provider, status, recipient, template_key, language, "
    "customer_id, device_id, campaign_id, idempotency_key, provider_message_id, error_code, "
    "error_message, request_hash, content, attempts, max_attempts, next_attempt_at, sent_at, "
    "created_at, updated_at";

Message RowToMessage(const store::Row& r) {
  Message m;
  m.id = r.Int(0);
  m.lane = r.Str(1);
  m.purpose = r.Str(2);
  m.channel = r.Str(3);
  m.provider = r.Str(4);
  m.status = r.Str(5);
  m.recipient = r.Str(6);
  m.template_key = r.Str(7);
  m.language = r.Str(8);
  m.customer_id = r.OptInt(9);
  m.device_id = r.OptInt(10);
  m.campaign_id = r.OptInt(11);
  m.idempotency_key = r.OptStr(12);
  m.provider_message_id = r.OptStr(13);
  m.error_code = r.OptStr(14);
  m.error_message = r.OptStr(15);
  m.request_hash = r.Str(16);
  if (auto content = ParseJsonObject(r.Str(17)); content.ok()) m.content = std::move(*content);
  m.attempts = static_cast<int>(r.Int(18));
  m.max_attempts = static_cast<int>(r.Int(19));
  m.next_attempt_at = r.OptInt(20);
  m.sent_at = r.OptInt(21);
  m.created_at = r.Int(22);
  m.updated_at = r.Int(23);
  return m;
}

store::Value Opt(const std::optional<int64_t>& v) { return v ? store::Value(*v) : store::Value(); }

std::string Truncate(std::string s, size_t n) {
  if (s.size() > n) s.resize(n);
  return s;
}

// The two steps every message takes are read from its row instead of being
// written as events (two rows less per message on the bulk path): its
// creation (queued or suppressed, at created_at) and a successful hand-over
// (sent, at sent_at, with the provider's id). Databases written before that
// still hold them as events; those are not doubled.
std::vector<MessageEvent> MergeTimeline(const std::string& status, const std::string& error,
                                        int64_t created_at, std::optional<int64_t> sent_at,
                                        int64_t attempts, const std::string& provider_id,
                                        std::vector<MessageEvent> stored) {
  std::vector<MessageEvent> out;
  out.reserve(stored.size() + 2);
  const bool suppressed = status == "suppressed";
  const std::string first = suppressed ? "suppressed" : "queued";
  if (stored.empty() || stored.front().status != first)
    out.push_back({created_at, first, std::nullopt, suppressed ? error : std::string()});
  bool sent_stored = false;
  for (const MessageEvent& e : stored) sent_stored = sent_stored || e.status == "sent";
  bool sent_placed = !sent_at || sent_stored;
  for (MessageEvent& e : stored) {
    // Receipts (no attempt) and anything later come after the hand-over.
    if (!sent_placed && (e.at > *sent_at || (e.at == *sent_at && !e.attempt))) {
      out.push_back({*sent_at, "sent", attempts, provider_id});
      sent_placed = true;
    }
    out.push_back(std::move(e));
  }
  if (!sent_placed) out.push_back({*sent_at, "sent", attempts, provider_id});
  return out;
}

}  // namespace

json::object MessageToJson(const Message& m) {
  json::object o{
      {"id", std::to_string(m.id)},
      {"lane", m.lane},
      {"purpose", m.purpose},
      {"channel", m.channel},
      {"provider", m.provider},
      {"status", m.status},
      {"recipient", m.recipient},
      {"template", m.template_key.empty() ? json::value(nullptr) : json::value(m.template_key)},
      {"language", m.language.empty() ? json::value(nullptr) : json::value(m.language)},
      {"campaign_id", m.campaign_id ? json::value(std::to_string(*m.campaign_id)) : nullptr},
      {"idempotency_key", NullOr(m.idempotency_key)},
      {"provider_message_id", NullOr(m.provider_message_id)},
      {"error_code", NullOr(m.error_code)},
      {"error_message", NullOr(m.error_message)},
      {"attempts", m.attempts},
      {"max_attempts", m.max_attempts},
      {"next_attempt_at", m.next_attempt_at && m.status == "queued"
                              ? json::value(FormatRfc3339(*m.next_attempt_at))
                              : nullptr},
      {"sent_at", m.sent_at ? json::value(FormatRfc3339(*m.sent_at)) : nullptr},
      {"created_at", FormatRfc3339(m.created_at)},
      {"updated_at", FormatRfc3339(m.updated_at)},
      {"content", m.content}};
  return o;
}

Result<std::vector<int64_t>> Outbox::Enqueue(store::Connection& c, int64_t now_ms,
                                             const std::vector<NewMessage>& messages,
                                             std::vector<bool>* existed) {
  std::vector<int64_t> ids;
  ids.reserve(messages.size());
  for (const NewMessage& m : messages) {
    const bool suppressed = m.suppressed_because.has_value();
    // Insert first, look up only on a conflict: keys are nearly always new
    // (triggers make one per event), and a conflict must not be a failed
    // statement, which would abort a PostgreSQL transaction.
    auto ins = c.QueryRow(
        "INSERT INTO messages (idempotency_key, request_hash, lane, purpose, channel, provider, "
        "customer_id, device_id, campaign_id, recipient, template_key, language, content, status, "
        "max_attempts, next_attempt_at, error_code, error_message, created_at, updated_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        {m.idempotency_key ? store::Value(*m.idempotency_key) : store::Value(),
         m.request_hash,
         m.lane,
         m.purpose,
         m.channel,
         m.provider,
         Opt(m.customer_id),
         Opt(m.device_id),
         Opt(m.campaign_id),
         m.recipient,
         m.template_key,
         m.language,
         json::serialize(m.content),
         suppressed ? "suppressed" : "queued",
         m.max_attempts,
         suppressed ? store::Value() : store::Value(m.due_at.value_or(now_ms)),
         suppressed ? store::Value("suppressed") : store::Value(),
         suppressed ? store::Value(*m.suppressed_because) : store::Value(),
         now_ms,
         now_ms});
    RETURN_IF_ERROR(ins.status());
    if (!*ins) {
      // Only a key conflicts.
      ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT id, request_hash FROM messages WHERE "
                                            "idempotency_key = ?",
                                            {m.idempotency_key.value_or("")}));
      // Its holder has not committed yet: retried, the transaction finds it.
      if (!row || !m.idempotency_key)
        return Status::Unavailable("concurrent use of an idempotency key");
      if (row->Str(1) != m.request_hash)
        return Status::Conflict("idempotency key " + *m.idempotency_key +
                                " was used for another message");
      ids.push_back(row->Int(0));
      if (existed) existed->push_back(true);
      continue;
    }
    if (existed) existed->push_back(false);
    ids.push_back((*ins)->Int(0));
  }
  return ids;
}

Status Outbox::EnqueueBulk(store::Connection& c, int64_t now_ms,
                           const std::vector<NewMessage>& messages) {
  if (messages.empty()) return Status::Ok();
  store::Params rows;
  rows.reserve(messages.size() * 19);
  for (const NewMessage& m : messages) {
    const bool suppressed = m.suppressed_because.has_value();
    for (store::Value v :
         {store::Value(m.request_hash), store::Value(m.lane), store::Value(m.purpose),
          store::Value(m.channel), store::Value(m.provider), Opt(m.customer_id), Opt(m.device_id),
          Opt(m.campaign_id), store::Value(m.recipient), store::Value(m.template_key),
          store::Value(m.language), store::Value(json::serialize(m.content)),
          store::Value(suppressed ? "suppressed" : "queued"), store::Value(m.max_attempts),
          suppressed ? store::Value() : store::Value(m.due_at.value_or(now_ms)),
          suppressed ? store::Value("suppressed") : store::Value(),
          suppressed ? store::Value(Truncate(*m.suppressed_because, 1000)) : store::Value(),
          store::Value(now_ms), store::Value(now_ms)})
      rows.push_back(std::move(v));
  }
  return store::InsertMany(
      c,
      "INSERT INTO messages (request_hash, lane, purpose, channel, provider, customer_id, "
      "device_id, campaign_id, recipient, template_key, language, content, status, max_attempts, "
      "next_attempt_at, error_code, error_message, created_at, updated_at) VALUES",
      19, std::move(rows));
}

Result<std::vector<Outbox::Claimed>> Outbox::Claim(const std::string& lane, int64_t now_ms,
                                                   int64_t lease_ms, int limit) {
  std::vector<Claimed> out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    out.clear();
    const bool pg = c.dialect() == store::Dialect::kPostgres;
    // A claimed message is due again when its lease ends: next_attempt_at
    // carries the lease's end, so one index finds both new and abandoned
    // work and passes over what is in flight.
    ASSIGN_OR_RETURN(
        auto rows,
        c.Execute(std::string("SELECT id, channel, provider, recipient, content, attempts, "
                              "max_attempts, device_id, campaign_id FROM messages WHERE lane = ? AND "
                              "next_attempt_at IS NOT NULL AND next_attempt_at <= ? "
                              "ORDER BY next_attempt_at, id LIMIT ?") +
                      (pg ? " FOR UPDATE SKIP LOCKED" : ""),
                  {lane, now_ms, static_cast<int64_t>(limit)}));
    // Campaigns that must not send now. Their messages were taken off the
    // claim index when the campaign paused or was cancelled; this catches
    // those that came back since (a retry, a chunk racing the pause).
    std::map<int64_t, std::string> held;
    {
      std::set<int64_t> campaigns;
      for (const auto& r : rows.rows) {
        if (!r.IsNull(8)) campaigns.insert(r.Int(8));
      }
      if (!campaigns.empty()) {
        store::Params p;
        std::string cin;
        for (int64_t id : campaigns) {
          cin += cin.empty() ? "?" : ", ?";
          p.emplace_back(id);
        }
        ASSIGN_OR_RETURN(auto states,
                         c.Execute("SELECT id, state FROM campaigns WHERE state IN ('paused', "
                                   "'cancelled') AND id IN (" +
                                       cin + ")",
                                   p));
        for (const auto& s : states.rows) held[s.Int(0)] = s.Str(1);
      }
    }
    store::Params take{node_id_, now_ms + lease_ms, now_ms};
    std::string in;
    store::Params expired;
    std::string expired_in;
    for (const auto& r : rows.rows) {
      if (!r.IsNull(8)) {
        auto h = held.find(r.Int(8));
        if (h != held.end()) {
          RETURN_IF_ERROR(
              c.Execute(h->second == "paused"
                            ? "UPDATE messages SET paused_due_at = next_attempt_at, "
                              "next_attempt_at = NULL, updated_at = ? WHERE id = ?"
                            : "UPDATE messages SET status = 'cancelled', next_attempt_at = NULL, "
                              "error_code = 'cancelled', updated_at = ? WHERE id = ?",
                        {now_ms, r.Int(0)})
                  .status());
          continue;
        }
      }
      const int attempts = static_cast<int>(r.Int(5));
      const int max_attempts = static_cast<int>(r.Int(6));
      if (attempts >= max_attempts) {
        // Its worker died during the last attempt allowed.
        expired_in += expired_in.empty() ? "?" : ", ?";
        expired.emplace_back(r.Int(0));
        continue;
      }
      Claimed cl;
      cl.out.id = r.Int(0);
      cl.out.channel = r.Str(1);
      cl.provider = r.Str(2);
      cl.out.recipient = r.Str(3);
      if (auto content = ParseJsonObject(r.Str(4)); content.ok())
        cl.out.content = std::move(*content);
      cl.out.attempt = attempts + 1;
      cl.max_attempts = max_attempts;
      cl.device_id = r.OptInt(7);
      in += in.empty() ? "?" : ", ?";
      take.emplace_back(cl.out.id);
      out.push_back(std::move(cl));
    }
    if (!out.empty()) {
      RETURN_IF_ERROR(c.Execute("UPDATE messages SET status = 'sending', attempts = attempts + 1, "
                                "lease_owner = ?, next_attempt_at = ?, updated_at = ? "
                                "WHERE id IN (" +
                                    in + ")",
                                take)
                          .status());
    }
    if (!expired.empty()) {
      store::Params p{now_ms};
      p.insert(p.end(), expired.begin(), expired.end());
      RETURN_IF_ERROR(c.Execute("UPDATE messages SET status = 'failed', next_attempt_at = NULL, "
                                "lease_owner = NULL, error_code = 'lease_expired', error_message = "
                                "'the worker sending the last attempt stopped', updated_at = ? "
                                "WHERE id IN (" +
                                    expired_in + ")",
                                p)
                          .status());
      store::Params ev;
      for (const auto& id : expired) {
        for (store::Value v : {id, store::Value(now_ms), store::Value("failed"),
                               store::Value("the worker sending the last attempt stopped")})
          ev.push_back(std::move(v));
      }
      RETURN_IF_ERROR(
          store::InsertMany(c, "INSERT INTO message_events (message_id, at, status, detail) VALUES",
                            4, std::move(ev)));
    }
    return Status::Ok();
  }));
  return out;
}

Result<int> Outbox::Record(const std::vector<Claimed>& claimed,
                           const std::vector<Outcome>& outcomes, int64_t now_ms,
                           const Retry& retry) {
  if (claimed.size() != outcomes.size()) return Status::Internal("one outcome per message");
  int recorded = 0;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    recorded = 0;
    store::Params events;
    for (size_t i = 0; i < claimed.size(); ++i) {
      const Claimed& cl = claimed[i];
      const Outcome& o = outcomes[i];
      const int attempt = cl.out.attempt;
      std::string status, event, detail = Truncate(o.error_message, 1000);
      store::Value next, sent_at;
      int attempts_delta = 0;
      switch (o.kind) {
        case Outcome::Kind::kSent:
          status = event = "sent";
          sent_at = now_ms;
          detail = o.provider_message_id;
          break;
        case Outcome::Kind::kRetry:
          if (attempt >= cl.max_attempts) {
            status = event = "failed";
            detail = "gave up after " + std::to_string(attempt) + " attempts: " + detail;
          } else {
            status = "queued";
            event = "retry";
            int64_t delay = BackoffMs(attempt, retry.base_ms, retry.max_ms);
            if (o.retry_after_ms >= 0) delay = std::max(delay, o.retry_after_ms);
            next = now_ms + delay;
          }
          break;
        case Outcome::Kind::kFailed:
          status = event = "failed";
          break;
        case Outcome::Kind::kUnregistered:
          status = event = "failed";
          if (cl.device_id)
            RETURN_IF_ERROR(clients::DeviceService::MarkUnregistered(c, now_ms, *cl.device_id));
          break;
        case Outcome::Kind::kPaused:
          // Not the message's fault: the attempt does not count.
          status = "queued";
          event = "paused";
          next = now_ms + retry.paused_ms;
          attempts_delta = -1;
          break;
      }
      ASSIGN_OR_RETURN(
          auto upd,
          c.Execute(
              "UPDATE messages SET status = ?, next_attempt_at = ?, lease_owner = NULL, "
              "attempts = attempts + ?, provider_message_id = COALESCE(?, "
              "provider_message_id), error_code = ?, error_message = ?, sent_at = "
              "COALESCE(?, sent_at), updated_at = ? WHERE id = ? AND lease_owner = ? AND "
              "attempts = ?",
              {status, next, attempts_delta,
               o.provider_message_id.empty() ? store::Value() : store::Value(o.provider_message_id),
               o.kind == Outcome::Kind::kSent ? store::Value() : store::Value(o.error_code),
               o.kind == Outcome::Kind::kSent ? store::Value() : store::Value(detail), sent_at,
               now_ms, cl.out.id, node_id_, attempt}));
      if (upd.affected == 0) continue;  // the lease passed to another worker
      ++recorded;
      if (o.kind == Outcome::Kind::kSent) continue;  // the row holds it (see Events)
      std::string ev_detail = o.kind == Outcome::Kind::kSent || o.error_code.empty()
                                  ? detail
                                  : o.error_code + ": " + detail;
      for (store::Value v : {store::Value(cl.out.id), store::Value(now_ms), store::Value(event),
                             store::Value(attempt), store::Value(Truncate(ev_detail, 1000))})
        events.push_back(std::move(v));
    }
    if (!events.empty()) {
      RETURN_IF_ERROR(store::InsertMany(
          c, "INSERT INTO message_events (message_id, at, status, attempt, detail) VALUES", 5,
          std::move(events)));
    }
    return Status::Ok();
  }));
  return recorded;
}

Result<std::optional<Message>> Outbox::Get(int64_t id) {
  ASSIGN_OR_RETURN(
      auto row,
      db_.QueryRow(std::string("SELECT ") + kColumns + " FROM messages WHERE id = ?", {id}));
  if (!row) return std::optional<Message>();
  return std::optional<Message>(RowToMessage(*row));
}

Result<std::vector<MessageEvent>> Outbox::Events(int64_t id) {
  std::vector<MessageEvent> out;
  // The row first: events read after it are never older than what it shows.
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto msg, c.QueryRow("SELECT status, error_message, created_at, sent_at, "
                                          "attempts, provider_message_id FROM messages WHERE id = ?",
                                          {id}));
    if (!msg) return Status::Ok();
    ASSIGN_OR_RETURN(auto rows, c.Execute("SELECT at, status, attempt, detail FROM message_events "
                                          "WHERE message_id = ? ORDER BY id",
                                          {id}));
    std::vector<MessageEvent> stored;
    for (const auto& r : rows.rows) stored.push_back({r.Int(0), r.Str(1), r.OptInt(2), r.Str(3)});
    out = MergeTimeline(msg->Str(0), msg->Str(1), msg->Int(2), msg->OptInt(3), msg->Int(4),
                        msg->Str(5), std::move(stored));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<Message>> Outbox::List(const Filter& f) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM messages WHERE 1 = 1";
  store::Params p;
  auto eq = [&](const char* column, const auto& v) {
    if (!v) return;
    sql += std::string(" AND ") + column + " = ?";
    p.emplace_back(*v);
  };
  eq("campaign_id", f.campaign_id);
  eq("customer_id", f.customer_id);
  eq("channel", f.channel);
  eq("status", f.status);
  eq("lane", f.lane);
  eq("provider", f.provider);
  if (f.since_ms) {
    sql += " AND created_at >= ?";
    p.emplace_back(*f.since_ms);
  }
  if (f.until_ms) {
    sql += " AND created_at < ?";
    p.emplace_back(*f.until_ms);
  }
  if (f.before_id) {
    sql += " AND id < ?";
    p.emplace_back(*f.before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  p.emplace_back(static_cast<int64_t>(f.limit));
  ASSIGN_OR_RETURN(auto rows, db_.Execute(sql, p));
  std::vector<Message> out;
  out.reserve(rows.rows.size());
  for (const auto& r : rows.rows) out.push_back(RowToMessage(r));
  return out;
}

}  // namespace kontor::messaging
