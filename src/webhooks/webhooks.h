// Outbound webhooks: endpoints an administrator registers for client-hub
// events, and the log of deliveries to them. Delivery itself is the outbox's
// work (outbox.h); this is the management side behind /v1/webhooks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "store/database.h"

namespace kontor::webhooks {

// Tunables shared by management and delivery (config `webhooks.*`).
struct Options {
  int max_attempts = 8;                    // per delivery, then `failed`
  int64_t backoff_base_ms = 30000;         // delay after the first failure
  int64_t backoff_max_ms = 6 * 3600000LL;  // cap of the doubling delay
  int timeout_ms = 10000;                  // whole request, connect to response head
  int disable_after_failures = 20;         // consecutive failed attempts per endpoint
  int poll_ms = 1000;                      // idle delivery workers look this often
  int workers = 2;
  std::string node_id = "node";  // lease owner
};

struct Webhook {
  int64_t id = 0;
  std::string url;
  std::vector<std::string> events;
  std::string description;
  bool enabled = true;
  std::optional<std::string> disabled_reason;
  std::optional<int64_t> disabled_at;
  int64_t consecutive_failures = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};
// The `webhook` shape of docs/api.md; never carries the secret.
json::object WebhookToJson(const Webhook& w);

struct Delivery {
  int64_t id = 0;
  int64_t webhook_id = 0;
  std::string event_id;
  std::string event_type;
  std::string status;  // pending | succeeded | failed
  int64_t attempts = 0;
  std::optional<int64_t> next_attempt_at;
  std::optional<int64_t> last_attempt_at;
  std::optional<int64_t> response_status;
  std::optional<std::string> error;
  std::optional<int64_t> duration_ms;
  int64_t created_at = 0;
  // Detail only.
  std::string request_body;
  std::optional<std::string> request_headers;  // JSON object
  std::optional<std::string> response_body;
};
// The `delivery` shape; `detail` adds request_body, request_headers,
// response_body and attempt_log (filled by the caller).
json::object DeliveryToJson(const Delivery& d, bool detail);

// A create (all required fields present) or a partial update.
struct WebhookInput {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<std::string> description;
  std::optional<bool> enabled;
};
// Strict: unknown fields, bad URLs and unknown event types → 422 naming them.
Result<WebhookInput> ParseWebhookInput(const json::object& body, bool create);
// Absolute http(s) URL with a host, no credentials or fragment, ≤ 2048 chars.
Status ValidateUrl(const std::string& url, const std::string& field);

struct DeliveryFilter {
  int64_t webhook_id = 0;
  std::optional<std::string> status;
  std::optional<int64_t> before_id;  // cursor
  int limit = 50;
};

class WebhookService {
 public:
  WebhookService(store::Database& db, const Clock& clock);

  // Returns the webhook and its secret (shown only here and on rotation).
  Result<std::pair<Webhook, std::string>> Create(const audit::Actor& actor, const WebhookInput& in);
  Result<Webhook> Get(int64_t id);
  // Ordered by id; the cursor is the last id of the previous page.
  Result<std::pair<std::vector<Webhook>, std::optional<int64_t>>> List(
      std::optional<int64_t> after_id, int limit);
  // enabled:true on a disabled webhook re-arms it (reason and failure count
  // cleared); changes made while it was disabled are not sent to it.
  Result<Webhook> Update(const audit::Actor& actor, int64_t id, const WebhookInput& in);
  Status Delete(const audit::Actor& actor, int64_t id);
  Result<std::string> RotateSecret(const audit::Actor& actor, int64_t id);

  // Queues a `ping` to this endpoint alone (one attempt, also when disabled).
  Result<Delivery> SendTest(const audit::Actor& actor, int64_t id);
  // Queues the delivery again now for one more attempt. kFailedPrecondition
  // when its webhook is disabled or an attempt is in flight.
  Result<Delivery> Retry(const audit::Actor& actor, int64_t delivery_id);

  // Newest first; kNotFound for an unknown webhook.
  Result<std::pair<std::vector<Delivery>, std::optional<int64_t>>> ListDeliveries(
      const DeliveryFilter& f);
  Result<Delivery> GetDelivery(int64_t id);
  // {"attempt","at","response_status","error","duration_ms"} oldest first.
  Result<json::array> AttemptLog(int64_t delivery_id);

 private:
  store::Database& db_;
  const Clock& clock_;
};

}  // namespace kontor::webhooks
