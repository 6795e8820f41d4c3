// US banking calendar for ACH settlement: weekends and the Federal Reserve's
// holidays are not banking days. The Fed's rule for observed dates differs
// from the federal government's: a holiday on a Sunday is observed on the
// Monday after, but one on a Saturday is not observed at all (the Reserve
// Banks are open the Friday before).
#pragma once

#include <date/date.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kontor::payments {

using Date = date::year_month_day;

struct Holiday {
  Date date;         // the day the Reserve Banks are closed
  std::string name;  // "Independence Day"
  Date actual;       // the calendar date of the holiday (differs when observed on a Monday)
};

// The closures of one year, in date order: New Year's Day, Martin Luther King
// Jr.'s Birthday, Washington's Birthday, Memorial Day, Juneteenth (from 2022),
// Independence Day, Labor Day, Columbus Day, Veterans Day, Thanksgiving,
// Christmas. Years 1990-2200.
std::vector<Holiday> FederalReserveHolidays(int year);
// The holiday's name when the Reserve Banks are closed on `d`, else empty.
std::string HolidayName(Date d);
bool IsWeekend(Date d);
// Monday to Friday and not a Federal Reserve holiday.
bool IsBankingDay(Date d);
// The first banking day strictly after / before `d`.
Date NextBankingDay(Date d);
Date PreviousBankingDay(Date d);
// `d` itself when it is a banking day, else the next one.
Date RollForward(Date d);
// n > 0 banking days after `d`, n < 0 before; n == 0 gives RollForward(d).
Date AddBankingDays(Date d, int n);

// Strict "YYYY-MM-DD" (a real calendar date); the error is a Validation
// status naming `field`.
Result<Date> ParseDate(std::string_view s, std::string_view field);
std::string FormatDate(Date d);    // "2026-12-24"
std::string FormatYymmdd(Date d);  // "261224", as NACHA records carry dates

}  // namespace kontor::payments
