// Injectable time source. Every time-driven feature takes a Clock so tests can
// drive it with FakeClock instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace kontor {

using TimePoint = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  int64_t NowMs() const;
};

class SystemClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  static SystemClock* Default();
};

// Thread-safe; starts at the given time and moves only when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_ms) : ms_(start_ms) {}
  TimePoint Now() const override { return TimePoint(Millis(ms_.load())); }
  void Advance(Millis d) { ms_ += d.count(); }
  void SetMs(int64_t ms) { ms_ = ms; }

 private:
  std::atomic<int64_t> ms_;
};

int64_t ToMs(TimePoint t);
TimePoint FromMs(int64_t ms);
// RFC 3339 UTC with milliseconds, e.g. 2026-11-22T10:00:00.000Z.
std::string FormatRfc3339(int64_t unix_ms);
// Accepts RFC 3339 with 'Z' or a numeric offset, with or without fraction.
Result<int64_t> ParseRfc3339(const std::string& s);

}  // namespace kontor
