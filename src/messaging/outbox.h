// The message outbox: every outgoing message is a row, written in the same
// transaction as its cause (an API call, an event, a campaign), so a message
// is never lost and never sent for a change that was rolled back.
//
// Lanes keep kinds of traffic apart: `alert` (time-critical buy/sell SMS),
// `transactional` (event-triggered and direct messages) and `bulk`
// (campaigns). Each lane has its own dispatcher workers, so a million-message
// campaign never queues in front of an alert.
//
// A worker claims a batch of due messages under a lease, sends them, and
// records each outcome only while it still owns the lease. A worker that dies
// leaves its lease to expire and the batch is claimed again: the messages that
// were in flight may go out twice (at most one batch a worker), nothing is
// lost. Retries back off exponentially with jitter, or after the provider's
// Retry-After; permanent errors are not retried.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "messaging/provider.h"
#include "store/database.h"

namespace kontor::messaging {

inline constexpr const char* kLanes[] = {"alert", "transactional", "bulk"};

struct NewMessage {
  std::string lane = "transactional";
  std::string purpose = "transactional";  // or marketing
  std::string channel;                    // email | sms | push
  std::string provider;                   // configured provider name
  std::optional<int64_t> customer_id;
  std::optional<int64_t> device_id;
  std::optional<int64_t> campaign_id;
  std::string recipient;
  std::string template_key;
  std::string language;
  json::object content;
  std::optional<std::string> idempotency_key;
  std::string request_hash;
  int max_attempts = 8;
  // Set to record a message that was decided against (no consent, opted
  // out, suppressed address): it is logged, never sent.
  std::optional<std::string> suppressed_because;
  // When the message is due; default: now. A campaign spreads its messages
  // (rate limit, recipients' local time, quiet hours) through this.
  std::optional<int64_t> due_at;
};

struct Message {
  int64_t id = 0;
  std::string lane, purpose, channel, provider, status, recipient, template_key, language;
  std::optional<int64_t> customer_id, device_id, campaign_id;
  std::optional<std::string> idempotency_key, provider_message_id, error_code, error_message;
  std::string request_hash;
  json::object content;
  int attempts = 0;
  int max_attempts = 0;
  std::optional<int64_t> next_attempt_at, sent_at;
  int64_t created_at = 0, updated_at = 0;
};
json::object MessageToJson(const Message& m);

struct MessageEvent {
  int64_t at = 0;
  std::string status;
  std::optional<int64_t> attempt;
  std::string detail;
};

class Outbox {
 public:
  Outbox(store::Database& db, std::string node_id) : db_(db), node_id_(std::move(node_id)) {}

  // Adds messages inside the caller's transaction; returns their ids in
  // order. A message whose idempotency key is already taken is not added:
  // its id is the existing message's (and `existed`, when given, says so per
  // message), or kConflict when the existing one came from a request with
  // another hash. On PostgreSQL that message may have been committed by a
  // concurrent transaction after the caller looked for the key.
  static Result<std::vector<int64_t>> Enqueue(store::Connection& c, int64_t now_ms,
                                              const std::vector<NewMessage>& messages,
                                              std::vector<bool>* existed = nullptr);

  // Like Enqueue, for many messages without idempotency keys (a campaign's
  // chunk): a few multi-row statements instead of two per message.
  static Status EnqueueBulk(store::Connection& c, int64_t now_ms,
                            const std::vector<NewMessage>& messages);

  struct Claimed {
    std::string provider;
    Outgoing out;
    int max_attempts = 0;
    std::optional<int64_t> device_id;
  };
  // Claims up to `limit` due messages of `lane` for `lease_ms`. Messages
  // whose lease expired on their last attempt are failed here instead, and
  // those of a paused or cancelled campaign (queued again by a retry, or
  // expanded while the pause committed) are set aside as the campaign says.
  Result<std::vector<Claimed>> Claim(const std::string& lane, int64_t now_ms, int64_t lease_ms,
                                     int limit);

  struct Retry {
    int64_t base_ms = 5000;
    int64_t max_ms = 3600000;
    int64_t paused_ms = 60000;  // after a kPaused outcome
  };
  // Records what became of claimed messages, in one transaction. Outcomes of
  // messages whose lease this worker lost are dropped (another worker has
  // them). Returns how many were recorded.
  Result<int> Record(const std::vector<Claimed>& claimed, const std::vector<Outcome>& outcomes,
                     int64_t now_ms, const Retry& retry);

  Result<std::optional<Message>> Get(int64_t id);
  Result<std::vector<MessageEvent>> Events(int64_t id);
  struct Filter {
    std::optional<int64_t> campaign_id, customer_id;
    std::optional<std::string> channel, status, lane, provider;
    std::optional<int64_t> since_ms, until_ms;
    std::optional<int64_t> before_id;  // paging: newest first
    int limit = 50;
  };
  Result<std::vector<Message>> List(const Filter& f);

 private:
  store::Database& db_;
  const std::string node_id_;
};

}  // namespace kontor::messaging
