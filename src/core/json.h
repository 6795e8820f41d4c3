// Strict reading of JSON request bodies: typed getters that collect every
// problem (wrong type, missing, out of range) and reject unknown fields, so a
// route answers one 422 that names all offending fields.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kontor {

namespace json = boost::json;

// Malformed JSON → kInvalidArgument (400); valid JSON that is not an object →
// kValidation (422). Depth and size are bounded by the parser options.
Result<json::object> ParseJsonObject(std::string_view text);

class JsonReader {
 public:
  // `prefix` is prepended to field names in errors ("overrides." → "overrides.payments").
  explicit JsonReader(const json::object& obj, std::string prefix = "");

  bool Has(std::string_view key) const;
  bool IsNull(std::string_view key) const;

  std::optional<std::string> String(std::string_view key, bool required, size_t max_len = 1000,
                                    size_t min_len = 0);
  std::optional<int64_t> Int(std::string_view key, bool required, int64_t lo, int64_t hi);
  std::optional<bool> Bool(std::string_view key, bool required);
  // A record id as the API writes it ("42"); a bare positive integer is taken too.
  std::optional<int64_t> Id(std::string_view key, bool required);
  const json::object* Object(std::string_view key, bool required);
  const json::array* Array(std::string_view key, bool required, size_t max_items = 1000);
  // One of the listed strings.
  std::optional<std::string> Enum(std::string_view key, bool required,
                                  const std::vector<std::string>& allowed);
  // A field accepted as-is (marked known); nullptr when absent.
  const json::value* Raw(std::string_view key);

  void AddError(std::string field, std::string message);
  std::string FieldName(std::string_view key) const;
  // Reports unknown fields and everything collected so far.
  Status Finish();

 private:
  const json::value* Lookup(std::string_view key, bool required, const char* type_name);

  const json::object& obj_;
  std::string prefix_;
  // Which of obj_'s members were read, by position: Finish() reports the
  // others as unknown. (A set of key strings cost an allocation per field,
  // measurable in bulk sync.)
  std::vector<bool> seen_;
  void MarkSeen(std::string_view key);
  std::vector<FieldError> errors_;
};

// Convenience for building response JSON from optional values.
inline json::value NullOr(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}
// An optional Unix-ms time as an RFC 3339 string, or null.
json::value TimeOrNull(const std::optional<int64_t>& unix_ms);
// The strings of a stored JSON array (non-strings and bad JSON are skipped).
std::vector<std::string> ParseStringArray(std::string_view text);

}  // namespace kontor
