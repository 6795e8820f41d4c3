#include "core/clock.h"

#include <date/date.h>

#include <cstdio>
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
  // On every response and log line, so no iostreams: civil date by
  // date::year_month_day, digits by hand.
  int64_t days = unix_ms >= 0 ? unix_ms / 86400000 : (unix_ms - 86399999) / 86400000;
  int64_t ms_of_day = unix_ms - days * 86400000;
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  int year = static_cast<int>(ymd.year());
  unsigned month = static_cast<unsigned>(ymd.month()), day = static_cast<unsigned>(ymd.day());
  const int hour = static_cast<int>(ms_of_day / 3600000), minute = static_cast<int>(ms_of_day / 60000 % 60),
            second = static_cast<int>(ms_of_day / 1000 % 60), milli = static_cast<int>(ms_of_day % 1000);
  if (year < 0 || year > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year, month, day, hour, minute, second,
                  milli);
    return buf;
  }
  // The common case digit by digit: snprintf's format parsing showed up in
  // profiles of bulk sync, which formats four times per customer.
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](size_t at, int value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, static_cast<int>(month), 2);
  put(8, static_cast<int>(day), 2);
  put(11, hour, 2);
  put(14, minute, 2);
  put(17, second, 2);
  put(20, milli, 3);
  return out;
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
  // Milliseconds directly: through TimePoint (nanoseconds) a year beyond
  // 2262 would overflow.
  return static_cast<int64_t>(tp.time_since_epoch().count());
}

}  // namespace kontor
