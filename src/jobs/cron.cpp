#include "jobs/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <vector>

namespace kontor::jobs {
namespace {

struct FieldSpec {
  const char* name;
  int lo;
  int hi;
  const char* const* names;  // nullptr when the field takes no names
  int names_count;
  int names_base;  // value of names[0]
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kWeekdayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kFields[] = {
    {"minute", 0, 59, nullptr, 0, 0},
    {"hour", 0, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, nullptr, 0, 0},
    {"month", 1, 12, kMonthNames, 12, 1},
    // 7 is accepted as Sunday and folded onto 0 after parsing.
    {"day-of-week", 0, 7, kWeekdayNames, 7, 0},
};

struct Macro {
  const char* name;
  const char* expansion;
};

constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

Status BadField(const FieldSpec& f, std::string_view field, const std::string& why) {
  return Status::InvalidArgument("cron: invalid " + std::string(f.name) + " field \"" +
                                 std::string(field) + "\": " + why);
}

// A number or (where the field has them) a name; nullopt with `why` set otherwise.
std::optional<int> ParseValue(const FieldSpec& f, std::string_view text, std::string& why) {
  if (text.empty()) {
    why = "missing value";
    return std::nullopt;
  }
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
      why = "\"" + std::string(text) + "\" is not a number";
      return std::nullopt;
    }
    if (v < f.lo || v > f.hi) {
      why = std::to_string(v) + " is out of range " + std::to_string(f.lo) + "-" +
            std::to_string(f.hi);
      return std::nullopt;
    }
    return v;
  }
  for (int i = 0; i < f.names_count; ++i) {
    if (EqualsIgnoreCase(text, f.names[i])) return f.names_base + i;
  }
  why = "\"" + std::string(text) + "\" is not a " +
        (f.names ? std::string("number or name") : std::string("number"));
  return std::nullopt;
}

Status ParseField(const FieldSpec& f, std::string_view field, uint64_t& bits) {
  bits = 0;
  if (field.empty()) return BadField(f, field, "empty");
  for (std::string_view item : Split(field, ',')) {
    if (item.empty()) return BadField(f, field, "empty list element");
    std::vector<std::string_view> parts = Split(item, '/');
    if (parts.size() > 2)
      return BadField(f, field, "more than one '/' in \"" + std::string(item) + "\"");
    std::string_view base = parts[0];
    int step = 1;
    if (parts.size() == 2) {
      std::string_view s = parts[1];
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || step < 1 ||
          step > f.hi - f.lo + 1) {
        return BadField(f, field,
                        "step \"" + std::string(s) + "\" must be a number from 1 to " +
                            std::to_string(f.hi - f.lo + 1));
      }
    }
    int from, to;
    std::string why;
    if (base == "*") {
      from = f.lo;
      to = f.hi;
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      auto a = ParseValue(f, base.substr(0, dash), why);
      if (!a) return BadField(f, field, why);
      auto b = ParseValue(f, base.substr(dash + 1), why);
      if (!b) return BadField(f, field, why);
      if (*a > *b) {
        return BadField(f, field, "range \"" + std::string(base) + "\" runs backwards");
      }
      from = *a;
      to = *b;
    } else {
      auto a = ParseValue(f, base, why);
      if (!a) return BadField(f, field, why);
      from = *a;
      // "a/n" steps from a to the end of the field, as most crons read it.
      to = parts.size() == 2 ? f.hi : *a;
    }
    for (int v = from; v <= to; v += step) bits |= uint64_t{1} << v;
  }
  return Status::Ok();
}

bool Has(uint64_t bits, int v) { return (bits >> v) & 1; }

// The instant a local minute denotes under the DST rules documented in cron.h.
int64_t ToInstantMs(const date::time_zone* zone, date::local_seconds local) {
  date::local_info li = zone->get_info(local);
  date::sys_seconds sys;
  switch (li.result) {
    case date::local_info::nonexistent:
      // Skipped by a spring-forward gap: fire when the gap ends.
      sys = li.first.end;
      break;
    case date::local_info::ambiguous:
      // `first` is the period before the transition, so this is the earlier instant.
    case date::local_info::unique:
    default:
      sys = date::sys_seconds{local.time_since_epoch() - li.first.offset};
      break;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

Result<const date::time_zone*> LocateZone(const std::string& tz_name) {
  try {
    return date::locate_zone(tz_name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("unknown time zone \"" + tz_name + "\"");
  }
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expr) {
  std::string_view trimmed = expr;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) {
    trimmed.remove_prefix(1);
  }
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
    trimmed.remove_suffix(1);
  }
  std::string_view text = trimmed;
  if (!text.empty() && text[0] == '@') {
    const Macro* found = nullptr;
    for (const Macro& m : kMacros) {
      if (EqualsIgnoreCase(text, m.name)) found = &m;
    }
    if (!found) {
      return Status::InvalidArgument("cron: unknown macro \"" + std::string(text) +
                                     "\" (use @hourly, @daily, @weekly, @monthly or @yearly)");
    }
    text = found->expansion;
  }

  std::vector<std::string_view> fields;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(
        "cron: expected 5 fields (minute hour day-of-month month day-of-week) or a macro such "
        "as @daily, got " +
        std::to_string(fields.size()));
  }

  CronSchedule s;
  s.expr_ = std::string(trimmed);
  uint64_t* targets[] = {&s.minutes_, &s.hours_, &s.days_, &s.months_, &s.weekdays_};
  for (size_t i = 0; i < 5; ++i) RETURN_IF_ERROR(ParseField(kFields[i], fields[i], *targets[i]));
  if (Has(s.weekdays_, 7)) s.weekdays_ = (s.weekdays_ & ~(uint64_t{1} << 7)) | 1;
  // Vixie cron decides AND vs OR by whether the field text starts with '*'
  // (so "*/2" counts as unrestricted too).
  s.days_star_ = fields[2][0] == '*';
  s.weekdays_star_ = fields[4][0] == '*';
  return s;
}

bool CronSchedule::DayMatches(int day, int weekday) const {
  bool d = Has(days_, day), w = Has(weekdays_, weekday);
  if (days_star_ || weekdays_star_) return d && w;
  return d || w;
}

bool CronSchedule::Matches(int month, int day, int weekday, int hour, int minute) const {
  return Has(months_, month) && DayMatches(day, weekday) && Has(hours_, hour) &&
         Has(minutes_, minute);
}

Result<int64_t> CronSchedule::NextAfter(int64_t after_ms, const std::string& tz_name) const {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::seconds;
  ASSIGN_OR_RETURN(const date::time_zone* zone, LocateZone(tz_name));

  auto after_s = date::floor<seconds>(date::sys_time<milliseconds>{milliseconds(after_ms)});
  date::sys_info info = zone->get_info(after_s);
  auto start = date::floor<minutes>(date::local_seconds{after_s.time_since_epoch() + info.offset});

  // Local minutes are scanned in order; their instants never decrease (see
  // ToInstantMs), so the first instant past `after_ms` is the answer. Minutes
  // before `start` all map to instants at or before `after_ms`.
  date::local_days day = date::floor<date::days>(start);
  const int max_days = kSearchYears * 366;
  for (int i = 0; i <= max_days; ++i, day += date::days{1}) {
    date::year_month_day ymd{day};
    int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    int dom = static_cast<int>(static_cast<unsigned>(ymd.day()));
    int wd = static_cast<int>(date::weekday{day}.c_encoding());
    if (!Has(months_, month) || !DayMatches(dom, wd)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!Has(hours_, h)) continue;
      for (int m = 0; m < 60; ++m) {
        if (!Has(minutes_, m)) continue;
        auto local = day + hours(h) + minutes(m);
        if (local < start) continue;
        int64_t at = ToInstantMs(zone, date::local_seconds{local});
        if (at > after_ms) return at;
      }
    }
  }
  return Status::InvalidArgument("cron: \"" + expr_ + "\" never matches within " +
                                 std::to_string(kSearchYears) + " years");
}

Status CheckTimeZone(const std::string& tz_name) { return LocateZone(tz_name).status(); }

}  // namespace kontor::jobs
