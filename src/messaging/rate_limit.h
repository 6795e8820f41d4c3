// Per-provider send rates: one token bucket per provider, shared by every
// dispatcher worker of the process, so that N workers together keep to the
// provider's quota (FCM, an SMS gateway) instead of N times it.
//
// Buckets go into debt instead of refusing: a batch takes all its tokens at
// once and its worker waits until the debt is paid off at the refill rate.
// So a batch larger than the burst still goes (it waits longer), and the
// waits of concurrent workers queue up in the order they took their tokens.
// An alert never waits: it takes its tokens at once, debt or not, and the
// bulk and transactional batches after it wait that much longer. Alerts are
// few and time-critical; the quota is kept on average either way.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace kontor::messaging {

class ProviderRateLimits {
 public:
  // Messages per minute by provider name; providers not listed, or with 0,
  // are not limited. A bucket holds one second's worth (at least one token).
  explicit ProviderRateLimits(std::map<std::string, int64_t> per_minute);

  // Takes `n` tokens from `provider`'s bucket at `now_ms` and returns how
  // many ms the caller has to wait before sending (0: at once). With
  // `may_wait` false (alerts) the tokens are taken and 0 returned.
  int64_t Take(const std::string& provider, int64_t n, bool may_wait, int64_t now_ms);

  bool Limited(const std::string& provider) const;

 private:
  struct Bucket {
    double per_ms = 0;    // refill rate
    double capacity = 0;  // tokens at most
    double tokens = 0;    // may be negative: debt
    int64_t at_ms = -1;   // last refill
  };
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace kontor::messaging
