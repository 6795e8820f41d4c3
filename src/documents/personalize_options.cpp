#include "documents/personalize_options.h"

#include <cmath>
#include <cstdint>

namespace kontor::documents {
namespace {

// Revision 6 passwords are UTF-8, of which readers use the first 127 bytes.
constexpr size_t kMaxPasswordBytes = 127;
constexpr size_t kMaxRecipientIdBytes = 256;
constexpr size_t kMaxLineBytes = 500;

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool InRange(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

}  // namespace

Status ValidateOptions(const WatermarkOptions& w, const ProtectionOptions* protection) {
  std::vector<FieldError> errors;
  const auto check = [&](bool ok, const char* field, const char* message) {
    if (!ok) errors.push_back({field, message});
  };
  check(InRange(w.font_size, 1, 200), "watermark.font_size", "must be between 1 and 200 points");
  check(InRange(w.min_font_size, 1, 200) && w.min_font_size <= w.font_size,
        "watermark.min_font_size", "must be between 1 point and font_size");
  check(InRange(w.margin_x, 0, 5000), "watermark.margin_x", "must be between 0 and 5000 points");
  check(InRange(w.margin_y, 0, 5000), "watermark.margin_y", "must be between 0 and 5000 points");
  check(InRange(w.line_spacing, 0.5, 5), "watermark.line_spacing", "must be between 0.5 and 5");
  check(InRange(w.red, 0, 1) && InRange(w.green, 0, 1) && InRange(w.blue, 0, 1), "watermark.color",
        "components must be between 0 and 1");
  check(InRange(w.opacity, 0, 1), "watermark.opacity", "must be between 0 and 1");
  check(!w.rotation_degrees || InRange(*w.rotation_degrees, -360, 360),
        "watermark.rotation_degrees", "must be between -360 and 360");
  check(w.max_lines >= 1 && w.max_lines <= 50, "watermark.max_lines", "must be between 1 and 50");
  check(w.reserved_stream_bytes >= 256 && w.reserved_stream_bytes <= (1u << 20),
        "watermark.reserved_stream_bytes", "must be between 256 and 1048576");
  check(w.reserved_id_bytes >= 16 && w.reserved_id_bytes <= 4096, "watermark.reserved_id_bytes",
        "must be between 16 and 4096");
  if (protection) {
    check(!protection->owner_password.empty(), "protection.owner_password", "is required");
    check(protection->owner_password.size() <= kMaxPasswordBytes &&
              ValidUtf8(protection->owner_password),
          "protection.owner_password", "must be UTF-8 of at most 127 bytes");
    check(protection->user_password.size() <= kMaxPasswordBytes &&
              ValidUtf8(protection->user_password),
          "protection.user_password", "must be UTF-8 of at most 127 bytes");
    // With equal passwords every reader would hold the owner's rights.
    check(protection->owner_password != protection->user_password, "protection.owner_password",
          "must differ from the user password");
  }
  if (errors.empty()) return Status::Ok();
  return Status::Validation(std::move(errors));
}

Status ValidateRecipient(const Recipient& r, const WatermarkOptions& watermark) {
  std::vector<FieldError> errors;
  bool controls = false;
  for (char c : r.id) controls |= static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
  if (r.id.empty() || r.id.size() > kMaxRecipientIdBytes || !ValidUtf8(r.id) || controls) {
    errors.push_back(
        {"recipient.id", "must be 1 to 256 bytes of UTF-8 without control characters"});
  }
  bool any_text = false, too_long = false;
  for (const std::string& line : r.lines) {
    any_text |= line.find_first_not_of(" \t") != std::string::npos;
    too_long |= line.size() > kMaxLineBytes;
  }
  if (!any_text || r.lines.size() > watermark.max_lines || too_long) {
    errors.push_back(
        {"recipient.lines", "must hold 1 to max_lines lines of at most 500 bytes, not all blank"});
  }
  if (errors.empty()) return Status::Ok();
  return Status::Validation(std::move(errors));
}

}  // namespace kontor::documents
