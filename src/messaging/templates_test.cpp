#include "messaging/templates.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kontor::messaging {
namespace {

json::object Obj(std::string_view text) {
  auto r = ParseJsonObject(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " in " << text;
  return r.ok() ? std::move(r).value() : json::object();
}

// "field: message" for each error, to compare in one expectation.
std::vector<std::string> Errors(const Status& s) {
  std::vector<std::string> out;
  for (const auto& f : s.fields()) out.push_back(f.field + ": " + f.message);
  return out;
}

template <typename T>
std::vector<std::string> Errors(const Result<T>& r) {
  EXPECT_FALSE(r.ok());
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kValidation) << r.status().ToString();
  }
  return Errors(r.status());
}

MessageTemplate Parsed(std::string_view text) {
  auto t = ParseTemplate(Obj(text), "");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : MessageTemplate{};
}

MessageTemplate Email(const std::string& subject, const std::string& html,
                      const std::string& text) {
  MessageTemplate t{"email", "de", {}};
  t.languages["de"].subject = subject;
  t.languages["de"].html = html;
  t.languages["de"].text = text;
  return t;
}

MessageTemplate Sms(const std::string& text) {
  MessageTemplate t{"sms", "de", {}};
  t.languages["de"].text = text;
  return t;
}

MessageTemplate Push(const std::string& title, const std::string& body) {
  MessageTemplate t{"push", "de", {}};
  t.languages["de"].title = title;
  t.languages["de"].body = body;
  return t;
}

RenderOptions Lenient() {
  RenderOptions o;
  o.strict = false;
  return o;
}

// The SMS text of a template without tags: what CountSms saw after rendering.
SmsInfo SmsOf(const std::string& text) {
  auto m = Render(Sms(text), "de", {}, {});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? m->sms : SmsInfo{};
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// ---------------------------------------------------------------------------
// Parsing

TEST(MessageTemplatesParse, EmailRoundTrip) {
  const char* kText = R"({"channel":"email","default_language":"de","languages":{
      "de":{"subject":"Hallo {{customer.first_name}}","html":"<p>Hi</p>"},
      "pt-BR":{"subject":"Olá","text":"Oi {{customer.first_name}}"}}})";
  MessageTemplate t = Parsed(kText);
  EXPECT_EQ(t.channel, "email");
  EXPECT_EQ(t.default_language, "de");
  ASSERT_EQ(t.languages.size(), 2u);
  EXPECT_EQ(t.languages["de"].subject, "Hallo {{customer.first_name}}");
  EXPECT_EQ(t.languages["de"].text, "");
  EXPECT_EQ(t.languages["pt-BR"].text, "Oi {{customer.first_name}}");
  EXPECT_EQ(json::value(TemplateToJson(t)), json::parse(kText));
  auto again = ParseTemplate(TemplateToJson(t), "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(json::value(TemplateToJson(*again)), json::parse(kText));
}

TEST(MessageTemplatesParse, PushAndSmsRoundTrip) {
  const char* kPush = R"({"channel":"push","default_language":"en","languages":{"en":{
      "title":"Order {{order.id}}","body":"Shipped","image":"https://cdn.test/a.png",
      "link":"shop://orders/{{order.id}}","data":{"order_id":"{{order.id}}","kind":"shipping"}}}})";
  MessageTemplate t = Parsed(kPush);
  EXPECT_EQ(t.languages["en"].data.at("order_id"), "{{order.id}}");
  EXPECT_EQ(json::value(TemplateToJson(t)), json::parse(kPush));
  const char* kSms =
      R"({"channel":"sms","default_language":"en","languages":{"en":{"text":"Code {{code}}"}}})";
  EXPECT_EQ(json::value(TemplateToJson(Parsed(kSms))), json::parse(kSms));
}

TEST(MessageTemplatesParse, ErrorsNameTheFields) {
  auto r = ParseTemplate(Obj(R"({"channel":"fax","default_language":"english","languages":{},
                               "name":"x"})"),
                         "");
  EXPECT_EQ(Errors(r), (std::vector<std::string>{
                           "channel: must be one of: email, sms, push",
                           "default_language: must be a language tag such as de, en or pt-BR",
                           "languages: must have at least one language",
                           "name: unknown field",
                       }));

  r = ParseTemplate(Obj(R"({"channel":"email","default_language":"fr","languages":{
      "de":{"subject":5,"html":"<p>{{#a}}</p>","extra":true},
      "EN":{"subject":"x","text":"y"},
      "en":{"text":"y"},
      "es":[]}})"),
                    "template.");
  EXPECT_EQ(Errors(r),
            (std::vector<std::string>{
                "template.languages.de.subject: must be a string",
                "template.languages.de.html: is not a valid template: section \"a\" is never "
                "closed at line 1, column 4",
                "template.languages.de.extra: unknown field",
                "template.languages.EN: is not a language tag such as de, en or pt-BR",
                "template.languages.en.subject: is required (string)",
                "template.languages.es: must be an object",
                "template.default_language: must be one of the template's languages",
            }));
}

TEST(MessageTemplatesParse, LanguageTagsAreCaseInsensitive) {
  EXPECT_EQ(Errors(ParseTemplate(Obj(R"({"channel":"sms","default_language":"de-AT","languages":{
      "de-AT":{"text":"a"},"de-at":{"text":"b"}}})"),
                                 "")),
            (std::vector<std::string>{
                "languages.de-at: appears twice (language tags are case-insensitive)"}));
}

TEST(MessageTemplatesParse, RequiredPartsPerChannel) {
  EXPECT_EQ(
      Errors(ParseTemplate(
          Obj(R"({"channel":"email","default_language":"de","languages":{"de":{"subject":"s"}}})"),
          "")),
      (std::vector<std::string>{"languages.de.html: html or text is required"}));
  EXPECT_EQ(
      Errors(ParseTemplate(
          Obj(R"({"channel":"sms","default_language":"de","languages":{"de":{"subject":"s"}}})"),
          "")),
      (std::vector<std::string>{"languages.de.text: is required (string)",
                                "languages.de.subject: unknown field"}));
  EXPECT_EQ(
      Errors(ParseTemplate(
          Obj(R"({"channel":"push","default_language":"de","languages":{"de":{"body":""}}})"), "")),
      (std::vector<std::string>{"languages.de.title: is required (string)",
                                "languages.de.body: must not be empty"}));
}

TEST(MessageTemplatesParse, PartChecks) {
  const std::string big(100 * 1024 + 1, 'x');
  json::object body = Obj(R"({"channel":"email","default_language":"de","languages":{"de":{
      "subject":"a\nb","text":"x"}}})");
  body["languages"].as_object()["de"].as_object()["html"] = big;
  EXPECT_EQ(Errors(ParseTemplate(body, "")),
            (std::vector<std::string>{"languages.de.subject: must be a single line",
                                      "languages.de.html: must be at most 102400 characters"}));

  EXPECT_EQ(Errors(ParseTemplate(Obj(R"({"channel":"sms","default_language":"de","languages":{"de":{
      "text":"Hi {{> footer}}"}}})"),
                                 "")),
            (std::vector<std::string>{"languages.de.text: is not a valid template: partials "
                                      "(> footer) are not supported at line 1, column 4"}));
  EXPECT_EQ(Errors(ParseTemplate(Obj(R"({"channel":"sms","default_language":"de","languages":{"de":{
      "text":"line\nHi {{name\u0001}}"}}})"),
                                 "")),
            (std::vector<std::string>{"languages.de.text: must not contain control characters"}));
  EXPECT_EQ(Errors(ParseTemplate(Obj(R"({"channel":"sms","default_language":"de","languages":{"de":{
      "text":"ok\n  {{#a}}{{/b}}"}}})"),
                                 "")),
            (std::vector<std::string>{
                "languages.de.text: is not a valid template: section \"a\" "
                "(line 2, column 3) closed by a tag for \"b\" at line 2, column 9"}));

  EXPECT_EQ(
      Errors(ParseTemplate(Obj(R"({"channel":"push","default_language":"de","languages":{"de":{
      "title":"t","body":"b","image":"ftp://x/a.png","link":"not a link",
      "data":{"aps":"x","ok":1,"bad key":"x","fine":"{{x}}"}}}})"),
                           "")),
      (std::vector<std::string>{
          "languages.de.image: must be an http(s) URL",
          "languages.de.link: must be a URI (myapp://path, https://...)",
          "languages.de.data.aps: key is reserved (aps, image, link, from, notification, "
          "message_type, collapse_key, google.*, gcm.*)",
          "languages.de.data.ok: must be a string",
          "languages.de.data.bad key: key must be 1 to 64 letters, digits, '_', '-' or '.'",
      }));
  // With tags, image and link are checked after rendering.
  Parsed(R"({"channel":"push","default_language":"de","languages":{"de":{
      "title":"t","body":"b","image":"{{img}}","link":"{{url}}"}}})");
}

TEST(MessageTemplatesParse, SectionsNestAtMostSixteenDeep) {
  std::string ok, deep;
  for (int i = 0; i < 16; ++i) ok += "{{#a}}";
  for (int i = 0; i < 16; ++i) ok += "{{/a}}";
  EXPECT_TRUE(internal::MarkTags(ok).ok());
  for (int i = 0; i < 17; ++i) deep += "{{#a}}";
  for (int i = 0; i < 17; ++i) deep += "{{/a}}";
  auto r = internal::MarkTags(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "sections nested deeper than 16 at line 1, column 97");
}

// ---------------------------------------------------------------------------
// Languages

TEST(MessageTemplatesRender, LanguageFallbackChain) {
  MessageTemplate t{"sms", "en", {}};
  for (const char* tag : {"en", "de", "de-AT", "pt-BR"}) t.languages[tag].text = tag;
  auto used = [&](const std::string& requested) {
    auto m = Render(t, requested, {});
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return std::string();
    EXPECT_EQ(m->text, m->language);
    return m->language;
  };
  EXPECT_EQ(used("de-AT"), "de-AT");
  EXPECT_EQ(used("de-at"), "de-AT");
  EXPECT_EQ(used("de_AT"), "de-AT");
  EXPECT_EQ(used("de-CH"), "de");
  EXPECT_EQ(used("de"), "de");
  EXPECT_EQ(used("DE"), "de");
  EXPECT_EQ(used("pt"), "en");  // a primary subtag does not find its regions
  EXPECT_EQ(used("pt-br"), "pt-BR");
  EXPECT_EQ(used("fr-FR"), "en");
  EXPECT_EQ(used(""), "en");

  MessageTemplate broken{"sms", "fr", {}};
  broken.languages["de"].text = "x";
  EXPECT_EQ(Errors(Render(broken, "it", {})),
            (std::vector<std::string>{
                "language: the template has neither \"it\" nor its default language"}));
}

// ---------------------------------------------------------------------------
// Escaping

TEST(MessageTemplatesRender, HtmlEscapingOnlyInHtml) {
  const json::object vars = Obj(R"({"name":"<b>Tom & 'Jerry'</b> \"x\""})");
  auto m = Render(Email("Hi {{name}}", "<p>{{name}}|{{{name}}}|{{& name}}</p>", "Hi {{name}}"),
                  "de", vars);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(
      m->html,
      "<p>&lt;b&gt;Tom &amp; &#39;Jerry&#39;&lt;/b&gt; &quot;x&quot;|<b>Tom & 'Jerry'</b> \"x\"|"
      "<b>Tom & 'Jerry'</b> \"x\"</p>");
  EXPECT_EQ(m->subject, "Hi <b>Tom & 'Jerry'</b> \"x\"");
  EXPECT_EQ(m->text, "Hi <b>Tom & 'Jerry'</b> \"x\"");
  EXPECT_FALSE(m->text_derived);

  auto sms = Render(Sms("Hi {{name}}"), "de", vars);
  ASSERT_TRUE(sms.ok()) << sms.status().ToString();
  EXPECT_EQ(sms->text, "Hi <b>Tom & 'Jerry'</b> \"x\"");

  MessageTemplate p = Push("{{name}}", "{{name}}!");
  p.languages["de"].data["who"] = "{{name}}";
  auto push = Render(p, "de", vars);
  ASSERT_TRUE(push.ok()) << push.status().ToString();
  EXPECT_EQ(push->title, "<b>Tom & 'Jerry'</b> \"x\"");
  EXPECT_EQ(push->body, "<b>Tom & 'Jerry'</b> \"x\"!");
  EXPECT_EQ(push->data.at("who"), "<b>Tom & 'Jerry'</b> \"x\"");
}

TEST(MessageTemplatesRender, SubjectStaysOneLine) {
  auto m = Render(Email("Hi {{name}}", "", "x"), "de", Obj(R"({"name":"a\r\nBcc: b"})"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->subject, "Hi a  Bcc: b");
}

// ---------------------------------------------------------------------------
// Unknown variables

TEST(MessageTemplatesRender, StrictUnknownVariableNamesPartAndVariable) {
  const json::object vars =
      Obj(R"({"customer":{"first_name":"Ana","attributes":{"tier":"gold","z":null}}})");
  auto m = Render(Email("Hi {{customer.first_name}}", "<p>{{customer.frist_name}}</p>", "x"), "de",
                  vars);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kValidation);
  EXPECT_EQ(Errors(m.status()),
            (std::vector<std::string>{"html: unknown variable customer.frist_name"}));
  EXPECT_EQ(m.status().message(), "html: unknown variable customer.frist_name");

  // Nested attributes resolve; a missing one is named with its whole path,
  // once per part however often it is used.
  m = Render(
      Email("{{customer.attributes.tier}}", "{{customer.attributes.x}}{{{customer.attributes.x}}}",
            "{{nope}} {{customer.attributes.tier.deeper}}"),
      "de", vars);
  EXPECT_EQ(Errors(m),
            (std::vector<std::string>{"html: unknown variable customer.attributes.x",
                                      "text: unknown variable nope",
                                      "text: unknown variable customer.attributes.tier.deeper"}));

  // A key that is present with null is known and prints nothing.
  auto ok = Render(Sms("[{{customer.attributes.z}}]"), "de", vars);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->text, "[]");
}

TEST(MessageTemplatesRender, LenientUnknownVariablesRenderEmptyAndAreListed) {
  const json::object vars = Obj(R"({"customer":{"first_name":"Ana"}})");
  auto m = Render(Email("Hi {{customer.frist_name}}", "<p>{{x}}{{customer.first_name}}</p>", ""),
                  "de", vars, Lenient());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->subject, "Hi ");
  EXPECT_EQ(m->html, "<p>Ana</p>");
  EXPECT_EQ(m->text, "Ana");
  EXPECT_TRUE(m->text_derived);
  EXPECT_EQ(Errors(Status::Validation(m->unknown_variables)),
            (std::vector<std::string>{"subject: customer.frist_name", "html: x"}));
}

TEST(MessageTemplatesRender, SectionsOverMissingValuesAreFalse) {
  const json::object vars =
      Obj(R"({"customer":{"first_name":"Ana","vip":true,"tags":[],"none":null},
      "items":[{"name":"A","qty":1},{"name":"B","qty":2}]})");
  // Sections over missing, false, null and empty values render nothing and
  // are no errors, whatever they contain.
  auto m = Render(Sms("{{#customer.missing}}{{nope}}{{/customer.missing}}"
                      "{{#customer.none}}{{nope}}{{/customer.none}}"
                      "{{#customer.tags}}{{nope}}{{/customer.tags}}"
                      "{{#customer.vip}}VIP {{customer.first_name}}{{/customer.vip}}"
                      "{{#items}} {{name}}x{{qty}}{{/items}}"),
                  "de", vars);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, "VIP Ana Ax1 Bx2");

  // Inverted sections render for missing values, and what they render is checked.
  m = Render(
      Sms("{{^customer.missing}}none{{/customer.missing}}{{^customer.vip}}no{{/customer.vip}}"
          "{{^customer.tags}} no tags{{/customer.tags}}"),
      "de", vars);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, "none no tags");
  EXPECT_EQ(Errors(Render(Sms("{{^customer.missing}}{{customer.nickname}}{{/customer.missing}}"),
                          "de", vars)),
            (std::vector<std::string>{"text: unknown variable customer.nickname"}));
  // Inside a list section names resolve in the item first, then outwards.
  EXPECT_EQ(Errors(Render(Sms("{{#items}}{{name}} {{customer.first_name}} {{nme}}{{/items}}"), "de",
                          vars)),
            (std::vector<std::string>{"text: unknown variable nme"}));
  m = Render(Sms("{{#items}}{{name}}:{{customer.first_name}};{{/items}}"), "de", vars);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, "A:Ana;B:Ana;");
  // Dotted names as the spec says: the first segment is found in the
  // innermost context that has it, the rest only inside what it found.
  m = Render(Sms("{{#list}}[{{customer.name}}]{{/list}}"), "de",
             Obj(R"({"customer":{},"list":[{"customer":{"name":"inner"}}]})"), Lenient());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, "[inner]");
  // The item has "customer", so customer.name is not looked for further out.
  m = Render(Sms("{{#list}}[{{customer.name}}]{{/list}}"), "de",
             Obj(R"({"customer":{"name":"outer"},"list":[{"customer":{}}]})"), Lenient());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, "[]");
  EXPECT_EQ(m->unknown_variables.size(), 1u);
}

TEST(MessageTemplatesRender, ImplicitIteratorAndCustomDelimiters) {
  auto m =
      Render(Sms("{{#tags}}<{{.}}>{{/tags}} {{=<% %>=}}<%name%> {{literal}} <%={{ }}=%>{{name}}"),
             "de", Obj(R"({"tags":["a","b"],"name":"N"})"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, "<a><b> N {{literal}} N");
}

// ---------------------------------------------------------------------------
// Values

TEST(MessageTemplatesRender, NumbersAndBooleans) {
  const json::object vars = Obj(R"({"a":3,"b":2.5,"c":3.0,"d":0.0001,"e":-0.0,"f":19.9,"g":1e21,
      "h":18446744073709551615,"i":-42,"j":1.25e-7,"k":100.10,"t":true,"f2":false})");
  auto m =
      Render(Sms("{{a}}|{{b}}|{{c}}|{{d}}|{{e}}|{{f}}|{{g}}|{{h}}|{{i}}|{{j}}|{{k}}|{{t}}|{{f2}}|"
                 "{{#t}}yes{{/t}}{{^f2}}no{{/f2}}"),
             "de", vars);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, "3|2.5|3|0.0001|0|19.9|1e+21|18446744073709551615|-42|1.25e-07|100.1|||yesno");
}

// ---------------------------------------------------------------------------
// SMS

TEST(MessageTemplatesSms, Gsm7Boundaries) {
  SmsInfo s = CountSms(std::string(160, 'a'));
  EXPECT_EQ(s.encoding, "GSM-7");
  EXPECT_EQ(s.segments, 1);
  EXPECT_EQ(s.units, 160);
  EXPECT_EQ(s.characters, 160);
  EXPECT_EQ(CountSms(std::string(161, 'a')).segments, 2);
  EXPECT_EQ(CountSms(std::string(306, 'a')).segments, 2);
  EXPECT_EQ(CountSms(std::string(307, 'a')).segments, 3);
  EXPECT_EQ(CountSms("").segments, 0);

  // Extension characters take two septets.
  s = CountSms(std::string(158, 'a') + "€");
  EXPECT_EQ(s.encoding, "GSM-7");
  EXPECT_EQ(s.units, 160);
  EXPECT_EQ(s.characters, 159);
  EXPECT_EQ(s.segments, 1);
  s = CountSms(std::string(159, 'a') + "[");
  EXPECT_EQ(s.units, 161);
  EXPECT_EQ(s.segments, 2);
  s = CountSms("^{}\\[~]|\f€");
  EXPECT_EQ(s.encoding, "GSM-7");
  EXPECT_EQ(s.units, 20);
  // An escape pair is never split: 152 + 2 does not fit 153, so 306 septets
  // need three parts here, not two.
  s = CountSms(std::string(152, 'a') + Repeat("€", 77));
  EXPECT_EQ(s.units, 306);
  EXPECT_EQ(s.segments, 3);

  // The basic set beyond ASCII stays GSM-7; ç, ` and tab do not.
  EXPECT_EQ(
      CountSms("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r").encoding,
      "GSM-7");
  EXPECT_EQ(CountSms("ç").encoding, "UCS-2");
  EXPECT_EQ(CountSms("`").encoding, "UCS-2");
  EXPECT_EQ(CountSms("a\tb").encoding, "UCS-2");
}

TEST(MessageTemplatesSms, Ucs2Boundaries) {
  SmsInfo s = CountSms(Repeat("я", 70));
  EXPECT_EQ(s.encoding, "UCS-2");
  EXPECT_EQ(s.segments, 1);
  EXPECT_EQ(s.units, 70);
  EXPECT_EQ(CountSms(Repeat("я", 71)).segments, 2);
  EXPECT_EQ(CountSms(Repeat("я", 134)).segments, 2);
  EXPECT_EQ(CountSms(Repeat("я", 135)).segments, 3);
  // One non-GSM character makes the whole message UCS-2.
  s = CountSms(std::string(69, 'a') + "я");
  EXPECT_EQ(s.encoding, "UCS-2");
  EXPECT_EQ(s.segments, 1);
  EXPECT_EQ(CountSms(std::string(70, 'a') + "я").segments, 2);

  // An emoji is one character but a surrogate pair: two code units.
  s = CountSms(Repeat("😀", 35));
  EXPECT_EQ(s.characters, 35);
  EXPECT_EQ(s.units, 70);
  EXPECT_EQ(s.segments, 1);
  s = CountSms(Repeat("😀", 35) + "a");
  EXPECT_EQ(s.units, 71);
  EXPECT_EQ(s.segments, 2);
  // Pairs are not split between parts: 66 + 2 > 67.
  s = CountSms(Repeat("я", 66) + Repeat("😀", 34));
  EXPECT_EQ(s.units, 134);
  EXPECT_EQ(s.segments, 3);

  // Invalid UTF-8 counts as U+FFFD.
  s = CountSms(std::string("a\xff\xc3", 3));
  EXPECT_EQ(s.encoding, "UCS-2");
  EXPECT_EQ(s.characters, 3);
}

TEST(MessageTemplatesSms, RenderReportsSegmentsAndEnforcesTheMaximum) {
  SmsInfo s = SmsOf("Hallo Jörg, dein Code: 1234 €");
  EXPECT_EQ(s.encoding, "GSM-7");
  EXPECT_EQ(s.segments, 1);
  EXPECT_EQ(s.characters, 29);
  EXPECT_EQ(s.units, 30);

  MessageTemplate t = Sms("{{long}}");
  const json::object vars{{"long", std::string(10 * 153 + 1, 'a')}};
  EXPECT_EQ(Errors(Render(t, "de", vars)),
            (std::vector<std::string>{
                "text: needs 11 GSM-7 segments (1531 septets); at most 10 are allowed"}));
  RenderOptions o;
  o.max_sms_segments = 11;
  auto m = Render(t, "de", vars, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->sms.segments, 11);

  EXPECT_EQ(Errors(Render(Sms("{{#no}}x{{/no}}  "), "de", {})),
            (std::vector<std::string>{"text: renders empty"}));
}

// ---------------------------------------------------------------------------
// Push

TEST(MessageTemplatesPush, PayloadSize) {
  MessageTemplate t = Push("Hi {{name}}", "{{body}}");
  t.languages["de"].data["order"] = "{{order}}";
  t.languages["de"].link = "shop://orders/{{order}}";
  auto m = Render(t, "de", Obj(R"({"name":"Ana","body":"Shipped","order":7})"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->link, "shop://orders/7");
  EXPECT_EQ(m->data.at("order"), "7");
  const std::string expected =
      R"({"aps":{"alert":{"title":"Hi Ana","body":"Shipped"}},"link":"shop://orders/7","order":"7"})";
  EXPECT_EQ(json::value(PushPayload(*m)), json::parse(expected));
  EXPECT_EQ(PushPayloadBytes(*m), expected.size());

  // Fill the payload to exactly 4096 bytes, then one more.
  const size_t room = kMaxPushPayloadBytes - expected.size() + std::string("Shipped").size();
  m = Render(t, "de",
             json::object{{"name", "Ana"}, {"body", std::string(room, 'x')}, {"order", 7}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(PushPayloadBytes(*m), kMaxPushPayloadBytes);
  EXPECT_EQ(Errors(Render(
                t, "de",
                json::object{{"name", "Ana"}, {"body", std::string(room + 1, 'x')}, {"order", 7}})),
            (std::vector<std::string>{
                "body: makes a push payload of 4097 bytes; at most 4096 fit (title, "
                "body, image, link and data together)"}));
}

TEST(MessageTemplatesPush, ImageAndLinkAreCheckedAfterRendering) {
  MessageTemplate t = Push("t", "b");
  t.languages["de"].image = "{{img}}";
  t.languages["de"].link = "{{url}}";
  auto m = Render(t, "de", Obj(R"({"img":"https://cdn.test/a.png","url":"/orders/7"})"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->image, "https://cdn.test/a.png");
  EXPECT_EQ(Errors(Render(t, "de", Obj(R"j({"img":"javascript:alert(1)","url":"a b"})j"))),
            (std::vector<std::string>{
                "image: renders to \"javascript:alert(1)\", which is not an http(s) URL",
                "link: renders to \"a b\", which is not a URI"}));
  // Optional parts may render empty.
  m = Render(t, "de", Obj(R"({"img":"","url":null})"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(PushPayloadBytes(*m),
            std::string(R"({"aps":{"alert":{"title":"t","body":"b"}}})").size());
}

// ---------------------------------------------------------------------------
// Email text from html

TEST(MessageTemplatesEmail, TextDerivedFromHtml) {
  const char* kHtml =
      "<!DOCTYPE html><html><head><title>T</title><style>p { color: red }</style></head>\n"
      "<body><!-- hidden --><h1>Hello &amp; welcome,   {{name}}</h1>\n"
      "<p>Line one<br/>Line&nbsp;two &lt;3 &#8364; &#x1F600;</p>\n"
      "<ul><li>A</li><li>B</li></ul><table><tr><td>x</td><td>y</td></tr></table>"
      "<script>alert('x')</script>"
      "<p><a href=\"{{{unsubscribe_url}}}\">Abmelden</a> <a "
      "href='https://x.test'>https://x.test</a> "
      "a < b</p></body></html>";
  auto m = Render(Email("s", kHtml, ""), "de",
                  Obj(R"({"name":"Jo & Co","unsubscribe_url":"https://x.test/u?a=1&b=2"})"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->text_derived);
  EXPECT_EQ(m->text,
            "Hello & welcome, Jo & Co\n\n"
            "Line one\nLine two <3 € 😀\n\n"
            "- A\n- B\n"
            "x y\n\n"
            "Abmelden (https://x.test/u?a=1&b=2) https://x.test a < b");
}

TEST(MessageTemplatesEmail, RequiredPartsMustNotRenderEmpty) {
  EXPECT_EQ(Errors(Render(Email("{{s}}", "{{x}}", ""), "de", {}, Lenient())),
            (std::vector<std::string>{"subject: renders empty", "html: renders empty"}));
}

// ---------------------------------------------------------------------------
// Limits

TEST(MessageTemplatesRender, OutputAndWorkAreBounded) {
  // A list long enough that the body repeated exceeds 1 MB of html: refused
  // before kainjow has built the output in memory.
  json::array list(20000, json::value(1));
  const json::object vars{{"l", list}};
  auto m = Render(Email("s", "{{#l}}" + std::string(100, 'x') + "{{/l}}", ""), "de", vars);
  EXPECT_EQ(Errors(m), (std::vector<std::string>{"html: renders to more than 1 MB"}));
  // Nested sections over one list: 20000^2 iterations are refused by steps.
  m = Render(Email("s", "{{#l}}{{#l}}{{/l}}{{/l}}x", ""), "de", vars);
  EXPECT_EQ(Errors(m),
            (std::vector<std::string>{"html: needs too many steps to render (a section over a "
                                      "very long list?)"}));
  // Big variable values count too.
  m = Render(Sms("{{#l}}{{v}}{{/l}}"), "de",
             json::object{{"l", list}, {"v", std::string(100, 'v')}});
  EXPECT_EQ(Errors(m), (std::vector<std::string>{"text: renders to more than 64 KB"}));
}

// ---------------------------------------------------------------------------
// Check on save

TEST(MessageTemplatesCheck, ReportsPerLanguageAndRefusesWhatCannotBeSent) {
  MessageTemplate sms{"sms", "de", {}};
  sms.languages["de"].text = "Hallo {{customer.first_name}}, Code {{code}}";
  sms.languages["ru"].text = "Привет {{customer.first_name}}";
  auto check = CheckTemplate(sms, Obj(R"({"customer":{"first_name":"Ana"}})"));
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  ASSERT_EQ(check->languages.size(), 2u);
  EXPECT_EQ(check->languages[0].language, "de");
  EXPECT_EQ(check->languages[0].sms.encoding, "GSM-7");
  EXPECT_EQ(check->languages[0].sms.segments, 1);
  EXPECT_EQ(Errors(Status::Validation(check->languages[0].unknown_variables)),
            (std::vector<std::string>{"text: code"}));
  EXPECT_EQ(check->languages[1].sms.encoding, "UCS-2");
  EXPECT_EQ(check->languages[1].sms.characters, 10);

  sms.languages["ru"].text = Repeat("я", 300);
  EXPECT_EQ(Errors(CheckTemplate(sms, {}, 4)),
            (std::vector<std::string>{"languages.ru.text: needs 5 UCS-2 segments (300 UTF-16 code "
                                      "units); at most 4 are allowed"}));

  MessageTemplate push{"push", "en", {}};
  push.languages["en"].title = "{{title}}";
  push.languages["en"].body = "ok";
  push.languages["fr"].title = "t";
  push.languages["fr"].body = std::string(4000, 'b');
  push.languages["fr"].data["x"] = std::string(100, 'd');
  auto pc = CheckTemplate(push, Obj(R"({"title":"Hello"})"));
  EXPECT_EQ(Errors(pc),
            (std::vector<std::string>{
                "languages.fr.body: makes a push payload of 4148 bytes; at most 4096 fit (title, "
                "body, image, link and data together)"}));
  push.languages.erase("fr");
  pc = CheckTemplate(push, Obj(R"({"title":"Hello"})"));
  ASSERT_TRUE(pc.ok()) << pc.status().ToString();
  EXPECT_EQ(pc->languages[0].push_payload_bytes,
            std::string(R"({"aps":{"alert":{"title":"Hello","body":"ok"}}})").size());
}

// ---------------------------------------------------------------------------
// Tag marking (the mechanism behind strict mode)

TEST(MessageTemplatesMarking, MarkedAndPlainSourcesRenderTheSame) {
  const json::object vars = Obj(R"({"a":{"b":"B"},"l":[1,2],"s":"S","t":true})");
  for (const std::string src : {
           "{{a.b}} {{{s}}} {{& s }} {{! comment }} {{#l}}{{.}},{{/l}}",
           "  {{#t}}\n  standalone\n  {{/t}}\n{{^nope}}x{{/nope}}",
           "{{=| |=}}|s| {{s}} |={{ }}=|{{s}}",
           "{{{=<% %>=}}}<%s%><%&s%>",
           "{{#a}}{{b}}{{#l}}[{{b}}]{{/l}}{{/a}}",
       }) {
    auto marked = internal::MarkTags(src);
    ASSERT_TRUE(marked.ok()) << src << ": " << marked.status().ToString();
    std::vector<std::string> unknown;
    auto a = internal::RenderSource(*marked, vars, &unknown);
    auto b = internal::RenderSource(src, vars, nullptr);
    ASSERT_TRUE(a.ok() && b.ok()) << src;
    EXPECT_EQ(*a, *b) << src;
    EXPECT_TRUE(unknown.empty()) << src << ": " << unknown[0];
  }
}

TEST(MessageTemplatesMarking, CompileErrorsSayWhere) {
  auto error = [](const std::string& src) {
    auto r = internal::MarkTags(src);
    EXPECT_FALSE(r.ok()) << src;
    return r.ok() ? "" : r.status().message();
  };
  EXPECT_EQ(error("Hi\n  {{name"), "unclosed tag at line 2, column 3");
  EXPECT_EQ(error("{{{name}}"), "unclosed tag at line 1, column 1");
  EXPECT_EQ(error("ü{{/a}}"), "closing tag for \"a\" without an open section at line 1, column 2");
  EXPECT_EQ(error("{{=<%>=}}"), "invalid set-delimiter tag at line 1, column 1");
  EXPECT_EQ(error("{{ }}"), "empty tag at line 1, column 1");
  EXPECT_EQ(error("{{#}}{{/}}"), "empty tag at line 1, column 1");
  EXPECT_EQ(error("x\x1f"),
            "control character (U+001D to U+001F are not allowed) at line 1, column 2");
}

}  // namespace
}  // namespace kontor::messaging
