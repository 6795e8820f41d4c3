// Events: what happened to a customer ("order.shipped"), posted by upstream
// systems at high rates, stored durably before the answer, and turned into
// messages later by triggers (triggers.h).
//
// A transaction per event would cap ingestion at the database's commit rate.
// The EventWriter group-commits instead: request handlers hand it their
// validated event and wait (without holding a server thread, see
// http::Response::deferred); one writer thread takes everything queued,
// resolves customers, installations and idempotency keys with one query
// each, inserts all events in one multi-row statement, commits, and then
// answers each request with its own result (id, replay, or 422).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "store/database.h"

namespace kontor::messaging {

inline constexpr size_t kMaxEventDataBytes = 16 << 10;

// A validated POST /v1/events body.
struct EventInput {
  std::string type;
  std::optional<std::string> customer;         // external id
  std::optional<std::string> installation_id;  // a device's
  std::string data;                            // a JSON object, serialized
  std::optional<int64_t> occurred_at;          // default: received_at
  std::optional<std::string> idempotency_key;
  std::string request_hash;  // of the body without the key
};

// Checks the body; errors name its fields. The key comes from the body or
// else the Idempotency-Key header.
Result<EventInput> ParseEvent(const json::object& body,
                              const std::optional<std::string>& idempotency_header);

struct AcceptedEvent {
  int64_t id = 0;
  std::string type;
  int64_t received_at = 0;
  bool replayed = false;
};
json::object AcceptedEventToJson(const AcceptedEvent& e);

struct EventWriterOptions {
  size_t max_batch = 2000;  // events in one transaction
};

class EventWriter {
 public:
  using Done = std::function<void(Result<AcceptedEvent>)>;

  EventWriter(store::Database& db, const Clock& clock, EventWriterOptions options = {});
  ~EventWriter();

  // Runs the writer thread. Without it, Submit writes on the caller's thread.
  void Start();
  // Answers everything submitted, then stops the thread.
  void Stop();
  // Called after each commit that stored new events (wakes the processor).
  void set_on_commit(std::function<void()> f) { on_commit_ = std::move(f); }

  // `done` runs on the writer thread after the commit (or the failure).
  void Submit(const audit::Actor& actor, EventInput in, Done done);
  // Submit and wait.
  Result<AcceptedEvent> Write(const audit::Actor& actor, EventInput in);

 private:
  struct Pending {
    audit::Actor actor;
    EventInput in;
    Done done;
  };
  void Run();
  void WriteBatch(std::vector<Pending>& batch);

  store::Database& db_;
  const Clock& clock_;
  const EventWriterOptions options_;
  std::function<void()> on_commit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

struct Event {
  int64_t id = 0;
  std::string type;
  std::optional<std::string> customer, installation_id, idempotency_key;
  json::object data;
  int64_t occurred_at = 0, received_at = 0;
  std::optional<int64_t> processed_at;
  std::string source;
};
json::object EventToJson(const Event& e);

struct EventFilter {
  std::optional<std::string> type, customer;
  std::optional<int64_t> before_id;
  int limit = 50;
};
Result<std::vector<Event>> ListEvents(store::Database& db, const EventFilter& f);
Result<std::optional<Event>> GetEvent(store::Database& db, int64_t id);

// What the triggers did with an event: one entry per trigger outcome.
struct EventOutcome {
  std::string trigger_key, outcome;
  std::optional<int64_t> message_id;
  std::optional<std::string> detail;
  int64_t at = 0;
};
Result<std::vector<EventOutcome>> EventOutcomes(store::Database& db, int64_t event_id);

}  // namespace kontor::messaging
