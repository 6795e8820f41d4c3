#include "core/retry.h"

#include <algorithm>
#include <random>

namespace kontor {

int64_t BackoffMs(int attempt, int64_t base_ms, int64_t max_ms) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const int shift = std::clamp(attempt - 1, 0, 62);
  int64_t delay = std::max<int64_t>(base_ms, 1);
  for (int i = 0; i < shift && delay < max_ms; ++i) delay *= 2;
  delay = std::min(delay, max_ms);
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(delay) * jitter(rng)));
}

}  // namespace kontor
