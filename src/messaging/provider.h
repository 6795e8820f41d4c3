// One interface for every way a message leaves Kontor: a provider takes a
// batch of messages of its channel and says, for each, what became of it.
// The dispatcher owns retries, leases and the delivery log; a provider only
// speaks its protocol and maps the answers to outcomes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace kontor::messaging {

// A message as the dispatcher hands it over: the rendered content (see
// MessageContent in outbox.h for the shape per channel) and its recipient.
struct Outgoing {
  int64_t id = 0;
  std::string channel;    // email | sms | push
  std::string recipient;  // address, E.164 number or push token
  json::object content;
  int attempt = 1;  // 1 for the first try
};

struct Outcome {
  enum class Kind {
    kSent,          // accepted by the provider
    kRetry,         // temporary: try again later (after retry_after_ms if set)
    kFailed,        // permanent for this message: not retried
    kUnregistered,  // the push token or address is gone for good
    kPaused,        // the provider refused our credentials: stop sending to it
  };
  Kind kind = Kind::kFailed;
  std::string provider_message_id;
  std::string error_code;  // the provider's own code, e.g. UNREGISTERED, 550
  std::string error_message;
  int64_t retry_after_ms = -1;  // from Retry-After, when the provider said

  static Outcome Sent(std::string id) {
    Outcome o;
    o.kind = Kind::kSent;
    o.provider_message_id = std::move(id);
    return o;
  }
  static Outcome Error(Kind kind, std::string code, std::string message) {
    Outcome o;
    o.kind = kind;
    o.error_code = std::move(code);
    o.error_message = std::move(message);
    return o;
  }
};

class Provider {
 public:
  virtual ~Provider() = default;
  // The name messages record, e.g. "smtp", "capture".
  virtual std::string_view name() const = 0;
  virtual std::string_view channel() const = 0;
  // One outcome per message, in order. Called from one dispatcher thread at a
  // time per provider instance; blocking is fine.
  virtual std::vector<Outcome> Send(const std::vector<Outgoing>& batch) = 0;
};

// Accepts everything without sending it anywhere: the message rows are the
// capture outbox the web app shows. For the demo and development, so that
// `make run` needs no external account.
class CaptureProvider : public Provider {
 public:
  explicit CaptureProvider(std::string channel) : channel_(std::move(channel)) {}
  std::string_view name() const override { return "capture"; }
  std::string_view channel() const override { return channel_; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override {
    std::vector<Outcome> out;
    out.reserve(batch.size());
    for (const Outgoing& m : batch) out.push_back(Outcome::Sent("capture-" + std::to_string(m.id)));
    return out;
  }

 private:
  std::string channel_;
};

}  // namespace kontor::messaging
