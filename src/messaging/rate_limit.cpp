#include "messaging/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace kontor::messaging {

ProviderRateLimits::ProviderRateLimits(std::map<std::string, int64_t> per_minute) {
  for (const auto& [name, rate] : per_minute) {
    if (rate <= 0) continue;
    Bucket b;
    b.per_ms = static_cast<double>(rate) / 60000.0;
    b.capacity = std::max(1.0, static_cast<double>(rate) / 60.0);
    b.tokens = b.capacity;
    buckets_.emplace(name, b);
  }
}

bool ProviderRateLimits::Limited(const std::string& provider) const {
  return buckets_.count(provider) > 0;
}

int64_t ProviderRateLimits::Take(const std::string& provider, int64_t n, bool may_wait,
                                 int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(provider);
  if (it == buckets_.end() || n <= 0) return 0;
  Bucket& b = it->second;
  if (b.at_ms >= 0 && now_ms > b.at_ms)
    b.tokens = std::min(b.capacity, b.tokens + static_cast<double>(now_ms - b.at_ms) * b.per_ms);
  if (b.at_ms < now_ms) b.at_ms = now_ms;
  b.tokens -= static_cast<double>(n);
  if (b.tokens >= 0 || !may_wait) return 0;
  return static_cast<int64_t>(std::ceil(-b.tokens / b.per_ms));
}

}  // namespace kontor::messaging
