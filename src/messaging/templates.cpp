#include "messaging/templates.h"

#include <algorithm>
#include <array>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <kainjow/mustache.hpp>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/markup.h"
#include "core/validation.h"

namespace kontor::messaging {
namespace {

using Data = kainjow::mustache::data;

// ---------------------------------------------------------------------------
// Limits. Sources are what staff type; rendered caps bound what one recipient's
// variables can blow a part up to.

constexpr size_t kMaxLanguages = 50;
constexpr size_t kMaxDataEntries = 32;
constexpr size_t kMaxDataKey = 64;
constexpr size_t kMaxSectionDepth = 16;

struct PartSpec {
  const char* name;
  bool required;
  size_t max_source;    // bytes of the template
  size_t max_rendered;  // bytes after rendering
  bool single_line;     // no CR/LF in the source (a subject is a mail header)
};

constexpr size_t kKiB = 1024;
constexpr PartSpec kEmailParts[] = {
    {"subject", true, 2 * kKiB, 2 * kKiB, true},
    {"html", false, 100 * kKiB, 1024 * kKiB, false},
    {"text", false, 100 * kKiB, 1024 * kKiB, false},
};
// 10 UCS-2 segments are 670 characters, up to 4 bytes each in UTF-8, plus tags.
constexpr PartSpec kSmsParts[] = {{"text", true, 5 * kKiB, 64 * kKiB, false}};
constexpr PartSpec kPushParts[] = {
    {"title", true, 1 * kKiB, 8 * kKiB, false},
    {"body", true, 4 * kKiB, 8 * kKiB, false},
    {"image", false, 2 * kKiB, 2 * kKiB, true},
    {"link", false, 2 * kKiB, 2 * kKiB, true},
};
constexpr PartSpec kPushDataPart = {"data", false, 2 * kKiB, 8 * kKiB, false};

// Keys a push data entry may not use: ours (the payload puts aps, image and
// link at the top level) and the ones FCM reserves.
bool IsReservedDataKey(const std::string& k) {
  static const std::set<std::string> kReserved = {
      "aps", "image", "link", "from", "notification", "message_type", "collapse_key"};
  return kReserved.count(k) > 0 || k.rfind("google.", 0) == 0 || k.rfind("gcm.", 0) == 0;
}

bool IsChannel(const std::string& c) { return c == "email" || c == "sms" || c == "push"; }

// The string member behind a part name; C is TemplateContent, maybe const.
template <typename C>
auto& Part(C& c, std::string_view part) {
  if (part == "subject") return c.subject;
  if (part == "html") return c.html;
  if (part == "text") return c.text;
  if (part == "title") return c.title;
  if (part == "body") return c.body;
  if (part == "image") return c.image;
  return c.link;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string HumanBytes(size_t n) {
  if (n >= 1024 * 1024 && n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + " MB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n / 1024) + " KB";
  return std::to_string(n) + " bytes";
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

// ---------------------------------------------------------------------------
// UTF-8

// Decodes the code point at s[*i] and advances *i; anything that is not
// well-formed UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated) is one
// U+FFFD per bad byte, so counting never fails.
char32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  // Sequence length, payload bits of the lead byte, and the smallest code
  // point that needs this length (anything below is overlong).
  size_t len;
  char32_t cp, min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    ++*i;
    return 0xFFFD;
  }
  if (*i + len > s.size()) {
    ++*i;
    return 0xFFFD;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return 0xFFFD;
  }
  *i += len;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// "line 3, column 7" for a byte offset; columns count code points, as an
// editor shows them.
std::string Where(std::string_view src, size_t offset) {
  offset = std::min(offset, src.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (src[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(src[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// ---------------------------------------------------------------------------
// Tag marking.
//
// kainjow's context interface only sees a name in get(), not whether a
// variable, a section or an inverted section asks, and its parse tree is
// private. To tell a missing {{x}} (an error in strict mode) from a missing
// {{#x}} (simply false), MarkTags scans the source the way kainjow's parser
// does and prefixes each tag's name with its kind:
//   {{x}}, {{{x}}}, {{&x}}   →  "\x1f" x
//   {{#x}} … {{/x}}          →  "\x1e" N "\x1e" x   (both tags)
//   {{^x}} … {{/x}}          →  "\x1d" N "\x1d" x
// N is the number of bytes of the section's own body (without nested
// sections). kainjow builds a whole line in memory before it hands it on, so
// VarsContext charges N for every time a section body will render and the
// value's size for every variable, and stops a render whose output would
// exceed the part's cap before that memory is spent.
// The marks are control characters that a valid template must not contain,
// and they sit inside the tag after any sigil, so kainjow parses the marked
// source into the same tree with only the names changed. The fuzz target
// checks exactly that: same output marked and unmarked.

constexpr char kVariableMark = '\x1f';
constexpr char kSectionMark = '\x1e';
constexpr char kInvertedMark = '\x1d';

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view TrimSpace(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && IsSpace(s[a])) ++a;
  while (b > a && IsSpace(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// kainjow's parse_set_delimiter_tag, so both agree on what follows.
bool ParseDelimiters(std::string_view contents, std::string* begin, std::string* end) {
  if (contents.size() < 5 || contents.back() != '=') return false;
  const std::string_view inner = TrimSpace(contents.substr(1, contents.size() - 2));
  const size_t space = inner.find(' ');
  if (space == std::string_view::npos) return false;
  const size_t next = inner.find_first_not_of(' ', space + 1);
  if (next == std::string_view::npos) return false;
  const std::string_view b = inner.substr(0, space), e = inner.substr(next);
  auto valid = [](std::string_view d) {
    return std::none_of(d.begin(), d.end(), [](char c) { return c == '=' || IsSpace(c); });
  };
  if (b.empty() || e.empty() || !valid(b) || !valid(e)) return false;
  *begin = std::string(b);
  *end = std::string(e);
  return true;
}

// At most `max` bytes of s, cut before a code point rather than inside one
// (error messages end up in JSON), with "…" when something was cut.
std::string Truncate(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  while (max > 0 && (static_cast<unsigned char>(s[max]) & 0xC0) == 0x80) --max;
  return std::string(s.substr(0, max)) + "…";
}

std::string Quoted(std::string_view name) { return "\"" + Truncate(name, 40) + "\""; }

Status TemplateError(std::string_view src, size_t at, const std::string& what) {
  return Status::InvalidArgument(what + " at " + Where(src, at));
}

Result<std::string> Mark(const std::string& src) {
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == kVariableMark || src[i] == kSectionMark || src[i] == kInvertedMark) {
      return TemplateError(src, i, "control character (U+001D to U+001F are not allowed)");
    }
  }
  struct Open {
    std::string name;
    size_t tag_start, body_start, insertion, nested;
    bool inverted;
  };
  std::vector<Open> open;
  std::vector<std::pair<size_t, std::string>> inserts;  // by position
  std::string begin = "{{", end = "}}";
  bool brace = true;  // kainjow's current_delimiter_is_brace: "{{{" means triple
  const size_t n = src.size();
  size_t pos = 0;
  while (pos < n) {
    if (src.compare(pos, begin.size(), begin) != 0) {
      ++pos;
      continue;
    }
    const size_t tag_start = pos;
    size_t contents_start = pos + begin.size();
    const bool triple = brace && contents_start < n && src[contents_start] == '{';
    const std::string close = triple ? "}}}" : end;
    if (triple) ++contents_start;
    const size_t tag_end = src.find(close, contents_start);
    if (tag_end == std::string::npos) return TemplateError(src, tag_start, "unclosed tag");
    pos = tag_end + close.size();
    size_t a = contents_start, b = tag_end;
    while (a < b && IsSpace(src[a])) ++a;
    while (b > a && IsSpace(src[b - 1])) --b;
    const std::string_view contents(src.data() + a, b - a);
    if (!contents.empty() && contents[0] == '=') {
      if (!ParseDelimiters(contents, &begin, &end)) {
        return TemplateError(src, tag_start, "invalid set-delimiter tag");
      }
      brace = begin == "{{" && end == "}}";
      continue;
    }
    // As kainjow: a triple tag is a variable whatever it holds; otherwise the
    // first character is the sigil and the name is the trimmed rest.
    char kind = 'v';
    std::string_view name = contents;
    if (!triple && !contents.empty() &&
        std::string_view("#^/>&!").find(contents[0]) != std::string_view::npos) {
      kind = contents[0];
      name = TrimSpace(contents.substr(1));
    }
    const size_t name_pos = static_cast<size_t>(name.data() - src.data());  // a view into src
    if (kind == '!') continue;
    if (kind == '>') {
      return TemplateError(src, tag_start,
                           "partials (" + Truncate(contents, 40) + ") are not supported");
    }
    if (name.empty()) return TemplateError(src, tag_start, "empty tag");
    if (kind == 'v' || kind == '&') {
      inserts.emplace_back(name_pos, std::string(1, kVariableMark));
    } else if (kind == '#' || kind == '^') {
      if (open.size() >= kMaxSectionDepth) {
        return TemplateError(src, tag_start,
                             "sections nested deeper than " + std::to_string(kMaxSectionDepth));
      }
      inserts.emplace_back(name_pos, "");
      open.push_back({std::string(name), tag_start, pos, inserts.size() - 1, 0, kind == '^'});
    } else {  // '/'
      if (open.empty()) {
        return TemplateError(src, tag_start,
                             "closing tag for " + Quoted(name) + " without an open section");
      }
      const Open& o = open.back();
      if (o.name != name) {
        return TemplateError(src, tag_start,
                             "section " + Quoted(o.name) + " (" + Where(src, o.tag_start) +
                                 ") closed by a tag for " + Quoted(name));
      }
      const size_t own = (tag_start - o.body_start) - o.nested;
      const char m = o.inverted ? kInvertedMark : kSectionMark;
      std::string mark = m + std::to_string(own) + m;
      inserts[o.insertion].second = mark;
      inserts.emplace_back(name_pos, std::move(mark));
      const size_t span = pos - o.tag_start;
      open.pop_back();
      if (!open.empty()) open.back().nested += span;
    }
  }
  if (!open.empty()) {
    return TemplateError(src, open.back().tag_start,
                         "section " + Quoted(open.back().name) + " is never closed");
  }
  std::string out;
  size_t extra = 0;
  for (const auto& [p, text] : inserts) extra += text.size();
  out.reserve(n + extra);
  size_t copied = 0;
  for (const auto& [p, text] : inserts) {
    out.append(src, copied, p - copied);
    out += text;
    copied = p;
  }
  out.append(src, copied, std::string::npos);
  return out;
}

// ---------------------------------------------------------------------------
// Variables → kainjow data

std::string FormatNumber(double d) {
  if (!std::isfinite(d)) return "";
  if (d == 0) return "0";  // also -0
  if (std::trunc(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  std::array<char, 512> buf;
  const double a = std::fabs(d);
  // Plain notation where people expect it (0.0001, not 1e-04), the shortest
  // digits that read back as the same double (19.9, not 19.899999999999999).
  auto r = (a >= 1e-6 && a < 1e21)
               ? std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::fixed)
               : std::to_chars(buf.data(), buf.data() + buf.size(), d);
  if (r.ec != std::errc()) return "";
  return std::string(buf.data(), r.ptr);
}

Data ToData(const json::value& v, int depth) {
  // Parsed request JSON is at most 32 deep; values built in code are cut off
  // rather than allowed to recurse without bound.
  if (depth > 64) return Data(false);
  switch (v.kind()) {
    case json::kind::object: {
      Data d(Data::type::object);
      for (const auto& kv : v.get_object())
        d[std::string(kv.key())] = ToData(kv.value(), depth + 1);
      return d;
    }
    case json::kind::array: {
      kainjow::mustache::list l;
      l.reserve(v.get_array().size());
      for (const auto& item : v.get_array()) l.push_back(ToData(item, depth + 1));
      return Data(l);
    }
    case json::kind::string:
      return Data(std::string(v.get_string()));
    case json::kind::bool_:
      return Data(v.get_bool());
    case json::kind::int64:
      return Data(std::to_string(v.get_int64()));
    case json::kind::uint64:
      return Data(std::to_string(v.get_uint64()));
    case json::kind::double_:
      return Data(FormatNumber(v.get_double()));
    case json::kind::null:
      break;
  }
  return Data(false);  // null: false-y, prints nothing, and is no unknown variable
}

Data VarsToData(const json::object& vars) {
  Data d(Data::type::object);
  for (const auto& kv : vars) d[std::string(kv.key())] = ToData(kv.value(), 1);
  return d;
}

// ---------------------------------------------------------------------------
// Rendering

struct OutputTooLarge {};
struct TooManySteps {};

// Lookups and section iterations per part; far above any sane template, low
// enough that nested sections over long lists cannot pin a worker.
constexpr size_t kMaxSteps = 1000000;
// Charged bytes may exceed the output by the tag text inside section bodies.
constexpr size_t kChargeFactor = 4;

class VarsContext final : public kainjow::mustache::basic_context<std::string> {
 public:
  VarsContext(const Data* root, size_t max_charge, std::vector<std::string>* unknown)
      : max_charge_(max_charge), unknown_(unknown) {
    stack_.push_back(root);
  }

  void push(const Data* data) override {
    Step();
    stack_.push_back(data);
  }
  void pop() override { stack_.pop_back(); }

  const Data* get(const std::string& name) const override {
    Step();
    std::string_view n(name);
    if (!n.empty() && n[0] == kVariableMark) {
      const std::string_view key = n.substr(1);
      const Data* d = Resolve(key);
      if (!d) {
        Record(key);
      } else if (d->is_string()) {
        Charge(d->string_value().size());
      }
      return d;
    }
    if (!n.empty() && (n[0] == kSectionMark || n[0] == kInvertedMark)) {
      const size_t end = n.find(n[0], 1);
      size_t own = 0;
      if (end != std::string_view::npos &&
          std::from_chars(n.data() + 1, n.data() + end, own).ec == std::errc()) {
        const Data* d = Resolve(n.substr(end + 1));
        const bool truthy = d && !d->is_false() && !d->is_empty_list();
        if (n[0] == kSectionMark && truthy) {
          const size_t times = d->is_list() ? d->list_value().size() : 1;
          if (own > 0 && times > max_charge_ / own) throw OutputTooLarge{};
          Charge(own * times);
        } else if (n[0] == kInvertedMark && !truthy) {
          Charge(own);
        }
        return d;
      }
    }
    return Resolve(n);
  }

  const Data* get_partial(const std::string&) const override { return nullptr; }

 private:
  // The Mustache spec's rule: the first segment is looked up from the
  // innermost section outwards, the remaining segments only inside what it
  // found. (kainjow's own context tries the whole path at every level.)
  const Data* Resolve(std::string_view key) const {
    if (key == ".") return stack_.back();
    size_t dot = key.find('.');
    const std::string first(key.substr(0, dot));
    const Data* found = nullptr;
    for (auto it = stack_.rbegin(); it != stack_.rend() && !found; ++it) {
      if (*it) found = (*it)->get(first);
    }
    while (found && dot != std::string_view::npos) {
      const size_t next = key.find('.', dot + 1);
      found = found->get(std::string(key.substr(
          dot + 1, next == std::string_view::npos ? std::string_view::npos : next - dot - 1)));
      dot = next;
    }
    return found;
  }

  void Step() const {
    if (++steps_ > kMaxSteps) throw TooManySteps{};
  }
  void Charge(size_t bytes) const {
    charged_ += bytes;
    if (charged_ > max_charge_) throw OutputTooLarge{};
  }
  void Record(std::string_view key) const {
    if (!unknown_ || unknown_->size() >= 20) return;  // enough to fix the template
    if (std::find(unknown_->begin(), unknown_->end(), key) == unknown_->end()) {
      unknown_->emplace_back(key);
    }
  }

  std::vector<const Data*> stack_;
  const size_t max_charge_;
  std::vector<std::string>* unknown_;
  mutable size_t steps_ = 0;
  mutable size_t charged_ = 0;
};

// kainjow writes through `stream << str`; this one refuses to grow past the cap.
class CappedSink {
 public:
  explicit CappedSink(size_t cap) : cap_(cap) {}
  CappedSink& operator<<(const std::string& s) {
    if (out_.size() + s.size() > cap_) throw OutputTooLarge{};
    out_ += s;
    return *this;
  }
  std::string Take() { return std::move(out_); }

 private:
  size_t cap_;
  std::string out_;
};

// kainjow's escape hook takes a const std::string&.
std::string HtmlEscape(const std::string& s) { return EscapeMarkup(s); }

// A marked source compiled once and kept per thread: a campaign renders the
// same few parts for every recipient, and compiling costs more than
// rendering. Per thread because kainjow's render is not const (it records
// errors in the object); bounded because template sources are unbounded.
class CompiledCache {
 public:
  kainjow::mustache::mustache& Get(const std::string& marked, bool escape_html) {
    auto& map = maps_[escape_html ? 1 : 0];
    if (auto it = map.find(marked); it != map.end()) return *it->second;
    if (map.size() >= kMaxEntries) map.clear();
    auto m = std::make_unique<kainjow::mustache::mustache>(marked);
    if (escape_html) {
      m->set_custom_escape(HtmlEscape);
    } else {
      m->set_custom_escape([](const std::string& s) { return s; });
    }
    return *map.emplace(marked, std::move(m)).first->second;
  }
  // Mark(source), remembered (sources are marked before they are compiled).
  const Result<std::string>& Mark(const std::string& source) {
    if (auto it = marks_.find(source); it != marks_.end()) return it->second;
    if (marks_.size() >= kMaxEntries) marks_.clear();
    return marks_.emplace(source, messaging::Mark(source)).first->second;
  }
  // A template whose render failed is compiled afresh next time.
  void Forget(const std::string& marked, bool escape_html) {
    maps_[escape_html ? 1 : 0].erase(marked);
  }

 private:
  static constexpr size_t kMaxEntries = 64;
  std::unordered_map<std::string, std::unique_ptr<kainjow::mustache::mustache>> maps_[2];
  std::unordered_map<std::string, Result<std::string>> marks_;
};

CompiledCache& ThreadCompiledCache() {
  thread_local CompiledCache cache;
  return cache;
}

// Errors: kInvalidArgument when the source does not compile, kValidation
// (message only) when a limit is hit.
Result<std::string> RenderMarked(const std::string& source, const Data& root, bool escape_html,
                                 size_t cap, std::vector<std::string>* unknown) {
  CompiledCache& cache = ThreadCompiledCache();
  kainjow::mustache::mustache& m = cache.Get(source, escape_html);
  if (!m.is_valid()) {
    Status error = Status::InvalidArgument(m.error_message());
    cache.Forget(source, escape_html);
    return error;
  }
  VarsContext ctx(&root, cap * kChargeFactor + source.size(), unknown);
  CappedSink sink(cap);
  Status limit;
  try {
    m.render(ctx, sink);
  } catch (const OutputTooLarge&) {
    limit = Status(StatusCode::kValidation, "renders to more than " + HumanBytes(cap));
  } catch (const TooManySteps&) {
    limit = Status(StatusCode::kValidation,
                   "needs too many steps to render (a section over a very long list?)");
  }
  if (!limit.ok() || !m.is_valid()) {
    Status error = limit.ok() ? Status::InvalidArgument(m.error_message()) : limit;
    cache.Forget(source, escape_html);
    return error;
  }
  return sink.Take();
}

// Renders the parts of one language, collecting errors and unknown variables.
class PartRenderer {
 public:
  PartRenderer(const Data& root, bool strict) : root_(root), strict_(strict) {}

  std::string Render(const std::string& field, const std::string& source, size_t cap, bool html) {
    const Result<std::string>& marked = ThreadCompiledCache().Mark(source);
    if (!marked.ok()) {
      Error(field, "is not a valid template: " + marked.status().message());
      return "";
    }
    std::vector<std::string> unknown;
    auto out = RenderMarked(*marked, root_, html, cap, &unknown);
    if (!out.ok()) {
      Error(field, out.status().message());
      return "";
    }
    for (auto& u : unknown) {
      if (strict_) {
        Error(field, "unknown variable " + u);
      } else {
        unknown_.push_back({field, std::move(u)});
      }
    }
    return std::move(out).value();
  }

  void Error(const std::string& field, std::string message) {
    failed_.insert(field);
    errors_.push_back({field, std::move(message)});
  }
  bool Failed(const std::string& field) const { return failed_.count(field) > 0; }
  std::vector<FieldError>& errors() { return errors_; }
  std::vector<FieldError>& unknown() { return unknown_; }

 private:
  const Data& root_;
  const bool strict_;
  std::vector<FieldError> errors_, unknown_;
  std::set<std::string> failed_;
};

bool IsHttpUrl(const std::string& s) {
  auto u = boost::urls::parse_absolute_uri(s);
  if (!u) return false;
  const std::string scheme = Lower(u->scheme());
  return (scheme == "http" || scheme == "https") && u->has_authority() && !u->host().empty();
}

// A deep link: any absolute URI (myapp://orders/7, https://...) or a path.
bool IsLink(const std::string& s) {
  if (std::any_of(s.begin(), s.end(), [](char c) { return IsSpace(c); })) return false;
  auto u = boost::urls::parse_uri_reference(s);
  return static_cast<bool>(u);
}

Result<RenderedMessage> RenderContent(const std::string& channel, const std::string& language,
                                      const TemplateContent& c, const Data& root,
                                      const RenderOptions& o) {
  PartRenderer r(root, o.strict);
  RenderedMessage m;
  m.channel = channel;
  m.language = language;
  auto render = [&](const PartSpec& spec, bool html = false) -> std::string {
    const std::string& source = Part(c, spec.name);
    if (source.empty()) return "";
    return r.Render(spec.name, source, spec.max_rendered, html);
  };
  auto require = [&](const char* field, const std::string& value) {
    if (!r.Failed(field) && IsBlank(value)) r.Error(field, "renders empty");
  };
  if (channel == "email") {
    m.subject = render(kEmailParts[0]);
    // The source is one line; a variable must not add header lines either.
    std::replace_if(
        m.subject.begin(), m.subject.end(), [](char ch) { return ch == '\r' || ch == '\n'; }, ' ');
    m.html = render(kEmailParts[1], /*html=*/true);
    m.text = render(kEmailParts[2]);
    if (c.text.empty() && !c.html.empty()) {
      m.text = HtmlToText(m.html);
      m.text_derived = true;
    }
    require("subject", m.subject);
    const char* content_field = c.html.empty() ? "text" : "html";
    if (!r.Failed(content_field) && IsBlank(m.html) && IsBlank(m.text)) {
      r.Error(content_field, "renders empty");
    }
  } else if (channel == "sms") {
    m.text = render(kSmsParts[0]);
    require("text", m.text);
    m.sms = CountSms(m.text);
    const int max = std::max(1, o.max_sms_segments);
    if (!r.Failed("text") && m.sms.segments > max) {
      r.Error("text", "needs " + std::to_string(m.sms.segments) + " " + m.sms.encoding +
                          " segments (" + std::to_string(m.sms.units) +
                          (m.sms.encoding == "GSM-7" ? " septets" : " UTF-16 code units") +
                          "); at most " + std::to_string(max) + " are allowed");
    }
  } else {  // push
    m.title = render(kPushParts[0]);
    m.body = render(kPushParts[1]);
    m.image = render(kPushParts[2]);
    m.link = render(kPushParts[3]);
    for (const auto& [key, source] : c.data) {
      const std::string field = "data." + key;
      m.data[key] = r.Render(field, source, kPushDataPart.max_rendered, false);
    }
    require("body", m.body);
    if (!m.image.empty() && !r.Failed("image") && !IsHttpUrl(m.image)) {
      r.Error("image", "renders to \"" + Truncate(m.image, 80) + "\", which is not an http(s) URL");
    }
    if (!m.link.empty() && !r.Failed("link") && !IsLink(m.link)) {
      r.Error("link", "renders to \"" + Truncate(m.link, 80) + "\", which is not a URI");
    }
    const size_t bytes = PushPayloadBytes(m);
    if (bytes > kMaxPushPayloadBytes) {
      r.Error("body", "makes a push payload of " + std::to_string(bytes) + " bytes; at most " +
                          std::to_string(kMaxPushPayloadBytes) +
                          " fit (title, body, image, link and data together)");
    }
  }
  if (!r.errors().empty()) return Status::Validation(std::move(r.errors()));
  m.unknown_variables = std::move(r.unknown());
  return m;
}

// ---------------------------------------------------------------------------
// Parsing

bool HasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
  });
}

// Checks one part's source; true when it is usable.
bool CheckSource(JsonReader& r, const std::string& field, const std::string& source,
                 bool single_line) {
  if (HasControlChars(source)) {
    r.AddError(field, "must not contain control characters");
    return false;
  }
  if (single_line && source.find_first_of("\r\n") != std::string::npos) {
    r.AddError(field, "must be a single line");
    return false;
  }
  auto marked = Mark(source);
  if (!marked.ok()) {
    r.AddError(field, "is not a valid template: " + marked.status().message());
    return false;
  }
  return true;
}

// A part without tags (every tag, a delimiter change too, starts with "{{")
// can be checked at once as it will be sent.
bool IsStatic(const std::string& source) { return source.find("{{") == std::string::npos; }

void ReadPart(JsonReader& lr, const PartSpec& spec, TemplateContent* c, bool* ok) {
  auto s = lr.String(spec.name, spec.required, spec.max_source, 1);
  if (!s) {
    if (spec.required || (lr.Has(spec.name) && !lr.IsNull(spec.name))) *ok = false;
    return;
  }
  const std::string field = lr.FieldName(spec.name);
  if (!CheckSource(lr, field, *s, spec.single_line)) {
    *ok = false;
    return;
  }
  Part(*c, spec.name) = std::move(*s);
}

bool IsDataKey(const std::string& k) {
  return !k.empty() && k.size() <= kMaxDataKey && std::all_of(k.begin(), k.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
  });
}

// Reads one language's object; its errors go to `outer` with full names.
bool ReadContent(const std::string& channel, const json::object& obj, const std::string& prefix,
                 JsonReader& outer, TemplateContent* c) {
  JsonReader lr(obj, prefix);
  bool ok = true;
  if (channel == "email") {
    for (const PartSpec& spec : kEmailParts) ReadPart(lr, spec, c, &ok);
    const bool has_html = lr.Has("html") && !lr.IsNull("html");
    const bool has_text = lr.Has("text") && !lr.IsNull("text");
    if (!has_html && !has_text) {
      lr.AddError(prefix + "html", "html or text is required");
      ok = false;
    }
  } else if (channel == "sms") {
    for (const PartSpec& spec : kSmsParts) ReadPart(lr, spec, c, &ok);
  } else {
    for (const PartSpec& spec : kPushParts) ReadPart(lr, spec, c, &ok);
    if (!c->image.empty() && IsStatic(c->image) && !IsHttpUrl(c->image)) {
      lr.AddError(prefix + "image", "must be an http(s) URL");
      ok = false;
    }
    if (!c->link.empty() && IsStatic(c->link) && !IsLink(c->link)) {
      lr.AddError(prefix + "link", "must be a URI (myapp://path, https://...)");
      ok = false;
    }
    if (const json::object* data = lr.Object("data", false)) {
      if (data->size() > kMaxDataEntries) {
        lr.AddError(prefix + "data",
                    "must have at most " + std::to_string(kMaxDataEntries) + " entries");
        ok = false;
      }
      for (const auto& kv : *data) {
        const std::string key(kv.key());
        const std::string field = prefix + "data." + key;
        if (!IsDataKey(key)) {
          lr.AddError(field, "key must be 1 to 64 letters, digits, '_', '-' or '.'");
          ok = false;
          continue;
        }
        if (IsReservedDataKey(key)) {
          lr.AddError(field,
                      "key is reserved (aps, image, link, from, notification, message_type, "
                      "collapse_key, google.*, gcm.*)");
          ok = false;
          continue;
        }
        if (!kv.value().is_string()) {
          lr.AddError(field, "must be a string");
          ok = false;
          continue;
        }
        const std::string source(kv.value().get_string());
        if (source.empty() || source.size() > kPushDataPart.max_source) {
          lr.AddError(field, source.empty()
                                 ? "must not be empty"
                                 : "must be at most " + std::to_string(kPushDataPart.max_source) +
                                       " characters");
          ok = false;
          continue;
        }
        if (!CheckSource(lr, field, source, false)) {
          ok = false;
          continue;
        }
        c->data[key] = source;
      }
    } else if (lr.Has("data") && !lr.IsNull("data")) {
      ok = false;
    }
  }
  Status st = lr.Finish();
  for (const auto& f : st.fields()) outer.AddError(f.field, f.message);
  return ok && st.ok();
}

// ---------------------------------------------------------------------------
// HTML → text

bool IsBlockTag(const std::string& name) {
  static const std::set<std::string> kBlocks = {
      "p",       "div",     "h1",     "h2",   "h3",    "h4",         "h5",
      "h6",      "tr",      "table",  "ul",   "ol",    "blockquote", "section",
      "article", "header",  "footer", "hr",   "pre",   "dl",         "dt",
      "dd",      "address", "nav",    "main", "aside", "center",     "form",
      "tbody",   "thead",   "tfoot",  "body", "html",  "figure",     "figcaption"};
  return kBlocks.count(name) > 0;
}

// Decodes the entity at h[*i] == '&' into *out and advances; an unknown or
// malformed one is taken as a literal '&'.
void DecodeEntity(std::string_view h, size_t* i, std::string* out) {
  // Entities are short; looking further would make a run of bare '&' quadratic.
  const size_t found = h.substr(*i + 1, 10).find(';');
  const size_t semi = found == std::string_view::npos ? found : *i + 1 + found;
  if (semi != std::string_view::npos) {
    const std::string_view name = h.substr(*i + 1, semi - *i - 1);
    static const std::pair<std::string_view, std::string_view> kNamed[] = {
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};
    for (const auto& [n, v] : kNamed) {
      if (name == n) {
        *out += v;
        *i = semi + 1;
        return;
      }
    }
    if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (!digits.empty() && r.ec == std::errc() && r.ptr == digits.data() + digits.size()) {
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
        AppendUtf8(cp == 0xA0 ? ' ' : cp, out);
        *i = semi + 1;
        return;
      }
    }
  }
  *out += '&';
  ++*i;
}

std::string DecodeEntities(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      DecodeEntity(s, &i, &out);
    } else {
      out += s[i++];
    }
  }
  return out;
}

// The '>' that ends a tag whose name ends at `from`, skipping quoted
// attribute values; npos when there is none.
size_t FindTagEnd(std::string_view h, size_t from) {
  char quote = 0;
  for (size_t i = from; i < h.size(); ++i) {
    if (quote) {
      if (h[i] == quote) quote = 0;
    } else if (h[i] == '"' || h[i] == '\'') {
      quote = h[i];
    } else if (h[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

std::string AttributeValue(std::string_view attrs, std::string_view name) {
  const std::string lower = Lower(attrs);
  size_t at = 0;
  while ((at = lower.find(name, at)) != std::string::npos) {
    const bool boundary =
        at == 0 || IsSpace(lower[at - 1]) || lower[at - 1] == '"' || lower[at - 1] == '\'';
    size_t i = at + name.size();
    while (i < attrs.size() && IsSpace(attrs[i])) ++i;
    if (!boundary || i >= attrs.size() || attrs[i] != '=') {
      at += name.size();
      continue;
    }
    ++i;
    while (i < attrs.size() && IsSpace(attrs[i])) ++i;
    if (i >= attrs.size()) return "";
    if (attrs[i] == '"' || attrs[i] == '\'') {
      const size_t end = attrs.find(attrs[i], i + 1);
      return DecodeEntities(attrs.substr(
          i + 1, end == std::string_view::npos ? std::string_view::npos : end - i - 1));
    }
    size_t end = i;
    while (end < attrs.size() && !IsSpace(attrs[end]) && attrs[end] != '/') ++end;
    return DecodeEntities(attrs.substr(i, end - i));
  }
  return "";
}

size_t FindNoCase(std::string_view h, std::string_view needle, size_t from) {
  for (size_t i = from; i + needle.size() <= h.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && std::tolower(static_cast<unsigned char>(h[i + k])) == needle[k])
      ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API

std::optional<MessageTemplate> ReadTemplate(JsonReader& r) {
  bool ok = true;
  MessageTemplate t;
  auto channel = r.Enum("channel", true, {"email", "sms", "push"});
  auto def = r.String("default_language", true, 35, 1);
  if (!channel || !def) ok = false;
  if (def && !IsLanguageTag(*def)) {
    r.AddError(r.FieldName("default_language"), "must be a language tag such as de, en or pt-BR");
    ok = false;
  }
  const json::object* langs = r.Object("languages", true);
  if (!langs) return std::nullopt;
  const std::string lang_field = r.FieldName("languages");
  if (langs->empty()) {
    r.AddError(lang_field, "must have at least one language");
    ok = false;
  }
  if (langs->size() > kMaxLanguages) {
    r.AddError(lang_field, "must have at most " + std::to_string(kMaxLanguages) + " languages");
    return std::nullopt;
  }
  std::set<std::string> seen;  // tags are case-insensitive
  for (const auto& kv : *langs) {
    const std::string tag(kv.key());
    const std::string field = lang_field + "." + tag;
    if (!IsLanguageTag(tag)) {
      r.AddError(field, "is not a language tag such as de, en or pt-BR");
      ok = false;
      continue;
    }
    if (!seen.insert(Lower(tag)).second) {
      r.AddError(field, "appears twice (language tags are case-insensitive)");
      ok = false;
      continue;
    }
    if (!kv.value().is_object()) {
      r.AddError(field, "must be an object");
      ok = false;
      continue;
    }
    if (!channel) continue;  // the parts depend on it
    TemplateContent c;
    if (!ReadContent(*channel, kv.value().get_object(), field + ".", r, &c)) {
      ok = false;
      continue;
    }
    t.languages.emplace(tag, std::move(c));
  }
  if (def && IsLanguageTag(*def) && !langs->contains(*def)) {
    r.AddError(r.FieldName("default_language"), "must be one of the template's languages");
    ok = false;
  }
  if (!ok) return std::nullopt;
  t.channel = *channel;
  t.default_language = *def;
  return t;
}

Result<MessageTemplate> ParseTemplate(const json::object& body, const std::string& prefix) {
  JsonReader r(body, prefix);
  auto t = ReadTemplate(r);
  RETURN_IF_ERROR(r.Finish());
  if (!t) return Status::Internal("template rejected without a reason");  // cannot happen
  return std::move(*t);
}

json::object TemplateToJson(const MessageTemplate& t) {
  json::object langs;
  for (const auto& [tag, c] : t.languages) {
    json::object o;
    for (const char* part : {"subject", "html", "text", "title", "body", "image", "link"}) {
      const std::string& v = Part(c, part);
      if (!v.empty()) o[part] = v;
    }
    if (!c.data.empty()) {
      json::object data;
      for (const auto& [k, v] : c.data) data[k] = v;
      o["data"] = std::move(data);
    }
    langs[tag] = std::move(o);
  }
  return json::object{{"channel", t.channel},
                      {"default_language", t.default_language},
                      {"languages", std::move(langs)}};
}

std::string ResolveLanguage(const MessageTemplate& t, const std::string& requested) {
  std::string want = Lower(TrimSpace(requested));
  std::replace(want.begin(), want.end(), '_', '-');
  auto find = [&](const std::string& lower) -> std::string {
    for (const auto& [tag, c] : t.languages) {
      if (Lower(tag) == lower) return tag;
    }
    return "";
  };
  if (!want.empty()) {
    if (std::string tag = find(want); !tag.empty()) return tag;
    const size_t dash = want.find('-');
    if (dash != std::string::npos) {
      if (std::string tag = find(want.substr(0, dash)); !tag.empty()) return tag;
    }
  }
  return t.languages.count(t.default_language) ? t.default_language : "";
}

Result<RenderedMessage> Render(const MessageTemplate& t, const std::string& language,
                               const json::object& vars, const RenderOptions& o) {
  if (!IsChannel(t.channel))
    return Status::Validation({{"channel", "must be one of: email, sms, push"}});
  const std::string lang = ResolveLanguage(t, language);
  if (lang.empty()) {
    return Status::Validation({{"language", "the template has neither " + Quoted(language) +
                                                " nor its default language"}});
  }
  const Data root = VarsToData(vars);
  return RenderContent(t.channel, lang, t.languages.at(lang), root, o);
}

SmsInfo CountSms(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) cps.push_back(NextCodePoint(text, &i));

  // GSM 03.38 default alphabet beyond ASCII (ASCII is handled below), as
  // Unicode code points, sorted.
  static constexpr char32_t kGsmBasic[] = {
      0xA1, 0xA3, 0xA4, 0xA5,  0xA7,  0xBF,  0xC4,  0xC5,  0xC6,  0xC7,  0xC9,  0xD1,  0xD6,
      0xD8, 0xDC, 0xDF, 0xE0,  0xE4,  0xE5,  0xE6,  0xE8,  0xE9,  0xEC,  0xF1,  0xF2,  0xF6,
      0xF8, 0xF9, 0xFC, 0x393, 0x394, 0x398, 0x39B, 0x39E, 0x3A0, 0x3A3, 0x3A6, 0x3A8, 0x3A9};
  // Septets per character: 1 basic, 2 extension table (ESC + char), 0 not GSM.
  auto septets = [](char32_t c) -> int {
    if (c < 0x80) {
      if (c == '\n' || c == '\r') return 1;
      if (c == '\f') return 2;
      if (c < 0x20 || c == 0x7F || c == '`') return 0;
      switch (c) {
        case '^':
        case '{':
        case '}':
        case '\\':
        case '[':
        case '~':
        case ']':
        case '|':
          return 2;
        default:
          return 1;
      }
    }
    if (c == 0x20AC) return 2;  // €
    return std::binary_search(std::begin(kGsmBasic), std::end(kGsmBasic), c) ? 1 : 0;
  };

  SmsInfo info;
  info.characters = static_cast<int>(cps.size());
  const bool gsm = std::all_of(cps.begin(), cps.end(), [&](char32_t c) { return septets(c) > 0; });
  info.encoding = gsm ? "GSM-7" : "UCS-2";
  const int single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
  int units = 0, segments = 1, used = 0;
  for (char32_t c : cps) {
    const int w = gsm ? septets(c) : (c > 0xFFFF ? 2 : 1);
    units += w;
    // Pack greedily: an escape pair or a surrogate pair stays in one part.
    if (used + w > multi) {
      ++segments;
      used = 0;
    }
    used += w;
  }
  info.units = units;
  info.segments = units == 0 ? 0 : units <= single ? 1 : segments;
  return info;
}

json::object PushPayload(const RenderedMessage& m) {
  json::object payload{
      {"aps", json::object{{"alert", json::object{{"title", m.title}, {"body", m.body}}}}}};
  if (!m.image.empty()) payload["image"] = m.image;
  if (!m.link.empty()) payload["link"] = m.link;
  for (const auto& [k, v] : m.data) {
    if (!payload.contains(k)) payload[k] = v;  // reserved keys never override
  }
  return payload;
}

size_t PushPayloadBytes(const RenderedMessage& m) { return json::serialize(PushPayload(m)).size(); }

std::string HtmlToText(std::string_view h) {
  std::string out;
  struct Anchor {
    std::string href;
    size_t start;
  };
  std::vector<Anchor> anchors;
  auto space = [&] {
    if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
  };
  auto trim_end = [&] {
    while (!out.empty() && out.back() == ' ') out.pop_back();
  };
  // A hard break (<br>): always a new line, but never more than one empty line.
  auto line_break = [&] {
    trim_end();
    const size_t n = out.size();
    if (n == 0 || (n >= 2 && out[n - 1] == '\n' && out[n - 2] == '\n')) return;
    out += '\n';
  };
  // Block elements start on a line of their own.
  auto new_line = [&] {
    trim_end();
    if (!out.empty() && out.back() != '\n') out += '\n';
  };
  // Paragraphs and headings are set apart by an empty line.
  auto blank_line = [&] {
    new_line();
    const size_t n = out.size();
    if (n >= 1 && !(n >= 2 && out[n - 2] == '\n')) out += '\n';
  };
  size_t i = 0;
  const size_t n = h.size();
  while (i < n) {
    const char c = h[i];
    if (c == '&') {
      DecodeEntity(h, &i, &out);
      continue;
    }
    if (IsSpace(c)) {
      space();
      ++i;
      continue;
    }
    if (c != '<') {
      out += c;
      ++i;
      continue;
    }
    if (h.compare(i, 4, "<!--") == 0) {
      const size_t e = h.find("-->", i + 4);
      i = e == std::string_view::npos ? n : e + 3;
      continue;
    }
    size_t j = i + 1;
    const bool closing = j < n && h[j] == '/';
    if (closing) ++j;
    const size_t name_start = j;
    while (j < n && std::isalnum(static_cast<unsigned char>(h[j]))) ++j;
    if (j == name_start) {
      if (!closing && j < n && (h[j] == '!' || h[j] == '?')) {  // <!DOCTYPE>, <?xml?>
        const size_t e = h.find('>', j);
        i = e == std::string_view::npos ? n : e + 1;
      } else {  // a '<' that starts no tag is text
        out += '<';
        ++i;
      }
      continue;
    }
    const std::string name = Lower(h.substr(name_start, j - name_start));
    const size_t end = FindTagEnd(h, j);
    const std::string_view attrs = h.substr(j, (end == std::string_view::npos ? n : end) - j);
    i = end == std::string_view::npos ? n : end + 1;
    if (!closing && (name == "script" || name == "style" || name == "head" || name == "title")) {
      const size_t e = FindNoCase(h, "</" + name, i);
      const size_t gt = e == std::string_view::npos ? e : h.find('>', e);
      i = gt == std::string_view::npos ? n : gt + 1;
      continue;
    }
    const bool heading = name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6';
    if (name == "br") {
      line_break();
    } else if (name == "li") {
      new_line();
      if (!closing) out += "- ";
    } else if (name == "p" || heading) {
      blank_line();
    } else if (IsBlockTag(name)) {
      new_line();
    } else if ((name == "td" || name == "th") && closing) {
      space();
    } else if (name == "a" && !closing) {
      if (anchors.size() < 64) anchors.push_back({AttributeValue(attrs, "href"), out.size()});
    } else if (name == "a" && !anchors.empty()) {
      Anchor a = std::move(anchors.back());
      anchors.pop_back();
      const std::string text(
          TrimSpace(std::string_view(out).substr(std::min(a.start, out.size()))));
      const bool useful = !a.href.empty() && a.href[0] != '#' && a.href != text &&
                          a.href != "mailto:" + text && a.href != "tel:" + text;
      if (useful) {
        if (!text.empty()) space();
        out += text.empty() ? a.href : "(" + a.href + ")";
      }
    }
  }
  while (!out.empty() && IsSpace(out.back())) out.pop_back();
  size_t lead = 0;
  while (lead < out.size() && IsSpace(out[lead])) ++lead;
  return out.substr(lead);
}

Result<TemplateCheck> CheckTemplate(const MessageTemplate& t, const json::object& sample_vars,
                                    int max_sms_segments) {
  if (!IsChannel(t.channel))
    return Status::Validation({{"channel", "must be one of: email, sms, push"}});
  if (t.languages.empty())
    return Status::Validation({{"languages", "must have at least one language"}});
  const Data root = VarsToData(sample_vars);
  RenderOptions o;
  o.strict = false;
  o.max_sms_segments = max_sms_segments;
  TemplateCheck check;
  std::vector<FieldError> errors;
  for (const auto& [tag, content] : t.languages) {
    auto r = RenderContent(t.channel, tag, content, root, o);
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kValidation) return r.status();
      for (const auto& f : r.status().fields()) {
        errors.push_back({"languages." + tag + "." + f.field, f.message});
      }
      continue;
    }
    LanguageCheck lc;
    lc.language = tag;
    if (t.channel == "sms") lc.sms = r->sms;
    if (t.channel == "push") lc.push_payload_bytes = PushPayloadBytes(*r);
    lc.unknown_variables = std::move(r->unknown_variables);
    check.languages.push_back(std::move(lc));
  }
  if (!errors.empty()) return Status::Validation(std::move(errors));
  return check;
}

namespace internal {

Result<std::string> MarkTags(const std::string& source) { return Mark(source); }

Result<std::string> RenderSource(const std::string& source, const json::object& vars,
                                 std::vector<std::string>* unknown) {
  const Data root = VarsToData(vars);
  return RenderMarked(source, root, false, 1024 * kKiB, unknown);
}

}  // namespace internal

}  // namespace kontor::messaging
