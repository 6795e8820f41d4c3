#include "jobs/cron.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/clock.h"

namespace kontor::jobs {
namespace {

int64_t At(const std::string& rfc3339) {
  auto r = ParseRfc3339(rfc3339);
  EXPECT_TRUE(r.ok()) << rfc3339;
  return r.ok() ? *r : 0;
}

// The next `n` firing times after `from`, formatted, for readable expectations.
std::vector<std::string> Next(const std::string& expr, const std::string& from, int n,
                              const std::string& tz = "UTC") {
  auto cron = CronSchedule::Parse(expr);
  EXPECT_TRUE(cron.ok()) << expr << ": " << cron.status().ToString();
  std::vector<std::string> out;
  if (!cron.ok()) return out;
  int64_t t = At(from);
  for (int i = 0; i < n; ++i) {
    auto next = cron->NextAfter(t, tz);
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok()) break;
    out.push_back(FormatRfc3339(*next));
    t = *next;
  }
  return out;
}

using V = std::vector<std::string>;

std::string ParseError(const std::string& expr) {
  auto r = CronSchedule::Parse(expr);
  EXPECT_FALSE(r.ok()) << expr << " should not parse";
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(CronTest, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(Next("* * * * *", "2026-01-01T10:00:00Z", 2),
            (V{"2026-01-01T10:01:00.000Z", "2026-01-01T10:02:00.000Z"}));
  // A fraction into a matching minute still moves to the next one.
  EXPECT_EQ(Next("* * * * *", "2026-01-01T10:00:00.500Z", 1), V{"2026-01-01T10:01:00.000Z"});
  EXPECT_EQ(Next("* * * * *", "2026-01-01T10:00:59.999Z", 1), V{"2026-01-01T10:01:00.000Z"});
}

TEST(CronTest, ListsRangesAndSteps) {
  EXPECT_EQ(
      Next("5,35 * * * *", "2026-01-01T10:00:00Z", 3),
      (V{"2026-01-01T10:05:00.000Z", "2026-01-01T10:35:00.000Z", "2026-01-01T11:05:00.000Z"}));
  EXPECT_EQ(
      Next("*/20 * * * *", "2026-01-01T10:00:00Z", 3),
      (V{"2026-01-01T10:20:00.000Z", "2026-01-01T10:40:00.000Z", "2026-01-01T11:00:00.000Z"}));
  EXPECT_EQ(Next("10-30/10 9-10 * * *", "2026-01-01T00:00:00Z", 4),
            (V{"2026-01-01T09:10:00.000Z", "2026-01-01T09:20:00.000Z", "2026-01-01T09:30:00.000Z",
               "2026-01-01T10:10:00.000Z"}));
  EXPECT_EQ(
      Next("50/5 * * * *", "2026-01-01T10:00:00Z", 3),
      (V{"2026-01-01T10:50:00.000Z", "2026-01-01T10:55:00.000Z", "2026-01-01T11:50:00.000Z"}));
  EXPECT_EQ(
      Next("0 0 1,15 * *", "2026-01-02T00:00:00Z", 3),
      (V{"2026-01-15T00:00:00.000Z", "2026-02-01T00:00:00.000Z", "2026-02-15T00:00:00.000Z"}));
  EXPECT_EQ(Next(" 0  12 * * * ", "2026-01-01T00:00:00Z", 1), V{"2026-01-01T12:00:00.000Z"});
}

TEST(CronTest, MonthAndWeekdayNames) {
  // 2026-01-01 is a Thursday.
  EXPECT_EQ(Next("0 8 * * mon-FRI", "2026-01-02T09:00:00Z", 2),
            (V{"2026-01-05T08:00:00.000Z", "2026-01-06T08:00:00.000Z"}));
  EXPECT_EQ(
      Next("0 0 1 jun,Dec *", "2026-01-01T00:00:00Z", 3),
      (V{"2026-06-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z", "2027-06-01T00:00:00.000Z"}));
  EXPECT_EQ(Next("0 0 1 MAR-MAY/2 *", "2026-01-01T00:00:00Z", 2),
            (V{"2026-03-01T00:00:00.000Z", "2026-05-01T00:00:00.000Z"}));
}

TEST(CronTest, SundayIsZeroAndSeven) {
  // 2026-01-04 is a Sunday.
  V sundays = {"2026-01-04T00:00:00.000Z", "2026-01-11T00:00:00.000Z"};
  EXPECT_EQ(Next("0 0 * * 0", "2026-01-01T00:00:00Z", 2), sundays);
  EXPECT_EQ(Next("0 0 * * 7", "2026-01-01T00:00:00Z", 2), sundays);
  EXPECT_EQ(Next("0 0 * * SUN", "2026-01-01T00:00:00Z", 2), sundays);
  // FRI-SUN via 5-7 crosses the 7 → 0 fold.
  EXPECT_EQ(Next("0 0 * * 5-7", "2026-01-01T00:00:00Z", 4),
            (V{"2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z", "2026-01-04T00:00:00.000Z",
               "2026-01-09T00:00:00.000Z"}));
}

TEST(CronTest, DayFieldsOrWhenBothRestricted) {
  // 13th of the month OR any Friday (2026-01-02 and -09 are Fridays, the 13th a Tuesday).
  EXPECT_EQ(Next("0 0 13 * FRI", "2026-01-01T00:00:00Z", 4),
            (V{"2026-01-02T00:00:00.000Z", "2026-01-09T00:00:00.000Z", "2026-01-13T00:00:00.000Z",
               "2026-01-16T00:00:00.000Z"}));
  // An unrestricted day-of-month leaves only the weekday.
  EXPECT_EQ(
      Next("0 0 * * FRI", "2026-01-01T00:00:00Z", 3),
      (V{"2026-01-02T00:00:00.000Z", "2026-01-09T00:00:00.000Z", "2026-01-16T00:00:00.000Z"}));
  // A field starting with '*' counts as unrestricted even with a step, so this
  // is AND: odd days that are Fridays.
  EXPECT_EQ(Next("0 0 */2 * 5", "2026-01-01T00:00:00Z", 2),
            (V{"2026-01-09T00:00:00.000Z", "2026-01-23T00:00:00.000Z"}));
  // And a restricted day-of-month with '*' weekday is the day-of-month alone.
  EXPECT_EQ(Next("0 0 13 * *", "2026-01-01T00:00:00Z", 2),
            (V{"2026-01-13T00:00:00.000Z", "2026-02-13T00:00:00.000Z"}));
}

TEST(CronTest, Macros) {
  const std::string from = "2026-05-20T10:30:00Z";  // a Wednesday
  EXPECT_EQ(Next("@hourly", from, 1), V{"2026-05-20T11:00:00.000Z"});
  EXPECT_EQ(Next("@daily", from, 1), V{"2026-05-21T00:00:00.000Z"});
  EXPECT_EQ(Next("@midnight", from, 1), V{"2026-05-21T00:00:00.000Z"});
  EXPECT_EQ(Next("@weekly", from, 1), V{"2026-05-24T00:00:00.000Z"});
  EXPECT_EQ(Next("@monthly", from, 1), V{"2026-06-01T00:00:00.000Z"});
  EXPECT_EQ(Next("@yearly", from, 1), V{"2027-01-01T00:00:00.000Z"});
  EXPECT_EQ(Next("@ANNUALLY", from, 1), V{"2027-01-01T00:00:00.000Z"});
}

TEST(CronTest, LeapDay) {
  EXPECT_EQ(Next("0 0 29 2 *", "2026-01-01T00:00:00Z", 2),
            (V{"2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"}));
  // 2100 is not a leap year: eight years between Feb 29ths, still found.
  EXPECT_EQ(Next("0 0 29 2 *", "2096-03-01T00:00:00Z", 1), V{"2104-02-29T00:00:00.000Z"});
}

TEST(CronTest, ParseErrorsNameTheField) {
  EXPECT_NE(ParseError("60 * * * *").find("minute field"), std::string::npos);
  EXPECT_NE(ParseError("60 * * * *").find("out of range 0-59"), std::string::npos);
  EXPECT_NE(ParseError("* 24 * * *").find("hour field"), std::string::npos);
  EXPECT_NE(ParseError("* * 0 * *").find("day-of-month field"), std::string::npos);
  EXPECT_NE(ParseError("* * 32 * *").find("day-of-month field"), std::string::npos);
  EXPECT_NE(ParseError("* * * 13 *").find("month field"), std::string::npos);
  EXPECT_NE(ParseError("* * * FOO *").find("month field"), std::string::npos);
  EXPECT_NE(ParseError("* * * * 8").find("day-of-week field"), std::string::npos);
  EXPECT_NE(ParseError("* * * * MONDAY").find("day-of-week field"), std::string::npos);
  EXPECT_NE(ParseError("MON * * * *").find("minute field"), std::string::npos);
  EXPECT_NE(ParseError("*/0 * * * *").find("step"), std::string::npos);
  EXPECT_NE(ParseError("*/x * * * *").find("step"), std::string::npos);
  EXPECT_NE(ParseError("1/2/3 * * * *").find("minute field"), std::string::npos);
  EXPECT_NE(ParseError("30-10 * * * *").find("backwards"), std::string::npos);
  EXPECT_NE(ParseError("1,,2 * * * *").find("empty list element"), std::string::npos);
  EXPECT_NE(ParseError("5- * * * *").find("minute field"), std::string::npos);
  EXPECT_NE(ParseError("-5 * * * *").find("minute field"), std::string::npos);
  EXPECT_NE(ParseError("1x * * * *").find("not a number"), std::string::npos);
  EXPECT_NE(ParseError("* * * *").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(ParseError("* * * * * *").find("got 6"), std::string::npos);
  EXPECT_NE(ParseError("").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(ParseError("@reboot").find("unknown macro"), std::string::npos);
}

TEST(CronTest, ImpossibleExpressionReturnsError) {
  auto cron = CronSchedule::Parse("0 0 30 2 *");
  ASSERT_TRUE(cron.ok());
  auto next = cron->NextAfter(At("2026-01-01T00:00:00Z"), "UTC");
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("never matches"), std::string::npos);
  // Restricted weekdays make it possible again (OR rule).
  auto or_rule = CronSchedule::Parse("0 0 30 2 MON");
  ASSERT_TRUE(or_rule.ok());
  EXPECT_TRUE(or_rule->NextAfter(At("2026-01-01T00:00:00Z"), "UTC").ok());
}

TEST(CronTest, UnknownTimeZone) {
  auto cron = CronSchedule::Parse("@daily");
  ASSERT_TRUE(cron.ok());
  auto next = cron->NextAfter(0, "Mars/Olympus_Mons");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(next.status().message().find("Mars/Olympus_Mons"), std::string::npos);
  EXPECT_FALSE(CheckTimeZone("Nowhere/Special").ok());
  EXPECT_TRUE(CheckTimeZone("Europe/Berlin").ok());
  EXPECT_TRUE(CheckTimeZone("UTC").ok());
}

TEST(CronTest, EvaluatedInTimeZone) {
  // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
  EXPECT_EQ(Next("0 9 * * *", "2026-01-10T12:00:00Z", 1, "Europe/Berlin"),
            V{"2026-01-11T08:00:00.000Z"});
  EXPECT_EQ(Next("0 9 * * *", "2026-07-10T12:00:00Z", 1, "Europe/Berlin"),
            V{"2026-07-11T07:00:00.000Z"});
  // Day boundaries are local: midnight Monday in New York is 05:00 UTC Monday.
  EXPECT_EQ(Next("0 0 * * MON", "2026-01-01T00:00:00Z", 1, "America/New_York"),
            V{"2026-01-05T05:00:00.000Z"});
}

// Berlin springs forward on 2026-03-29 at 02:00 CET (01:00 UTC) to 03:00 CEST.
TEST(CronTest, BerlinSpringForwardGapFiresOnceAfterGap) {
  EXPECT_EQ(Next("30 2 * * *", "2026-03-27T12:00:00Z", 3, "Europe/Berlin"),
            (V{"2026-03-28T01:30:00.000Z",     // the day before: 02:30 CET
               "2026-03-29T01:00:00.000Z",     // 02:30 does not exist: at 03:00 CEST
               "2026-03-30T00:30:00.000Z"}));  // 02:30 CEST
}

TEST(CronTest, BerlinSpringForwardSkippedMinutesCollapse) {
  // 02:00, 02:15, 02:30, 02:45 are all skipped and fire once, at the end of
  // the gap; 03:00 is that same instant and does not fire a second time.
  EXPECT_EQ(Next("*/15 2,3 * * *", "2026-03-29T00:00:00Z", 4, "Europe/Berlin"),
            (V{"2026-03-29T01:00:00.000Z", "2026-03-29T01:15:00.000Z", "2026-03-29T01:30:00.000Z",
               "2026-03-29T01:45:00.000Z"}));
  EXPECT_EQ(Next("*/15 2 * * *", "2026-03-29T00:00:00Z", 2, "Europe/Berlin"),
            (V{"2026-03-29T01:00:00.000Z", "2026-03-30T00:00:00.000Z"}));
}

// Berlin falls back on 2026-10-25 at 03:00 CEST (01:00 UTC) to 02:00 CET, so
// 02:00-02:59 happens twice.
TEST(CronTest, BerlinFallBackOverlapFiresFirstOccurrenceOnly) {
  EXPECT_EQ(Next("30 2 * * *", "2026-10-24T12:00:00Z", 2, "Europe/Berlin"),
            (V{"2026-10-25T00:30:00.000Z",     // 02:30 CEST
               "2026-10-26T01:30:00.000Z"}));  // next day 02:30 CET
  // Every 30 minutes: 02:00 and 02:30 fire in the first pass only.
  EXPECT_EQ(Next("*/30 * * * *", "2026-10-24T23:45:00Z", 5, "Europe/Berlin"),
            (V{"2026-10-25T00:00:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-25T02:00:00.000Z",
               "2026-10-25T02:30:00.000Z", "2026-10-25T03:00:00.000Z"}));
  // Starting inside the second pass does not fire the repeated time again.
  EXPECT_EQ(Next("45 2 * * *", "2026-10-25T01:10:00Z", 1, "Europe/Berlin"),
            V{"2026-10-26T01:45:00.000Z"});
}

// New York: 2026-03-08 02:00 EST (07:00 UTC) → 03:00 EDT; 2026-11-01 02:00 EDT
// (06:00 UTC) → 01:00 EST.
TEST(CronTest, NewYorkDst) {
  EXPECT_EQ(
      Next("30 2 * * *", "2026-03-07T12:00:00Z", 3, "America/New_York"),
      (V{"2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"}));
  EXPECT_EQ(Next("30 1 * * *", "2026-10-31T12:00:00Z", 2, "America/New_York"),
            (V{"2026-11-01T05:30:00.000Z",     // 01:30 EDT
               "2026-11-02T06:30:00.000Z"}));  // 01:30 EST
  // An hourly job keeps firing across the gap without a duplicate at 03:00.
  EXPECT_EQ(
      Next("0 * * * *", "2026-03-08T05:30:00Z", 3, "America/New_York"),
      (V{"2026-03-08T06:00:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-08T08:00:00.000Z"}));
}

TEST(CronTest, MatchesAndExprAccessors) {
  auto cron = CronSchedule::Parse("0 9 * * MON-FRI");
  ASSERT_TRUE(cron.ok());
  EXPECT_EQ(cron->expr(), "0 9 * * MON-FRI");
  EXPECT_TRUE(cron->Matches(5, 20, 3, 9, 0));
  EXPECT_FALSE(cron->Matches(5, 23, 6, 9, 0));
  EXPECT_FALSE(cron->Matches(5, 20, 3, 9, 1));
}

}  // namespace
}  // namespace kontor::jobs
