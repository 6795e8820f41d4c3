// Retry timing shared by every retrying worker (jobs, webhook deliveries,
// ACH file uploads), so they back off the same way.
#pragma once

#include <cstdint>

namespace kontor {

// Delay before retry number `attempt` (1 = after the first failure):
// `base_ms` doubling per attempt, capped at `max_ms`, with ±20 % jitter so
// things that failed together do not retry in lockstep. At least 1 ms.
int64_t BackoffMs(int attempt, int64_t base_ms, int64_t max_ms);

}  // namespace kontor
