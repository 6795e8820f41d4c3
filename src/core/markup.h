// Text put into HTML or XML: the one escaper for both, so a name in an email
// body and in a PDF's XMP metadata is escaped the same way.
#pragma once

#include <string>
#include <string_view>

namespace kontor {

// & < > " ' as entities (' as &#39;, which HTML 4 mail clients such as older
// Outlook show correctly and &apos; they do not); C0 controls other than tab,
// line feed and carriage return are dropped, as XML 1.0 has no place for them.
std::string EscapeMarkup(std::string_view text);

}  // namespace kontor
