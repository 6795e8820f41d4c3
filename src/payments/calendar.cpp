#include "payments/calendar.h"

#include <cstdio>

namespace kontor::payments {
namespace {

using date::days;
using date::sys_days;

constexpr int kFirstYear = 1990;
constexpr int kLastYear = 2200;
// Congress made Juneteenth a federal holiday on 17 June 2021, too late for the
// Reserve Banks to close that year; they have closed for it since 2022.
constexpr int kFirstJuneteenth = 2022;

// The Fed's observance rule for holidays fixed to a calendar date: a Sunday
// holiday closes the Reserve Banks on the Monday after; a Saturday one does
// not close them at all (unlike federal offices, which close the Friday
// before). Returns false when there is no closure.
bool Observe(Date actual, Date* closed) {
  date::weekday wd{sys_days{actual}};
  if (wd == date::Saturday) return false;
  *closed = wd == date::Sunday ? Date{sys_days{actual} + days{1}} : actual;
  return true;
}

void AddFixed(std::vector<Holiday>* out, date::year y, date::month m, date::day d,
              const char* name) {
  Date actual = y / m / d;
  Date closed;
  if (Observe(actual, &closed)) out->push_back({closed, name, actual});
}

// Monday holidays (Uniform Monday Holiday Act) and Thanksgiving never fall on
// a weekend, so the closure is the holiday itself.
void AddFloating(std::vector<Holiday>* out, Date d, const char* name) {
  out->push_back({d, name, d});
}

Date Nth(date::year y, date::month m, date::weekday wd, unsigned n) {
  return Date{sys_days{y / m / wd[n]}};
}

Date Last(date::year y, date::month m, date::weekday wd) {
  return Date{sys_days{y / m / wd[date::last]}};
}

std::vector<Holiday> Compute(int year) {
  std::vector<Holiday> out;
  if (year < kFirstYear || year > kLastYear) return out;
  date::year y{year};
  using namespace date;  // NOLINT: month and weekday constants read like the statute
  AddFixed(&out, y, January, day{1}, "New Year's Day");
  AddFloating(&out, Nth(y, January, Monday, 3), "Birthday of Martin Luther King, Jr.");
  AddFloating(&out, Nth(y, February, Monday, 3), "Washington's Birthday");
  AddFloating(&out, Last(y, May, Monday), "Memorial Day");
  if (year >= kFirstJuneteenth)
    AddFixed(&out, y, June, day{19}, "Juneteenth National Independence Day");
  AddFixed(&out, y, July, day{4}, "Independence Day");
  AddFloating(&out, Nth(y, September, Monday, 1), "Labor Day");
  AddFloating(&out, Nth(y, October, Monday, 2), "Columbus Day");
  AddFixed(&out, y, November, day{11}, "Veterans Day");
  AddFloating(&out, Nth(y, November, Thursday, 4), "Thanksgiving Day");
  AddFixed(&out, y, December, day{25}, "Christmas Day");
  return out;
}

// Banking-day walks look up the same few years over and over; the table is
// small (211 years of 10-11 dates) and immutable after the first call.
const std::vector<Holiday>& Cached(int year) {
  static const std::vector<std::vector<Holiday>> kTable = [] {
    std::vector<std::vector<Holiday>> t;
    for (int y = kFirstYear; y <= kLastYear; ++y) t.push_back(Compute(y));
    return t;
  }();
  static const std::vector<Holiday> kNone;
  if (year < kFirstYear || year > kLastYear) return kNone;
  return kTable[static_cast<size_t>(year - kFirstYear)];
}

int Digits(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

std::vector<Holiday> FederalReserveHolidays(int year) { return Cached(year); }

std::string HolidayName(Date d) {
  // Sunday holidays move to the Monday after within the same year (1 Jan and
  // 25 Dec included), so one year's list is enough.
  for (const Holiday& h : Cached(static_cast<int>(d.year())))
    if (h.date == d) return h.name;
  return "";
}

bool IsWeekend(Date d) {
  date::weekday wd{sys_days{d}};
  return wd == date::Saturday || wd == date::Sunday;
}

bool IsBankingDay(Date d) { return !IsWeekend(d) && HolidayName(d).empty(); }

Date NextBankingDay(Date d) {
  sys_days t{d};
  do {
    t += days{1};
  } while (!IsBankingDay(Date{t}));
  return Date{t};
}

Date PreviousBankingDay(Date d) {
  sys_days t{d};
  do {
    t -= days{1};
  } while (!IsBankingDay(Date{t}));
  return Date{t};
}

Date RollForward(Date d) { return IsBankingDay(d) ? d : NextBankingDay(d); }

Date AddBankingDays(Date d, int n) {
  if (n == 0) return RollForward(d);
  for (; n > 0; --n) d = NextBankingDay(d);
  for (; n < 0; ++n) d = PreviousBankingDay(d);
  return d;
}

Result<Date> ParseDate(std::string_view s, std::string_view field) {
  auto bad = [&](const char* message) {
    return Status::Validation({{std::string(field), message}});
  };
  bool shape = s.size() == 10 && s[4] == '-' && s[7] == '-';
  for (size_t i = 0; shape && i < s.size(); ++i)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) shape = false;
  if (!shape) return bad("must be a date as YYYY-MM-DD");
  Date d = date::year{Digits(s.substr(0, 4))} /
           date::month{static_cast<unsigned>(Digits(s.substr(5, 2)))} /
           date::day{static_cast<unsigned>(Digits(s.substr(8, 2)))};
  if (!d.ok()) return bad("is not a calendar date");
  return d;
}

std::string FormatDate(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

std::string FormatYymmdd(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d%02u%02u", static_cast<int>(d.year()) % 100,
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

}  // namespace kontor::payments
