#include "core/json.h"

#include "core/clock.h"
#include "core/validation.h"

namespace kontor {

Result<json::object> ParseJsonObject(std::string_view text) {
  if (text == "{}") return json::object();  // the common stored value, without a parser
  json::parse_options opt;
  opt.max_depth = 32;
  std::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) return Status::InvalidArgument("malformed JSON: " + ec.message());
  if (!v.is_object()) return Status::Validation({{"body", "must be a JSON object"}});
  return std::move(v.as_object());
}

JsonReader::JsonReader(const json::object& obj, std::string prefix)
    : obj_(obj), prefix_(std::move(prefix)), seen_(obj.size(), false) {}

void JsonReader::MarkSeen(std::string_view key) {
  auto it = obj_.find(key);
  if (it != obj_.end()) seen_[static_cast<size_t>(it - obj_.begin())] = true;
}

std::string JsonReader::FieldName(std::string_view key) const { return prefix_ + std::string(key); }

bool JsonReader::Has(std::string_view key) const { return obj_.contains(key); }

bool JsonReader::IsNull(std::string_view key) const {
  auto* v = obj_.if_contains(key);
  return v && v->is_null();
}

void JsonReader::AddError(std::string field, std::string message) {
  errors_.push_back({std::move(field), std::move(message)});
}

const json::value* JsonReader::Lookup(std::string_view key, bool required, const char* type_name) {
  MarkSeen(key);
  const json::value* v = obj_.if_contains(key);
  if (!v || v->is_null()) {
    if (required) AddError(FieldName(key), std::string("is required (") + type_name + ")");
    return nullptr;
  }
  return v;
}

std::optional<std::string> JsonReader::String(std::string_view key, bool required, size_t max_len,
                                              size_t min_len) {
  const json::value* v = Lookup(key, required, "string");
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    AddError(FieldName(key), "must be a string");
    return std::nullopt;
  }
  const json::string& s = v->get_string();
  if (s.size() > max_len) {
    AddError(FieldName(key), "must be at most " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  if (s.size() < min_len) {
    AddError(FieldName(key), min_len == 1 ? "must not be empty"
                                          : "must be at least " + std::to_string(min_len) + " characters");
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<int64_t> JsonReader::Id(std::string_view key, bool required) {
  const json::value* v = Lookup(key, required, "id");
  if (!v) return std::nullopt;
  std::optional<int64_t> id;
  if (v->is_string()) id = ParseId(v->get_string());
  else if (v->is_int64() && v->get_int64() > 0) id = v->get_int64();
  if (!id) AddError(FieldName(key), "must be an id");
  return id;
}

std::optional<int64_t> JsonReader::Int(std::string_view key, bool required, int64_t lo, int64_t hi) {
  const json::value* v = Lookup(key, required, "integer");
  if (!v) return std::nullopt;
  int64_t x;
  if (v->is_int64()) {
    x = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    x = static_cast<int64_t>(v->get_uint64());
  } else {
    AddError(FieldName(key), "must be an integer");
    return std::nullopt;
  }
  if (x < lo || x > hi) {
    AddError(FieldName(key), "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return std::nullopt;
  }
  return x;
}

std::optional<bool> JsonReader::Bool(std::string_view key, bool required) {
  const json::value* v = Lookup(key, required, "boolean");
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    AddError(FieldName(key), "must be true or false");
    return std::nullopt;
  }
  return v->get_bool();
}

const json::object* JsonReader::Object(std::string_view key, bool required) {
  const json::value* v = Lookup(key, required, "object");
  if (!v) return nullptr;
  if (!v->is_object()) {
    AddError(FieldName(key), "must be an object");
    return nullptr;
  }
  return &v->get_object();
}

const json::array* JsonReader::Array(std::string_view key, bool required, size_t max_items) {
  const json::value* v = Lookup(key, required, "array");
  if (!v) return nullptr;
  if (!v->is_array()) {
    AddError(FieldName(key), "must be an array");
    return nullptr;
  }
  if (v->get_array().size() > max_items) {
    AddError(FieldName(key), "must have at most " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return &v->get_array();
}

std::optional<std::string> JsonReader::Enum(std::string_view key, bool required,
                                            const std::vector<std::string>& allowed) {
  auto s = String(key, required, 200);
  if (!s) return std::nullopt;
  for (const auto& a : allowed) {
    if (*s == a) return s;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  AddError(FieldName(key), "must be one of: " + list);
  return std::nullopt;
}

const json::value* JsonReader::Raw(std::string_view key) {
  MarkSeen(key);
  return obj_.if_contains(key);
}

json::value TimeOrNull(const std::optional<int64_t>& unix_ms) {
  return unix_ms ? json::value(FormatRfc3339(*unix_ms)) : json::value(nullptr);
}

std::vector<std::string> ParseStringArray(std::string_view text) {
  std::vector<std::string> out;
  std::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& s : v.as_array()) {
    if (s.is_string()) out.emplace_back(s.as_string());
  }
  return out;
}

Status JsonReader::Finish() {
  size_t i = 0;
  for (const auto& kv : obj_) {
    if (!seen_[i++]) AddError(FieldName(std::string_view(kv.key())), "unknown field");
  }
  if (errors_.empty()) return Status::Ok();
  return Status::Validation(errors_);
}

}  // namespace kontor
