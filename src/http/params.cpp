#include "http/params.h"

#include <charconv>

#include "core/clock.h"
#include "core/validation.h"

namespace kontor::http {
namespace {

std::optional<int64_t> ToInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

Result<json::object> JsonBody(const Request& req) {
  if (req.body.empty()) return Status::InvalidArgument("a JSON object body is required");
  return ParseJsonObject(req.body);
}

Result<int64_t> PathId(const Request& req, const std::string& name, const std::string& what) {
  auto v = ParseId(req.PathParam(name));
  if (!v) return Status::NotFound("no " + what + " " + req.PathParam(name));
  return *v;
}

Result<int> LimitParam(const Request& req, int def, int max) {
  auto s = req.Query("limit");
  if (!s) return def;
  auto v = ToInt(*s);
  if (!v || *v < 1 || *v > max) {
    return Status::BadParameter("limit", "must be an integer from 1 to " + std::to_string(max));
  }
  return static_cast<int>(*v);
}

Result<std::optional<int64_t>> CursorParam(const Request& req, const std::string& name) {
  auto s = req.Query(name);
  if (!s || s->empty()) return std::optional<int64_t>();
  auto v = ToInt(*s);
  if (!v || *v <= 0) return Status::BadParameter(name, "is not a cursor this API returned");
  return std::optional<int64_t>(*v);
}

Result<std::optional<int64_t>> TimeParam(const Request& req, const std::string& name) {
  auto s = req.Query(name);
  if (!s || s->empty()) return std::optional<int64_t>();
  auto t = ParseRfc3339(*s);
  if (!t.ok()) return Status::BadParameter(name, "must be an RFC 3339 time");
  return std::optional<int64_t>(*t);
}

Result<bool> BoolParam(const Request& req, const std::string& name, bool def) {
  auto s = req.Query(name);
  if (!s) return def;
  if (*s == "true" || *s == "1") return true;
  if (*s == "false" || *s == "0") return false;
  return Status::BadParameter(name, "must be true or false");
}

Result<std::optional<int64_t>> IfMatchVersion(const Request& req) {
  std::string_view h = req.Header("if-match");
  if (h.empty()) return std::optional<int64_t>();
  if (h.starts_with("W/")) h.remove_prefix(2);
  if (h.size() >= 2 && h.front() == '"' && h.back() == '"') h = h.substr(1, h.size() - 2);
  auto v = ToInt(h);
  if (!v) return Status::BadParameter("If-Match", "must be an ETag this API returned");
  return std::optional<int64_t>(*v);
}

Status OnlyQueryParams(const Request& req, std::initializer_list<const char*> known) {
  for (const auto& [k, v] : req.query) {
    bool ok = false;
    for (const char* n : known) ok |= k == n;
    if (!ok) return Status::BadParameter(k, "unknown query parameter");
  }
  return Status::Ok();
}

json::value CursorOrNull(const std::optional<int64_t>& next) {
  return next ? json::value(std::to_string(*next)) : json::value(nullptr);
}

}  // namespace kontor::http
