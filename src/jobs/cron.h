// Five-field cron expressions (Vixie syntax) evaluated in an IANA time zone.
//
//   minute hour day-of-month month day-of-week
//
// Each field takes `*`, numbers, lists `a,b`, ranges `a-b` and steps `*/n`,
// `a-b/n` (and `a/n`, meaning a through the field's maximum). Months accept
// JAN-DEC and weekdays SUN-SAT, case-insensitively; weekday 0 and 7 are both
// Sunday. As in Vixie cron, when both day fields are restricted (neither starts
// with `*`) a day matches if EITHER matches; otherwise both must. Macros:
// @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kontor::jobs {

class CronSchedule {
 public:
  // kInvalidArgument naming the offending field when `expr` is malformed.
  static Result<CronSchedule> Parse(std::string_view expr);

  // The first matching wall-clock minute strictly after `after_ms`, as Unix ms,
  // with the expression evaluated in `tz_name` ("Europe/Berlin", "UTC").
  // Daylight saving time: a local time skipped by a spring-forward gap fires at
  // the first instant after the gap (once, however many skipped minutes match);
  // a local time repeated by a fall-back overlap fires only at its first
  // occurrence. kInvalidArgument for an unknown zone, or when nothing matches
  // within kSearchYears (e.g. "0 0 30 2 *").
  Result<int64_t> NextAfter(int64_t after_ms, const std::string& tz_name) const;

  // Whether a local calendar minute matches; weekday 0 = Sunday.
  bool Matches(int month, int day, int weekday, int hour, int minute) const;

  const std::string& expr() const { return expr_; }

  // Long enough to reach a Feb 29 across a skipped leap year (2096 → 2104).
  static constexpr int kSearchYears = 9;

 private:
  CronSchedule() = default;
  bool DayMatches(int day, int weekday) const;

  std::string expr_;
  // Bit i set = value i allowed.
  uint64_t minutes_ = 0;
  uint64_t hours_ = 0;
  uint64_t days_ = 0;      // 1..31
  uint64_t months_ = 0;    // 1..12
  uint64_t weekdays_ = 0;  // 0..6, Sunday = 0
  bool days_star_ = false;
  bool weekdays_star_ = false;
};

// OK when `tz_name` names a zone of the system tz database; kInvalidArgument otherwise.
Status CheckTimeZone(const std::string& tz_name);

}  // namespace kontor::jobs
