// Checks for the shapes of contact data that several modules accept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kontor {

// A pragmatic address check: one '@', a dot in the domain, no spaces or
// characters that break headers. Deliverability is the mail server's call.
bool LooksLikeEmail(const std::string& s);
// E.164: '+', a non-zero digit, 7 to 15 digits in all.
bool IsE164(const std::string& s);
// A BCP 47 language tag of the common form: "de", "en-US", "zh-Hant-TW".
bool IsLanguageTag(const std::string& s);
// ISO 3166-1 alpha-2 shape: two upper-case letters.
bool IsCountryCode(const std::string& s);
// A record id as the API shows it ("42": ids are opaque strings outside,
// positive integers inside); nullopt for anything else.
std::optional<int64_t> ParseId(std::string_view s);

}  // namespace kontor
