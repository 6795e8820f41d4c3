#include "payments/schedule.h"

#include <date/tz.h>

#include <algorithm>

namespace kontor::payments {
namespace {

Result<const date::time_zone*> Zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::Validation({{"time_zone", "unknown time zone \"" + name + "\""}});
  }
}

}  // namespace

Result<int> ParseCutoff(const std::string& hhmm, const std::string& field) {
  auto bad = [&] { return Status::Validation({{field, "must be a time HH:MM (00:00-23:59)"}}); };
  if (hhmm.size() != 5 || hhmm[2] != ':') return bad();
  for (int i : {0, 1, 3, 4}) {
    if (hhmm[i] < '0' || hhmm[i] > '9') return bad();
  }
  int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0');
  int m = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
  if (h > 23 || m > 59) return bad();
  return h * 60 + m;
}

Status ValidateWindows(const Windows& w) {
  RETURN_IF_ERROR(Zone(w.time_zone).status());
  ASSIGN_OR_RETURN(int next, ParseCutoff(w.next_day_cutoff, "next_day_cutoff"));
  if (w.same_day_cutoff) {
    ASSIGN_OR_RETURN(int same, ParseCutoff(*w.same_day_cutoff, "same_day_cutoff"));
    if (same >= next) {
      return Status::Validation(
          {{"same_day_cutoff", "must be earlier in the day than next_day_cutoff"}});
    }
  }
  return Status::Ok();
}

Result<Date> LocalDate(int64_t now_ms, const std::string& time_zone) {
  ASSIGN_OR_RETURN(const date::time_zone* z, Zone(time_zone));
  auto sys = date::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(now_ms));
  auto local = z->to_local(sys);
  return Date(date::floor<date::days>(local));
}

Result<int64_t> LocalInstant(Date d, const std::string& hhmm, const std::string& time_zone) {
  ASSIGN_OR_RETURN(const date::time_zone* z, Zone(time_zone));
  ASSIGN_OR_RETURN(int minutes, ParseCutoff(hhmm, "cutoff"));
  date::local_seconds local = date::local_days(d) + std::chrono::minutes(minutes);
  date::local_info li = z->get_info(local);
  date::sys_seconds sys;
  if (li.result == date::local_info::nonexistent) {
    sys = li.first.end;  // the first valid instant after the gap
  } else {
    sys = date::sys_seconds{local.time_since_epoch() - li.first.offset};
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

Result<Schedule> ComputeSchedule(const Windows& w, const ScheduleRequest& r) {
  ASSIGN_OR_RETURN(Date today, LocalDate(r.now_ms, w.time_zone));
  Schedule s;
  std::string note;
  std::optional<Date> wanted;
  if (r.effective_date) {
    wanted = RollForward(*r.effective_date);
    if (*wanted != *r.effective_date) {
      std::string why = HolidayName(*r.effective_date);
      if (why.empty())
        why = "not a banking day";
      else
        why = why + ", a Federal Reserve holiday";
      note = FormatDate(*r.effective_date) + " is " + why + "; moved to " + FormatDate(*wanted);
    }
  }
  auto at_least = [](std::optional<Date> a, std::optional<Date> b) {
    if (!a) return b;
    if (!b) return a;
    return std::optional<Date>(std::max(*a, *b));
  };
  std::optional<Date> floor =
      r.not_before ? std::optional<Date>(RollForward(*r.not_before)) : std::nullopt;

  if (r.same_day && w.same_day_cutoff) {
    Date first = today;
    ASSIGN_OR_RETURN(int64_t today_cut, LocalInstant(today, *w.same_day_cutoff, w.time_zone));
    if (!IsBankingDay(today) || r.now_ms >= today_cut) first = NextBankingDay(today);
    Date e = *at_least(at_least(first, wanted), floor);
    if (wanted && e != *wanted) {
      if (!note.empty()) note += "; ";
      note += (floor && e == RollForward(*floor) && e > first)
                  ? "held until the counterparty's prenote has settled: " + FormatDate(e)
                  : "today's same-day window has closed; effective " + FormatDate(e);
    }
    s.effective_date = e;
    s.same_day = true;
    s.window_kind = "same_day";
    ASSIGN_OR_RETURN(s.window_at, LocalInstant(e, *w.same_day_cutoff, w.time_zone));
    s.note = note;
    return s;
  }

  ASSIGN_OR_RETURN(int64_t today_cut, LocalInstant(today, w.next_day_cutoff, w.time_zone));
  Date file_day = (IsBankingDay(today) && r.now_ms < today_cut) ? today : NextBankingDay(today);
  Date earliest = NextBankingDay(file_day);
  Date e = *at_least(at_least(earliest, wanted), floor);
  if (wanted && e != *wanted) {
    if (!note.empty()) note += "; ";
    note += (floor && e == RollForward(*floor) && e > earliest)
                ? "held until the counterparty's prenote has settled: " + FormatDate(e)
                : "the earliest reachable effective date is " + FormatDate(e);
  } else if (!wanted && floor && e > earliest) {
    note = "held until the counterparty's prenote has settled: " + FormatDate(e);
  }
  s.effective_date = e;
  s.same_day = false;
  s.window_kind = "next_day";
  ASSIGN_OR_RETURN(s.window_at,
                   LocalInstant(PreviousBankingDay(e), w.next_day_cutoff, w.time_zone));
  s.note = note;
  return s;
}

std::vector<int64_t> SplitAmount(int64_t amount, int64_t max_part) {
  if (amount <= max_part || max_part <= 0) return {amount};
  const int64_t parts = (amount + max_part - 1) / max_part;
  std::vector<int64_t> out(parts, amount / parts);
  for (int64_t i = 0; i < amount % parts; ++i) ++out[i];
  return out;
}

}  // namespace kontor::payments
