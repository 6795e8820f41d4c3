#include "core/validation.h"

#include <cctype>
#include <charconv>

namespace kontor {

bool LooksLikeEmail(const std::string& s) {
  if (s.size() > 254) return false;
  auto at = s.find('@');
  if (at == std::string::npos || at == 0 || at != s.rfind('@') || at + 1 >= s.size()) return false;
  if (s.find('.', at) == std::string::npos || s.back() == '.') return false;
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';') return false;
  }
  return true;
}

bool IsE164(const std::string& s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool IsLanguageTag(const std::string& s) {
  if (s.empty() || s.size() > 35) return false;
  size_t start = 0;
  int part = 0;
  while (start <= s.size()) {
    size_t end = s.find('-', start);
    if (end == std::string::npos) end = s.size();
    size_t len = end - start;
    if (len == 0 || len > 8) return false;
    for (size_t i = start; i < end; ++i) {
      if (!std::isalnum(static_cast<unsigned char>(s[i]))) return false;
    }
    if (part == 0) {
      if (len < 2 || len > 3) return false;
      for (size_t i = start; i < end; ++i) {
        if (!std::islower(static_cast<unsigned char>(s[i]))) return false;
      }
    }
    ++part;
    start = end + 1;
  }
  return true;
}

bool IsCountryCode(const std::string& s) {
  return s.size() == 2 && std::isupper(static_cast<unsigned char>(s[0])) &&
         std::isupper(static_cast<unsigned char>(s[1]));
}

std::optional<int64_t> ParseId(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace kontor
