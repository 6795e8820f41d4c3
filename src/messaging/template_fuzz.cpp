// libFuzzer target: the input is a Mustache source, optionally followed by a
// NUL byte and a JSON object of variables. Aborts when
// - kainjow rejects a source that tag marking accepted, or the marked source
//   does not compile or renders differently from the source itself (the
//   marking must change nothing but the names the context sees);
// - Render, ParseTemplate or CheckTemplate fail other than with kValidation
//   naming fields;
// - strict and lenient rendering disagree: strict must fail exactly when
//   lenient found unknown variables, and otherwise produce the same message;
// - a template that parsed does not survive TemplateToJson → ParseTemplate;
// - SMS counts are inconsistent.
#include <cstdint>
#include <cstdlib>
#include <kainjow/mustache.hpp>
#include <string>
#include <string_view>

#include "messaging/templates.h"

namespace {

namespace json = kontor::json;
namespace msg = kontor::messaging;
using kontor::StatusCode;

template <typename T>
void ExpectValidation(const kontor::Result<T>& r) {
  if (r.ok()) return;
  if (r.status().code() != StatusCode::kValidation || r.status().fields().empty()) std::abort();
}

bool SameMessage(const msg::RenderedMessage& a, const msg::RenderedMessage& b) {
  return a.language == b.language && a.subject == b.subject && a.html == b.html &&
         a.text == b.text && a.title == b.title && a.body == b.body && a.image == b.image &&
         a.link == b.link && a.data == b.data && a.sms.segments == b.sms.segments &&
         a.sms.units == b.sms.units;
}

void CheckSms(const msg::SmsInfo& s) {
  const bool gsm = s.encoding == "GSM-7";
  if (!gsm && s.encoding != "UCS-2") std::abort();
  if ((s.segments == 0) != (s.units == 0) || s.units < s.characters) std::abort();
  const int single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
  if (s.segments == 1 && s.units > single) std::abort();
  if (s.segments > 1 && (s.units <= single || s.units > s.segments * multi ||
                         s.units <= (s.segments - 1) * (multi - 1))) {
    std::abort();
  }
}

void CheckMarking(const std::string& source, const json::object& vars) {
  auto marked = msg::internal::MarkTags(source);
  kainjow::mustache::mustache plain(source);
  if (!marked.ok()) return;
  if (!plain.is_valid()) std::abort();
  kainjow::mustache::mustache compiled(*marked);
  if (!compiled.is_valid()) std::abort();
  std::vector<std::string> unknown;
  auto a = msg::internal::RenderSource(*marked, vars, &unknown);
  if (!a.ok()) {
    if (a.status().code() != StatusCode::kValidation) std::abort();  // only limits
    return;  // the unmarked source has no output limit to stop it early
  }
  auto b = msg::internal::RenderSource(source, vars, nullptr);
  if (!b.ok() || *a != *b) std::abort();
}

void CheckRender(const msg::MessageTemplate& t, const json::object& vars) {
  msg::RenderOptions strict, lenient;
  lenient.strict = false;
  auto s = msg::Render(t, "de-AT", vars, strict);
  auto l = msg::Render(t, "de-AT", vars, lenient);
  ExpectValidation(s);
  ExpectValidation(l);
  if (!l.ok()) {
    if (s.ok()) std::abort();
    return;
  }
  if (l->unknown_variables.empty() != s.ok()) std::abort();
  if (!s.ok()) {
    if (s.status().fields().size() < l->unknown_variables.size()) std::abort();
    return;
  }
  if (!SameMessage(*s, *l)) std::abort();
  if (t.channel == "sms") CheckSms(l->sms);
  if (t.channel == "push" && msg::PushPayloadBytes(*l) > msg::kMaxPushPayloadBytes) std::abort();
}

void CheckParse(const std::string& channel, const std::string& source, const json::object& vars) {
  json::object content;
  if (channel == "email") {
    content = {{"subject", source}, {"html", source}};
  } else if (channel == "sms") {
    content = {{"text", source}};
  } else {
    content = {{"title", source}, {"body", source}, {"data", json::object{{"k", source}}}};
  }
  const json::object body{{"channel", channel},
                          {"default_language", "de"},
                          {"languages", json::object{{"de", content}, {"de-AT", content}}}};
  auto t = msg::ParseTemplate(body, "");
  ExpectValidation(t);
  if (!t.ok()) return;
  auto again = msg::ParseTemplate(msg::TemplateToJson(*t), "");
  if (!again.ok() ||
      json::value(msg::TemplateToJson(*again)) != json::value(msg::TemplateToJson(*t))) {
    std::abort();
  }
  ExpectValidation(msg::CheckTemplate(*t, vars));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 << 10) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string source(in.substr(0, nul));
  json::object vars;
  if (nul != std::string_view::npos) {
    auto parsed = kontor::ParseJsonObject(in.substr(nul + 1));
    if (parsed.ok()) vars = std::move(parsed).value();
  }

  CheckMarking(source, vars);
  msg::CountSms(source);
  CheckSms(msg::CountSms(source));
  msg::HtmlToText(source);

  msg::MessageTemplate email{"email", "de", {}};
  email.languages["de"].subject = source;
  email.languages["de"].html = source;  // text derived from the html
  CheckRender(email, vars);
  email.languages["de"].text = source;
  email.languages["de"].html.clear();
  CheckRender(email, vars);

  msg::MessageTemplate sms{"sms", "de", {}};
  sms.languages["de"].text = source;
  CheckRender(sms, vars);

  msg::MessageTemplate push{"push", "de", {}};
  push.languages["de-AT"].title = source;
  push.languages["de-AT"].body = source;
  push.languages["de-AT"].data["k"] = source;
  if (!source.empty() && source[0] == '/') push.languages["de-AT"].link = source;
  CheckRender(push, vars);

  for (const char* channel : {"email", "sms", "push"}) CheckParse(channel, source, vars);
  return 0;
}
