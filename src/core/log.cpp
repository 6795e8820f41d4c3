#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <chrono>
#include <cstdio>

#include "core/clock.h"

namespace kontor {
namespace {

bool g_json = true;

spdlog::level::level_enum ToSpd(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* Name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void InitLogging(const std::string& level, const std::string& format) {
  // Logs go to stderr so stdout stays for what commands print (tokens, help).
  auto logger = spdlog::stderr_logger_mt("kontor");
  spdlog::set_default_logger(logger);
  g_json = format != "text";
  spdlog::set_pattern(g_json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
  // stderr is unbuffered, which would make every access-log line a write(2)
  // on the request path. Buffer it and flush once a second, and at once for
  // warnings and errors (and at exit).
  static char buffer[1 << 16];
  std::setvbuf(stderr, buffer, _IOFBF, sizeof(buffer));
  spdlog::flush_on(spdlog::level::warn);
  spdlog::flush_every(std::chrono::seconds(1));
}

bool LogEnabled(LogLevel level) { return spdlog::default_logger_raw()->should_log(ToSpd(level)); }

void Log(LogLevel level, std::string_view msg, const boost::json::object& fields) {
  auto lvl = ToSpd(level);
  if (!spdlog::default_logger_raw()->should_log(lvl)) return;
  if (g_json) {
    // Appended field by field rather than through a merged json::object: this
    // runs for every request's access-log line.
    std::string line;
    line.reserve(256);
    line += "{\"time\":\"";
    line += FormatRfc3339(SystemClock::Default()->NowMs());
    line += "\",\"level\":\"";
    line += Name(level);
    line += "\",\"msg\":";
    line += boost::json::serialize(boost::json::string_view(msg.data(), msg.size()));
    for (const auto& kv : fields) {
      line += ',';
      line += boost::json::serialize(kv.key());
      line += ':';
      line += boost::json::serialize(kv.value());
    }
    line += '}';
    spdlog::log(lvl, "{}", line);
  } else {
    spdlog::log(lvl, "{} {}", msg, fields.empty() ? "" : boost::json::serialize(fields));
  }
}

namespace {

// Appends `s` as a JSON string literal, escaped by Boost.JSON's serializer
// into a stack buffer (no allocation).
void AppendJsonString(std::string& out, std::string_view s) {
  thread_local boost::json::serializer sr;
  sr.reset(boost::json::string_view(s.data(), s.size()));
  char buf[512];
  while (!sr.done()) out += sr.read(buf, sizeof(buf));
}

}  // namespace

void LogFields(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  if (!g_json) {
    boost::json::object o;
    for (const auto& f : fields) {
      if (f.is_int) o[f.key] = f.num;
      else o[f.key] = f.str;
    }
    Log(level, msg, o);
    return;
  }
  thread_local std::string line;
  line.clear();
  line += "{\"time\":\"";
  line += FormatRfc3339(SystemClock::Default()->NowMs());
  line += "\",\"level\":\"";
  line += Name(level);
  line += "\",\"msg\":";
  AppendJsonString(line, msg);
  for (const auto& f : fields) {
    line += ',';
    AppendJsonString(line, f.key);
    line += ':';
    if (f.is_int) {
      line += std::to_string(f.num);
    } else {
      AppendJsonString(line, f.str);
    }
  }
  line += "}\n";
  // Same FILE as spdlog's stderr sink, so lines never interleave and the
  // periodic flush covers both.
  std::fwrite(line.data(), 1, line.size(), stderr);
  if (level >= LogLevel::kWarn) std::fflush(stderr);
}

}  // namespace kontor
