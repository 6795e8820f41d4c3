// Process-wide logging on spdlog. In json format every line is one JSON object
// (time, level, msg, plus fields), which is what log shippers want.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace kontor {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void InitLogging(const std::string& level, const std::string& format);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view msg, const boost::json::object& fields = {});
inline void LogInfo(std::string_view m, const boost::json::object& f = {}) { Log(LogLevel::kInfo, m, f); }
inline void LogWarn(std::string_view m, const boost::json::object& f = {}) { Log(LogLevel::kWarn, m, f); }
inline void LogError(std::string_view m, const boost::json::object& f = {}) { Log(LogLevel::kError, m, f); }
inline void LogDebug(std::string_view m, const boost::json::object& f = {}) { Log(LogLevel::kDebug, m, f); }

// A log field that refers to its value instead of copying it.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), str(v), is_int(false) {}
  LogField(std::string_view k, int64_t v) : key(k), num(v), is_int(true) {}
  std::string_view key;
  std::string_view str;
  int64_t num = 0;
  bool is_int;
};
// The allocation-light form of Log for hot paths (the access log): the line
// is built in a per-thread buffer and written with one buffered fwrite.
void LogFields(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields);

}  // namespace kontor
