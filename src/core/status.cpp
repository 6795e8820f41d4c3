#include "core/status.h"

namespace kontor {

Status Status::Validation(std::vector<FieldError> fields, std::string m) {
  if (m.empty()) {
    m = fields.size() == 1 ? fields[0].field + ": " + fields[0].message
                           : std::to_string(fields.size()) + " fields are invalid";
  }
  Status s(StatusCode::kValidation, std::move(m));
  s.fields_ = std::move(fields);
  return s;
}

Status Status::BadParameter(std::string field, std::string message) {
  Status s(StatusCode::kInvalidArgument, field + ": " + message);
  s.fields_.push_back({std::move(field), std::move(message)});
  return s;
}

Status Status::ResourceExhausted(std::string m, int retry_after_s) {
  Status s(StatusCode::kResourceExhausted, std::move(m));
  s.retry_after_ = retry_after_s;
  return s;
}

std::string Status::ToString() const {
  static const char* kNames[] = {"OK",        "InvalidArgument", "Validation",  "Unauthenticated",
                                 "PermissionDenied", "NotFound", "Conflict", "FailedPrecondition",
                                 "ResourceExhausted", "Unavailable", "Internal"};
  std::string out = kNames[static_cast<int>(code_)];
  if (!message_.empty()) out += ": " + message_;
  return out;
}

}  // namespace kontor
