#include "core/clock.h"

#include <date/date.h>

#include <sstream>

namespace kontor {

int64_t Clock::NowMs() const { return ToMs(Now()); }

SystemClock* SystemClock::Default() {
  static SystemClock clock;
  return &clock;
}

int64_t ToMs(TimePoint t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

TimePoint FromMs(int64_t ms) { return TimePoint(Millis(ms)); }

std::string FormatRfc3339(int64_t unix_ms) {
  date::sys_time<Millis> tp{Millis(unix_ms)};
  return date::format("%FT%TZ", tp);
}

Result<int64_t> ParseRfc3339(const std::string& s) {
  if (s.size() < 20 || s.size() > 40) return Status::InvalidArgument("not an RFC 3339 time");
  date::sys_time<Millis> tp;
  std::istringstream in(s);
  if (s.back() == 'Z' || s.back() == 'z') {
    in >> date::parse("%FT%T", tp);
  } else {
    in >> date::parse("%FT%T%Ez", tp);
  }
  if (in.fail()) return Status::InvalidArgument("not an RFC 3339 time");
  return ToMs(tp);
}

}  // namespace kontor
