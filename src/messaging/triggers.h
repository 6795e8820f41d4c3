// Triggers turn events into messages: an event type, an optional condition
// on the event's data, a template, channels in fallback order, a delay, a
// dedupe window, a topic (preferences) and a lane.
//
// Conditions are a small JSON rule language over the event, compiled once
// (on save, and when the processor loads a changed trigger):
//   {"all": [rule, ...]}  {"any": [rule, ...]}  {"not": rule}
//   {"field": "data.order.total", "op": "gt", "value": 100}
//   ops: eq ne lt lte gt gte in (value: an array) exists (no value)
// A comparison is typed by its value: a number matches only JSON numbers
// (compared numerically), a string only strings (by code point), a boolean
// only booleans. A missing field makes a comparison false; `ne` is the
// exact complement of `eq`, so it matches a missing field.
//
// The EventProcessor takes unprocessed events in id order in batches, and in
// one transaction per batch queues the resulting messages (Outbox::Enqueue)
// and marks the events processed: an event's messages are queued exactly
// once, whatever crashes. On PostgreSQL several nodes' processors share the
// work (FOR UPDATE SKIP LOCKED).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "messaging/messages.h"
#include "store/database.h"

namespace kontor::messaging {

class Condition {
 public:
  // null → always true. Errors name the offending part under `field`
  // ("condition.all[1].op").
  static Result<Condition> Compile(const json::value& rule, const std::string& field = "condition");
  // `event` holds the event's fields: {"type", "data": {...}}.
  bool Matches(const json::object& event) const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;  // null: always true
};

struct Trigger {
  std::string key;
  std::string event_type;
  json::value condition;  // null: every event of the type
  std::string template_key;
  std::vector<std::string> channels;  // fallback order
  int64_t delay_seconds = 0;
  int64_t dedupe_window_seconds = 0;
  std::optional<std::string> topic;
  std::string lane = "transactional";
  bool enabled = true;
  int64_t version = 0, created_at = 0, updated_at = 0;
};
json::object TriggerToJson(const Trigger& t);

// The template a trigger uses on `channel`: `<key>.<channel>` when it
// exists, else `<key>` itself (whose channel must match).
std::vector<std::string> TemplateCandidates(const std::string& template_key,
                                            const std::string& channel);

class TriggerStore {
 public:
  explicit TriggerStore(store::Database& db) : db_(db) {}

  Result<std::vector<Trigger>> List();
  Result<Trigger> Get(const std::string& key);
  // Create or update; validates the body (the condition compiles, a template
  // exists for every channel). Returns the trigger and whether it was created.
  Result<std::pair<Trigger, bool>> Put(const audit::Actor& actor, const std::string& key,
                                       const json::object& body, std::optional<int64_t> if_match);
  Status Delete(const audit::Actor& actor, const std::string& key);

 private:
  store::Database& db_;
};

struct EventProcessorOptions {
  int batch = 500;     // events per transaction
  int poll_ms = 1000;  // when not kicked
};

class EventProcessor {
 public:
  EventProcessor(store::Database& db, const Clock& clock, ChannelProviders providers,
                 std::function<void()> kick_dispatcher, EventProcessorOptions options = {});
  ~EventProcessor();

  void Start();
  void Stop();
  // New events are waiting.
  void Kick();
  // Processes up to one batch of unprocessed events in one transaction;
  // returns how many were processed.
  Result<int> ProcessBatch();

 private:
  struct Compiled;
  void Run();

  store::Database& db_;
  const Clock& clock_;
  const ChannelProviders providers_;
  std::function<void()> kick_dispatcher_;
  const EventProcessorOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;
  bool stopping_ = false;
  std::thread thread_;
  // Compiled conditions by trigger key, kept while the version is the same.
  std::mutex cache_mu_;
  std::map<std::string, std::pair<int64_t, Condition>> conditions_;
};

}  // namespace kontor::messaging
