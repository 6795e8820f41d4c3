#include "messaging/policy.h"

#include <date/tz.h>

#include <charconv>
#include <chrono>
#include <mutex>
#include <unordered_map>

namespace kontor::messaging {
namespace {

constexpr int64_t kMinuteMs = 60000;
constexpr int64_t kDayMs = 24 * 60 * kMinuteMs;

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "HH:MM" → minutes since midnight.
bool ParseClock(std::string_view s, int* minutes) {
  int64_t h = 0, m = 0;
  if (s.size() != 5 || s[2] != ':' || !ParseInt(s.substr(0, 2), &h) ||
      !ParseInt(s.substr(3, 2), &m) || h > 23 || m > 59 || h < 0 || m < 0)
    return false;
  *minutes = static_cast<int>(h * 60 + m);
  return true;
}

}  // namespace

Result<FrequencyCap> ParseFrequencyCap(std::string_view text) {
  FrequencyCap cap;
  if (text.empty()) return cap;
  const auto bad = [&] {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is no frequency cap like 3/24h (count/window in m, h or d)");
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash + 2 > text.size()) return bad();
  int64_t n = 0, w = 0;
  if (!ParseInt(text.substr(0, slash), &n) || n < 1 || n > 1000000) return bad();
  std::string_view window = text.substr(slash + 1);
  const char unit = window.back();
  if (!ParseInt(window.substr(0, window.size() - 1), &w) || w < 1 || w > 100000) return bad();
  switch (unit) {
    case 'm':
      cap.window_ms = w * kMinuteMs;
      break;
    case 'h':
      cap.window_ms = w * 60 * kMinuteMs;
      break;
    case 'd':
      cap.window_ms = w * kDayMs;
      break;
    default:
      return bad();
  }
  cap.max = static_cast<int>(n);
  return cap;
}

Result<QuietHours> ParseQuietHours(std::string_view text) {
  QuietHours q;
  if (text.empty()) return q;
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos || !ParseClock(text.substr(0, dash), &q.start_minute) ||
      !ParseClock(text.substr(dash + 1), &q.end_minute))
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is no quiet-hours window like 21:00-08:00");
  return q;
}

const date::time_zone* ZoneOrUtc(const std::string& name) {
  static std::mutex mu;
  static std::unordered_map<std::string, const date::time_zone*> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(name.empty() ? "UTC" : name);
  } catch (const std::exception&) {
    zone = date::locate_zone("UTC");
  }
  // Bounded: customers' zone names come from a validated, finite set, but a
  // flood of junk names must not grow the cache forever.
  if (cache.size() < 10000) cache.emplace(name, zone);
  return zone;
}

int64_t LocalToInstantMs(const date::time_zone* zone, int64_t local_ms) {
  using std::chrono::milliseconds;
  const date::local_time<milliseconds> local{milliseconds(local_ms)};
  const date::local_info li = zone->get_info(date::floor<std::chrono::seconds>(local));
  date::sys_time<milliseconds> sys;
  if (li.result == date::local_info::nonexistent) {
    sys = li.first.end;
  } else {
    sys = date::sys_time<milliseconds>{local.time_since_epoch() - li.first.offset};
  }
  return sys.time_since_epoch().count();
}

int64_t InstantToLocalMs(const date::time_zone* zone, int64_t instant_ms) {
  using std::chrono::milliseconds;
  const date::sys_time<milliseconds> sys{milliseconds(instant_ms)};
  return zone->to_local(sys).time_since_epoch().count();
}

int64_t DeferForQuietHours(const QuietHours& q, const date::time_zone* zone, int64_t due_ms) {
  if (!q.enabled()) return due_ms;
  const int64_t local = InstantToLocalMs(zone, due_ms);
  const int64_t day = local >= 0 ? local / kDayMs * kDayMs : (local - kDayMs + 1) / kDayMs * kDayMs;
  const int64_t minute = (local - day) / kMinuteMs;
  const int64_t start = q.start_minute, end = q.end_minute;
  int64_t end_local = -1;
  if (start < end) {
    if (minute >= start && minute < end) end_local = day + end * kMinuteMs;
  } else {  // wraps midnight
    if (minute >= start)
      end_local = day + kDayMs + end * kMinuteMs;
    else if (minute < end)
      end_local = day + end * kMinuteMs;
  }
  if (end_local < 0) return due_ms;
  return std::max(due_ms, LocalToInstantMs(zone, end_local));
}

Result<std::set<int64_t>> OverFrequencyCap(store::Connection& c, const std::string& channel,
                                           const FrequencyCap& cap,
                                           const std::vector<int64_t>& customer_ids, int64_t now_ms,
                                           int64_t except_campaign) {
  std::set<int64_t> out;
  if (!cap.enabled() || customer_ids.empty()) return out;
  store::Params p{channel, now_ms - cap.window_ms, except_campaign};
  std::string in;
  for (int64_t id : customer_ids) {
    in += in.empty() ? "?" : ", ?";
    p.emplace_back(id);
  }
  p.emplace_back(static_cast<int64_t>(cap.max));
  ASSIGN_OR_RETURN(
      auto rows,
      c.Execute("SELECT customer_id FROM messages WHERE channel = ? AND purpose = 'marketing' "
                "AND created_at >= ? AND (campaign_id IS NULL OR campaign_id <> ?) AND status IN "
                "('queued', 'sending', 'sent', 'delivered') AND customer_id IN (" +
                    in +
                    ") GROUP BY customer_id HAVING COUNT(DISTINCT CASE WHEN campaign_id IS NULL "
                    "THEN -id ELSE campaign_id END) >= ?",
                p));
  for (const auto& r : rows.rows) out.insert(r.Int(0));
  return out;
}

}  // namespace kontor::messaging
