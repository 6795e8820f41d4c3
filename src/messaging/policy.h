// Marketing policy applied when a campaign is expanded: frequency caps (at
// most N marketing messages per customer per channel per window) and quiet
// hours (no marketing message due at night in the recipient's time zone).
// Transactional and alert messages bypass both: they are not expanded here.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/database.h"

namespace date {
class time_zone;
}

namespace kontor::messaging {

struct FrequencyCap {
  int max = 0;  // 0: no cap
  int64_t window_ms = 0;
  bool enabled() const { return max > 0; }
};
// "3/24h", "1/30m", "5/7d"; empty: no cap. Errors are kInvalidArgument.
Result<FrequencyCap> ParseFrequencyCap(std::string_view text);

// A daily window in local wall-clock minutes; start > end wraps midnight
// ("21:00-08:00"). start == end: none.
struct QuietHours {
  int start_minute = 0, end_minute = 0;
  bool enabled() const { return start_minute != end_minute; }
};
// "21:00-08:00"; empty: none.
Result<QuietHours> ParseQuietHours(std::string_view text);

struct MarketingPolicy {
  std::map<std::string, FrequencyCap> caps;  // by channel
  QuietHours quiet;
};

// An IANA zone by name, cached (names are few, lookups many); UTC for an
// empty or unknown name.
const date::time_zone* ZoneOrUtc(const std::string& name);
// The instant a local wall-clock time denotes in `zone`: a time skipped by a
// spring-forward gap is the gap's end, an ambiguous one the earlier instant
// (as cron schedules read them).
int64_t LocalToInstantMs(const date::time_zone* zone, int64_t local_ms);
// The wall-clock time of an instant in `zone`, as ms since the local epoch.
int64_t InstantToLocalMs(const date::time_zone* zone, int64_t instant_ms);

// `due_ms`, or when it falls in quiet hours in `zone`, the end of them.
int64_t DeferForQuietHours(const QuietHours& q, const date::time_zone* zone, int64_t due_ms);

// The customers among `customer_ids` who already have `cap.max` marketing
// messages on `channel` created within the window before `now_ms` (queued or
// gone out; a push to several devices of one campaign counts once), leaving
// out campaign `except_campaign`. One query per call; callers pass a chunk.
Result<std::set<int64_t>> OverFrequencyCap(store::Connection& c, const std::string& channel,
                                           const FrequencyCap& cap,
                                           const std::vector<int64_t>& customer_ids, int64_t now_ms,
                                           int64_t except_campaign);

}  // namespace kontor::messaging
