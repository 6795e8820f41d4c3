// What the dispatcher last saw of each provider: a provider that refused our
// credentials (kPaused) is recorded as paused with its reason and until when
// messages wait, raises an error log line and an audit entry, and is back to
// ok at its next accepted message. GET /v1/messaging/providers shows it with
// the provider's queue and last hour.
//
// Workers report after every provider call; the row is written only when the
// state changes (or a retryable error is new after a quiet spell), so a busy
// provider costs no extra writes.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "http/router.h"
#include "messaging/provider.h"
#include "store/database.h"

namespace kontor::messaging {

// A provider as configured: the name messages record, the channel it serves.
struct ConfiguredProvider {
  std::string name;
  std::string channel;
};

class ProviderHealth {
 public:
  ProviderHealth(store::Database& db, const Clock& clock, int64_t paused_ms)
      : db_(db), clock_(clock), paused_ms_(paused_ms) {}

  // One provider call's outcomes. Thread-safe; never fails the caller (a
  // write that fails is logged).
  void Report(const std::string& provider, const std::string& channel,
              const std::vector<Outcome>& outcomes);

  // One item per configured (provider, channel), in the order given:
  // {"name","channel","state","paused_reason","paused_until","last_error",
  //  "last_error_at","queued","sent_1h","failed_1h"}.
  Result<json::array> List(const std::vector<ConfiguredProvider>& configured);

 private:
  struct Known {
    bool loaded = false;
    std::string state = "ok";
    std::string reason;
    int64_t written_at = 0;
  };
  Status Write(const std::string& provider, const std::string& channel, const Known& before,
               const std::string& state, const Outcome* error, int64_t now);

  store::Database& db_;
  const Clock& clock_;
  const int64_t paused_ms_;
  std::mutex mu_;
  std::map<std::string, Known> known_;
};

// GET /v1/messaging/providers.
void RegisterProviderRoutes(http::Router& router, ProviderHealth& health,
                            std::vector<ConfiguredProvider> configured);

}  // namespace kontor::messaging
