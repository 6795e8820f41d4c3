#include "payments/schedule.h"

#include <gtest/gtest.h>

#include <numeric>

#include "core/clock.h"

namespace kontor::payments {
namespace {

const Windows kNewYork{"America/New_York", "14:00", "20:00"};

int64_t At(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return *t;
}

Schedule Plan(const std::string& now, bool same_day = false,
              std::optional<std::string> effective = std::nullopt,
              std::optional<std::string> not_before = std::nullopt) {
  ScheduleRequest r;
  r.now_ms = At(now);
  r.same_day = same_day;
  if (effective) r.effective_date = *ParseDate(*effective, "effective_date");
  if (not_before) r.not_before = *ParseDate(*not_before, "not_before");
  auto s = ComputeSchedule(kNewYork, r);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

// 2026-11-23 is a Monday; EST is UTC-5.
TEST(ScheduleTest, NextDayBeforeAndAfterTheCutoff) {
  Schedule s = Plan("2026-11-23T15:00:00Z");  // 10:00 in New York
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-24");
  EXPECT_EQ(s.window_kind, "next_day");
  EXPECT_EQ(s.window_at, At("2026-11-24T01:00:00Z"));  // Monday 20:00 EST
  EXPECT_TRUE(s.note.empty());

  s = Plan("2026-11-24T01:00:00Z");  // exactly at the cutoff: the window has closed
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-25");
  EXPECT_EQ(s.window_at, At("2026-11-25T01:00:00Z"));
}

TEST(ScheduleTest, WeekendsAndHolidaysAreSkipped) {
  // Wednesday before Thanksgiving, after the cutoff: Thursday is closed, the
  // next file goes Friday, for Monday.
  Schedule s = Plan("2026-11-26T02:00:00Z");  // Wed 21:00 EST
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-30");
  EXPECT_EQ(s.window_at, At("2026-11-28T01:00:00Z"));  // Friday 20:00
  // Friday after the cutoff → Monday's file → Tuesday.
  s = Plan("2026-11-28T02:00:00Z");
  EXPECT_EQ(FormatDate(s.effective_date), "2026-12-01");
  // A requested holiday rolls forward and says why.
  s = Plan("2026-11-23T15:00:00Z", false, "2026-12-25");
  EXPECT_EQ(FormatDate(s.effective_date), "2026-12-28");
  EXPECT_EQ(s.window_at, At("2026-12-25T01:00:00Z"));  // Thursday Dec 24, 20:00
  EXPECT_NE(s.note.find("Christmas Day, a Federal Reserve holiday"), std::string::npos) << s.note;
  // Too early a date moves to the first reachable one.
  s = Plan("2026-11-23T15:00:00Z", false, "2026-11-23");
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-24");
  EXPECT_NE(s.note.find("earliest reachable"), std::string::npos) << s.note;
}

TEST(ScheduleTest, SameDayWindows) {
  Schedule s = Plan("2026-11-23T15:00:00Z", true);
  EXPECT_TRUE(s.same_day);
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-23");
  EXPECT_EQ(s.window_at, At("2026-11-23T19:00:00Z"));  // 14:00 EST
  s = Plan("2026-11-23T19:30:00Z", true);              // after the same-day cutoff
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-24");
  EXPECT_EQ(s.window_at, At("2026-11-24T19:00:00Z"));
  s = Plan("2026-11-28T15:00:00Z", true);  // Saturday
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-30");
  // No same-day window: next-day rules.
  Windows w = kNewYork;
  w.same_day_cutoff.reset();
  ScheduleRequest r;
  r.now_ms = At("2026-11-23T15:00:00Z");
  r.same_day = true;
  auto n = ComputeSchedule(w, r);
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->same_day);
}

TEST(ScheduleTest, CutoffsFollowDaylightSavingTime) {
  // 2026-03-08 is the first day of EDT (UTC-4): Monday's 20:00 is 00:00Z.
  Schedule s = Plan("2026-03-09T14:00:00Z");
  EXPECT_EQ(FormatDate(s.effective_date), "2026-03-10");
  EXPECT_EQ(s.window_at, At("2026-03-10T00:00:00Z"));
  // Local date, not UTC date: 23:30 EST on Monday is already Tuesday in UTC.
  s = Plan("2026-11-24T04:30:00Z");
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-25");
}

TEST(ScheduleTest, PrenoteHoldsLiveEntries) {
  Schedule s = Plan("2026-11-23T15:00:00Z", false, std::nullopt, "2026-11-27");
  EXPECT_EQ(FormatDate(s.effective_date), "2026-11-27");
  EXPECT_EQ(s.window_at, At("2026-11-26T01:00:00Z"));  // Wednesday's window (Thursday closed)
  EXPECT_NE(s.note.find("prenote"), std::string::npos) << s.note;
}

TEST(ScheduleTest, WindowsAreValidated) {
  EXPECT_FALSE(ValidateWindows({"Mars/Olympus", std::nullopt, "20:00"}).ok());
  EXPECT_FALSE(ValidateWindows({"America/Chicago", "21:00", "20:00"}).ok());
  EXPECT_FALSE(ValidateWindows({"America/Chicago", std::nullopt, "24:00"}).ok());
  EXPECT_FALSE(ValidateWindows({"America/Chicago", std::nullopt, "8:00"}).ok());
  EXPECT_TRUE(ValidateWindows({"America/Chicago", "10:30", "18:45"}).ok());
}

TEST(ScheduleTest, SplitAddsUpExactly) {
  for (int64_t amount : {1LL, 999LL, 1000LL, 1001LL, 2999999LL, 9999999999LL * 3 + 7}) {
    for (int64_t max : {1000LL, 9999999999LL}) {
      std::vector<int64_t> parts = SplitAmount(amount, max);
      EXPECT_EQ(std::accumulate(parts.begin(), parts.end(), int64_t{0}), amount);
      EXPECT_EQ(static_cast<int64_t>(parts.size()), (amount + max - 1) / max);
      for (int64_t p : parts) {
        EXPECT_LE(p, max);
        EXPECT_LE(parts.front() - p, 1);  // as equal as cents allow
      }
    }
  }
}

}  // namespace
}  // namespace kontor::payments
