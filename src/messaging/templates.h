// Message templates: per channel (email, SMS, push) and language, Mustache
// sources that are checked when a template is saved and rendered once per
// recipient. Pure functions without database or clock, safe on any thread.
//
// Stored JSON shape (what ParseTemplate reads and TemplateToJson writes):
//   {"channel": "email", "default_language": "de",
//    "languages": {"de": {"subject": "...", "html": "...", "text": "..."},
//                  "en": {...}}}
// sms languages have "text"; push languages "title", "body" and optionally
// "image" (http(s) URL), "link" (deep link) and "data" (string → template).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace kontor::messaging {

// APNs refuses payloads above 4 KB; FCM's limit is the same, so one number.
inline constexpr size_t kMaxPushPayloadBytes = 4096;
inline constexpr int kDefaultMaxSmsSegments = 10;

// One language's parts. Which parts a channel uses is listed above; an empty
// string means "not given" (ParseTemplate rejects empty strings, so the two
// cannot be confused).
struct TemplateContent {
  std::string subject, html, text;  // email; sms uses text only
  std::string title, body, image, link;
  std::map<std::string, std::string> data;  // push: key → template
};

struct MessageTemplate {
  std::string channel;  // email | sms | push
  std::string default_language;
  std::map<std::string, TemplateContent> languages;  // by BCP 47 tag
};

// Reads channel, default_language and languages through `reader`, adding
// every problem to it (field names like "languages.de.subject", each Mustache
// compile error with its line and column). For request bodies that carry
// more fields than the template: the caller reads its own fields through the
// same reader and calls Finish(). Returns nullopt when something is invalid.
std::optional<MessageTemplate> ReadTemplate(JsonReader& reader);
// The whole object is the template; unknown fields are errors. `prefix` goes
// before every field name, as with JsonReader ("template." → "template.channel").
Result<MessageTemplate> ParseTemplate(const json::object& body, const std::string& prefix);
json::object TemplateToJson(const MessageTemplate& t);

// The language that serves `requested`: the exact tag (case-insensitive,
// "_" taken as "-", so device locales like "de_AT" work), else its primary
// subtag ("de-AT" → "de"), else the default language. Empty when the
// template has none of these (only for templates not made by ParseTemplate).
std::string ResolveLanguage(const MessageTemplate& t, const std::string& requested);

struct RenderOptions {
  // A variable tag ({{x}}, {{{x}}}, {{&x}}) whose name resolves to nothing is
  // an error; lenient rendering leaves it empty and lists it instead. Sections
  // over missing names are never errors: missing is false-y.
  bool strict = true;
  int max_sms_segments = kDefaultMaxSmsSegments;
};

struct SmsInfo {
  std::string encoding;  // GSM-7 | UCS-2
  int segments = 0;
  int characters = 0;  // Unicode code points, what a person counts
  int units = 0;       // what segments are made of: septets (GSM-7) or UTF-16 code units
};

struct RenderedMessage {
  std::string channel;
  std::string language;  // the language actually used (see ResolveLanguage)
  // email: subject, html (may be empty) and text; sms: text
  std::string subject, html, text;
  bool text_derived = false;  // email text made from html by HtmlToText
  SmsInfo sms;                // sms only
  // push
  std::string title, body, image, link;
  std::map<std::string, std::string> data;
  // Lenient mode: variables that rendered empty; field = part ("html",
  // "data.order"), message = the variable name as written in the tag.
  std::vector<FieldError> unknown_variables;
};

// Renders the language ResolveLanguage picks. Variables are one JSON object
// (customer, event, campaign, unsubscribe_url, ... as the caller puts them):
// objects and arrays become Mustache objects and lists, numbers print in the
// shortest form that reads back the same (3, 2.5, 0.0001), booleans are
// section conditions that print nothing, null is false-y and prints nothing.
// Dotted names resolve as the Mustache spec says: the first segment up the
// section stack, the rest inside what it found.
// HTML escaping applies to the email html part only ({{x}} escaped, {{{x}}}
// and {{&x}} raw); every other part is plain text and never escaped.
// Errors are kValidation naming the part ("html", "data.order"): unknown
// variables (strict), outputs over their size caps, an empty subject, SMS
// text or push body, too many SMS segments, a push payload over 4096 bytes,
// an image that is no http(s) URL or a link that is no URI.
Result<RenderedMessage> Render(const MessageTemplate& t, const std::string& language,
                               const json::object& vars, const RenderOptions& o = {});

// GSM 03.38 when every character is in the basic set or the extension table
// (those count two septets), else UCS-2. One message holds 160 septets or 70
// code units; concatenated messages 153 or 67 each, and an extension
// character or a surrogate pair is never split between two of them.
// Invalid UTF-8 bytes count as U+FFFD.
SmsInfo CountSms(std::string_view text);

// {"aps":{"alert":{"title":..,"body":..}}, "image":.., "link":.., ...data}
// (image and link only when set): what the push sender sends, give or take
// the provider envelope, so its size is what the 4 KB limit applies to.
json::object PushPayload(const RenderedMessage& m);
size_t PushPayloadBytes(const RenderedMessage& m);

// A plain-text alternative for an html-only email: comments, head, script
// and style dropped; br, block ends and list items start new lines; links
// read "text (url)"; other tags removed; &amp; &lt; &gt; &quot; &apos; &#39;
// &nbsp; and numeric entities decoded (others kept as written); runs of
// blanks collapsed, at most one empty line in a row. Not a layout engine.
std::string HtmlToText(std::string_view html);

struct LanguageCheck {
  std::string language;
  SmsInfo sms;                                // sms
  size_t push_payload_bytes = 0;              // push
  std::vector<FieldError> unknown_variables;  // used but not in the sample
};
struct TemplateCheck {
  std::vector<LanguageCheck> languages;  // in tag order
};

// For saving: renders every language leniently with the sample variables and
// reports the SMS segments or push payload size per language. Errors (fields
// "languages.<tag>.<part>") when a language cannot be sent even with the
// sample: push payload over 4096 bytes, more SMS segments than allowed, an
// empty required part, output over a size cap.
Result<TemplateCheck> CheckTemplate(const MessageTemplate& t, const json::object& sample_vars,
                                    int max_sms_segments = kDefaultMaxSmsSegments);

// Exposed for tests and the fuzz target only.
namespace internal {
// Compiles a part's source and returns it with every tag name marked by kind
// (variable, section, inverted section; see templates.cpp), which is how the
// renderer tells a missing {{x}} from a missing {{#x}}. Errors are
// kInvalidArgument with the message for the user.
Result<std::string> MarkTags(const std::string& source);
// Renders a source, marked or not, without escaping. Marked variables that
// resolve to nothing are added to *unknown when it is not null.
Result<std::string> RenderSource(const std::string& source, const json::object& vars,
                                 std::vector<std::string>* unknown);
}  // namespace internal

}  // namespace kontor::messaging
