// Which file a payment goes into: its effective date (a banking day) and the
// cutoff whose file takes it, from the originator's windows in its own time
// zone. Pure functions of their inputs, so the rules are testable with any
// clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "payments/calendar.h"

namespace kontor::payments {

struct Windows {
  std::string time_zone;                       // IANA
  std::optional<std::string> same_day_cutoff;  // "HH:MM" local; nullopt: no same-day
  std::string next_day_cutoff;                 // "HH:MM" local
};

struct ScheduleRequest {
  int64_t now_ms = 0;
  std::optional<Date> effective_date;  // as requested; rolled to a banking day
  bool same_day = false;               // requested and allowed (limit checked by the caller)
  std::optional<Date> not_before;      // earliest effective date (a prenote's wait)
};

struct Schedule {
  Date effective_date;
  bool same_day = false;
  std::string window_kind;  // same_day | next_day
  int64_t window_at = 0;    // the cutoff instant (UTC ms) whose file takes the payment
  std::string note;         // why the dates differ from what was asked; empty when they don't
};

// "HH:MM" 00:00-23:59 → minutes after midnight; kValidation naming `field`.
Result<int> ParseCutoff(const std::string& hhmm, const std::string& field);
// Validates the windows (time zone known, cutoffs well-formed, the same-day
// cutoff before the next-day one).
Status ValidateWindows(const Windows& w);
// The local calendar date at `now_ms` in `time_zone`.
Result<Date> LocalDate(int64_t now_ms, const std::string& time_zone);
// The instant of local `hhmm` on `d` (the earlier one in a DST overlap, the
// first valid minute after a gap).
Result<int64_t> LocalInstant(Date d, const std::string& hhmm, const std::string& time_zone);

// Same-day: today's same-day window while it is open, else the next banking
// day's; a later requested date is honoured. Next-day: the effective date is
// the banking day after the file's window (the next-day cutoff of the
// banking day before it); a requested date that is too early moves to the
// first reachable one and says so in `note`.
Result<Schedule> ComputeSchedule(const Windows& w, const ScheduleRequest& r);

// Splits `amount` into the fewest parts of at most `max_part`, as equal as
// cents allow (the first parts take the remainder), summing exactly.
std::vector<int64_t> SplitAmount(int64_t amount, int64_t max_part);

}  // namespace kontor::payments
