#include "payments/calendar.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kontor::payments {
namespace {

Date D(const std::string& s) {
  auto d = ParseDate(s, "date");
  EXPECT_TRUE(d.ok()) << s;
  return d.ok() ? *d : Date{};
}

std::vector<std::string> Closures(int year) {
  std::vector<std::string> out;
  for (const Holiday& h : FederalReserveHolidays(year)) out.push_back(FormatDate(h.date));
  return out;
}

using V = std::vector<std::string>;

// The Fed's published holiday schedule (federalreserve.gov, "K.8 Holidays
// Observed by the Federal Reserve System").
TEST(CalendarTest, FederalReserveClosures2025) {
  EXPECT_EQ(Closures(2025),
            (V{"2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19", "2025-07-04",
               "2025-09-01", "2025-10-13", "2025-11-11", "2025-11-27", "2025-12-25"}));
}

TEST(CalendarTest, FederalReserveClosures2026) {
  // 4 July 2026 is a Saturday: the Reserve Banks are open Friday 3 July, so
  // there is no Independence Day closure that year.
  EXPECT_EQ(Closures(2026),
            (V{"2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-09-07",
               "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25"}));
  EXPECT_TRUE(IsBankingDay(D("2026-07-03")));
}

TEST(CalendarTest, SundayHolidaysMoveToMondaySaturdayOnesAreDropped) {
  // 2027: Juneteenth and Christmas are Saturdays (no closure), Independence
  // Day a Sunday (closed Monday 5 July).
  EXPECT_EQ(Closures(2027), (V{"2027-01-01", "2027-01-18", "2027-02-15", "2027-05-31", "2027-07-05",
                               "2027-09-06", "2027-10-11", "2027-11-11", "2027-11-25"}));
  EXPECT_TRUE(IsBankingDay(D("2027-06-18")));
  EXPECT_TRUE(IsBankingDay(D("2027-12-24")));
  // New Year's Day 2023 was a Sunday: closed Monday 2 January.
  EXPECT_EQ(HolidayName(D("2023-01-02")), "New Year's Day");
  EXPECT_EQ(Closures(2023).front(), "2023-01-02");
  // New Year's Day 2022 was a Saturday: open Friday 31 December 2021, and
  // 2022 has no New Year closure at all.
  EXPECT_TRUE(IsBankingDay(D("2021-12-31")));
  EXPECT_EQ(Closures(2022).front(), "2022-01-17");
  // 2022: Juneteenth and Christmas were Sundays.
  EXPECT_EQ(HolidayName(D("2022-06-20")), "Juneteenth National Independence Day");
  EXPECT_EQ(HolidayName(D("2022-12-26")), "Christmas Day");
  // Veterans Day 2023 was a Saturday: open Friday 10 November.
  EXPECT_TRUE(IsBankingDay(D("2023-11-10")));
}

TEST(CalendarTest, HolidayKeepsTheActualDate) {
  for (const Holiday& h : FederalReserveHolidays(2027)) {
    if (h.name != "Independence Day") continue;
    EXPECT_EQ(FormatDate(h.date), "2027-07-05");
    EXPECT_EQ(FormatDate(h.actual), "2027-07-04");
  }
  EXPECT_EQ(HolidayName(D("2027-07-04")), "");  // a Sunday, closed anyway
}

TEST(CalendarTest, JuneteenthFrom2022ColumbusAndVeteransDayAlways) {
  EXPECT_EQ(HolidayName(D("2021-06-18")), "");  // the Fed stayed open in 2021
  // 2021: no Juneteenth, and Christmas fell on a Saturday (open Friday 24 December).
  EXPECT_EQ(Closures(2021).size(), 9u);
  EXPECT_EQ(HolidayName(D("2025-10-13")), "Columbus Day");
  EXPECT_EQ(HolidayName(D("2025-11-11")), "Veterans Day");
  EXPECT_EQ(HolidayName(D("2025-11-27")), "Thanksgiving Day");
  EXPECT_EQ(HolidayName(D("2025-11-28")), "");  // the day after Thanksgiving is a banking day
  EXPECT_TRUE(FederalReserveHolidays(1989).empty());
  EXPECT_TRUE(FederalReserveHolidays(2201).empty());
  // 2200 is the last year covered; none of its fixed holidays is on a weekend.
  EXPECT_EQ(FederalReserveHolidays(2200).size(), 11u);
}

TEST(CalendarTest, BankingDays) {
  EXPECT_TRUE(IsWeekend(D("2026-03-07")));   // Saturday
  EXPECT_TRUE(IsWeekend(D("2026-03-08")));   // Sunday
  EXPECT_FALSE(IsWeekend(D("2026-03-09")));  // Monday
  EXPECT_FALSE(IsBankingDay(D("2026-03-07")));
  EXPECT_FALSE(IsBankingDay(D("2026-01-19")));  // MLK Day
  EXPECT_TRUE(IsBankingDay(D("2026-01-20")));

  // Friday before a Monday holiday: the next banking day is Tuesday.
  EXPECT_EQ(FormatDate(NextBankingDay(D("2026-02-13"))), "2026-02-17");
  EXPECT_EQ(FormatDate(PreviousBankingDay(D("2026-02-17"))), "2026-02-13");
  // Strictly after/before, even from a banking day.
  EXPECT_EQ(FormatDate(NextBankingDay(D("2026-03-09"))), "2026-03-10");
  EXPECT_EQ(FormatDate(PreviousBankingDay(D("2026-03-09"))), "2026-03-06");
  // Across the year end: Christmas Friday 2026, then the weekend, New Year's
  // Day Friday 2027.
  EXPECT_EQ(FormatDate(NextBankingDay(D("2026-12-24"))), "2026-12-28");
  EXPECT_EQ(FormatDate(NextBankingDay(D("2026-12-31"))), "2027-01-04");
  EXPECT_EQ(FormatDate(PreviousBankingDay(D("2027-01-04"))), "2026-12-31");

  EXPECT_EQ(FormatDate(RollForward(D("2026-03-09"))), "2026-03-09");
  EXPECT_EQ(FormatDate(RollForward(D("2026-03-07"))), "2026-03-09");
  EXPECT_EQ(FormatDate(RollForward(D("2026-11-26"))), "2026-11-27");  // Thanksgiving → Friday
}

TEST(CalendarTest, AddBankingDaysBothWays) {
  // Wednesday 23 Dec 2026 + 2: Thursday 24, (Christmas, weekend), Monday 28.
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-12-23"), 2)), "2026-12-28");
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-12-28"), -2)), "2026-12-23");
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-12-23"), 0)), "2026-12-23");
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-12-25"), 0)), "2026-12-28");
  // From a Saturday, one banking day later is the Monday.
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-03-07"), 1)), "2026-03-09");
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-03-07"), -1)), "2026-03-06");
  // Ten banking days over Thanksgiving: 20 Nov 2026 (Fri) + 10 = 7 Dec.
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-11-20"), 10)), "2026-12-07");
  EXPECT_EQ(FormatDate(AddBankingDays(D("2026-12-07"), -10)), "2026-11-20");
  // A year of banking days in 2026: 261 weekdays less 10 weekday closures.
  EXPECT_EQ(FormatDate(AddBankingDays(D("2025-12-31"), 251)), "2026-12-31");
}

TEST(CalendarTest, ParseDateIsStrict) {
  EXPECT_EQ(FormatDate(D("2024-02-29")), "2024-02-29");
  for (const char* bad : {"2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-01-00",
                          "2026-2-3", "26-01-01", "2026-01-01x", "2026-01-01 ", " 2026-01-01",
                          "2026/01/01", "20260101", "", "2026-01-0a", "+2026-01-1"}) {
    SCOPED_TRACE(bad);
    auto r = ParseDate(bad, "effective_date");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kValidation);
    ASSERT_EQ(r.status().fields().size(), 1u);
    EXPECT_EQ(r.status().fields()[0].field, "effective_date");
    EXPECT_NE(r.status().message().find("effective_date"), std::string::npos);
  }
  EXPECT_EQ(ParseDate("2026-02-30", "f").status().fields()[0].message, "is not a calendar date");
  EXPECT_EQ(ParseDate("2026-2-3", "f").status().fields()[0].message,
            "must be a date as YYYY-MM-DD");
}

TEST(CalendarTest, Formats) {
  EXPECT_EQ(FormatDate(D("2026-12-24")), "2026-12-24");
  EXPECT_EQ(FormatYymmdd(D("2026-12-24")), "261224");
  EXPECT_EQ(FormatYymmdd(D("2100-01-05")), "000105");
}

}  // namespace
}  // namespace kontor::payments
