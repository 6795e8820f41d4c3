// Checks for the shapes of contact data that several modules accept.
#pragma once

#include <string>

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

}  // namespace kontor
