// Process-wide logging on spdlog. In json format every line is one JSON object
// (time, level, msg, plus fields), which is what log shippers want.
#pragma once

#include <boost/json/object.hpp>
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

}  // namespace kontor
