#include "messaging/sms.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/crypto.h"

namespace kontor::messaging {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string Encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int a = Hex(s[i + 1]), b = Hex(s[i + 2]);
      if (a < 0 || b < 0) return std::nullopt;
      out += static_cast<char>(a * 16 + b);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A JSON string's content for `s`, without the quotes.
std::string JsonEscaped(const std::string& s) {
  std::string quoted = json::serialize(json::string(s));
  return quoted.substr(1, quoted.size() - 2);
}

// Twilio's error code from its JSON error body; 0 when there is none.
int64_t TwilioCode(const json::object& body) {
  const json::value* c = body.if_contains("code");
  if (c && c->is_int64()) return c->get_int64();
  if (c && c->is_string()) {
    try {
      return std::stoll(std::string(c->get_string()));
    } catch (...) {
    }
  }
  return 0;
}

}  // namespace

std::string FormEncode(const FormParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += Encode(k) + '=' + Encode(v);
  }
  return out;
}

Result<FormParams> ParseForm(std::string_view body) {
  FormParams out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view part = body.substr(start, end - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      auto k = Decode(part.substr(0, eq));
      auto v = Decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
      if (!k || !v) return Status::InvalidArgument("the form body is not validly percent-encoded");
      out.emplace_back(std::move(*k), std::move(*v));
    }
    start = end + 1;
  }
  return out;
}

std::string TwilioSignature(std::string_view auth_token, std::string_view url, FormParams params) {
  std::stable_sort(params.begin(), params.end());
  std::string data(url);
  for (const auto& [k, v] : params) data += k + v;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return Base64Encode(std::string_view(reinterpret_cast<char*>(md), len));
}

Result<std::unique_ptr<TwilioProvider>> TwilioProvider::Create(const TwilioOptions& options) {
  if (options.account_sid.empty())
    return Status::Validation(
        {{"messaging.twilio.account_sid", "needed with the twilio provider"}});
  if (options.auth_token.empty())
    return Status::Validation({{"messaging.twilio.auth_token", "needed with the twilio provider"}});
  if (options.from.empty() && options.messaging_service_sid.empty())
    return Status::Validation(
        {{"messaging.twilio.from", "give a sender or messaging.twilio.messaging_service_sid"}});
  std::unique_ptr<TwilioProvider> p(new TwilioProvider());
  p->options_ = options;
  ASSIGN_OR_RETURN(p->client_, HttpBatchClient::Create(options.http));
  std::string base = options.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  p->url_ = base + "/2010-04-01/Accounts/" + Encode(options.account_sid) + "/Messages.json";
  p->authorization_ =
      "Authorization: Basic " + Base64Encode(options.account_sid + ":" + options.auth_token);
  return p;
}

std::string TwilioForm(const Outgoing& m, const TwilioOptions& options) {
  FormParams f{{"To", m.recipient}};
  if (!options.messaging_service_sid.empty())
    f.emplace_back("MessagingServiceSid", options.messaging_service_sid);
  else
    f.emplace_back("From", options.from);
  f.emplace_back("Body", Str(m.content, "text"));
  if (!options.status_callback.empty()) f.emplace_back("StatusCallback", options.status_callback);
  return FormEncode(f);
}

Outcome TwilioOutcome(const HttpAnswer& a, int64_t now_ms) {
  using Kind = Outcome::Kind;
  if (a.status == 0) return Outcome::Error(Kind::kRetry, "transport", a.error);
  auto body = ParseJsonObject(a.body);
  if (a.status >= 200 && a.status < 300) {
    std::string sid = body.ok() ? Str(*body, "sid") : "";
    if (sid.empty())
      return Outcome::Error(Kind::kRetry, "no_sid", "Twilio accepted without a message sid");
    return Outcome::Sent(sid);
  }
  const int64_t code = body.ok() ? TwilioCode(*body) : 0;
  std::string message = body.ok() ? Str(*body, "message") : a.body.substr(0, 200);
  const std::string error_code = code ? std::to_string(code) : "HTTP_" + std::to_string(a.status);
  if (code == 20003 || a.status == 401 || a.status == 403)
    return Outcome::Error(Kind::kPaused, error_code, message);
  if (code == 20429 || a.status == 429 || a.status >= 500) {
    Outcome o = Outcome::Error(Kind::kRetry, error_code, message);
    o.retry_after_ms = RetryAfterMs(a, now_ms);
    return o;
  }
  // 21211 and 21614 (not a valid mobile number), 21610 (unsubscribed) and
  // every other refusal of this one message.
  return Outcome::Error(Kind::kFailed, error_code, message);
}

std::vector<Outcome> TwilioProvider::Send(const std::vector<Outgoing>& batch) {
  std::vector<HttpCall> calls(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    calls[i].url = url_;
    calls[i].headers = {authorization_, "Content-Type: application/x-www-form-urlencoded",
                        "Accept: application/json"};
    calls[i].body = TwilioForm(batch[i], options_);
  }
  std::vector<HttpAnswer> answers = client_->Perform(calls);
  const int64_t now = NowMs();
  std::vector<Outcome> out;
  out.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    out.push_back(TwilioOutcome(answers[i], now));
    if (out.back().error_code == "21610" && options_.opted_out)
      options_.opted_out(batch[i].recipient);
  }
  return out;
}

Result<std::unique_ptr<SmsHttpProvider>> SmsHttpProvider::Create(const SmsHttpOptions& options) {
  if (!options.url.starts_with("https://") && !options.url.starts_with("http://"))
    return Status::Validation({{"messaging.sms_http.url", "must be an http(s) URL"}});
  Outgoing sample;
  sample.id = 1;
  sample.recipient = "+4930123456";
  sample.content = {{"text", "a \"quoted\"\ntext"}};
  if (!ParseJsonObject(SmsHttpBody(options.body_template, sample, options.from)).ok())
    return Status::Validation(
        {{"messaging.sms_http.body", "must be a JSON object with the placeholders in strings"}});
  for (const std::string& h : options.headers) {
    if (h.find(':') == std::string::npos)
      return Status::Validation({{"messaging.sms_http.headers", "not \"Name: value\": " + h}});
  }
  std::unique_ptr<SmsHttpProvider> p(new SmsHttpProvider());
  p->options_ = options;
  ASSIGN_OR_RETURN(p->client_, HttpBatchClient::Create(options.http));
  return p;
}

std::string SmsHttpBody(const std::string& body_template, const Outgoing& m,
                        const std::string& from) {
  const std::pair<const char*, std::string> vars[] = {
      {"{{to}}", JsonEscaped(m.recipient)},
      {"{{from}}", JsonEscaped(from)},
      {"{{text}}", JsonEscaped(Str(m.content, "text"))},
      {"{{id}}", std::to_string(m.id)}};
  std::string out;
  size_t i = 0;
  while (i < body_template.size()) {
    bool replaced = false;
    if (body_template.compare(i, 2, "{{") == 0) {
      for (const auto& [name, value] : vars) {
        const size_t n = std::char_traits<char>::length(name);
        if (body_template.compare(i, n, name) == 0) {
          out += value;
          i += n;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += body_template[i++];
  }
  return out;
}

Outcome SmsHttpOutcome(const HttpAnswer& a, const std::string& id_path, int64_t now_ms) {
  using Kind = Outcome::Kind;
  if (a.status == 0) return Outcome::Error(Kind::kRetry, "transport", a.error);
  auto body = ParseJsonObject(a.body);
  if (a.status >= 200 && a.status < 300) {
    std::string id;
    if (body.ok()) {
      const json::value* v = nullptr;
      const json::object* o = &*body;
      size_t start = 0;
      while (o) {
        const size_t dot = id_path.find('.', start);
        v = o->if_contains(id_path.substr(start, dot - start));
        if (dot == std::string::npos || !v) break;
        o = v->is_object() ? &v->get_object() : nullptr;
        start = dot + 1;
      }
      if (v && v->is_string()) id = v->get_string();
      if (v && v->is_int64()) id = std::to_string(v->get_int64());
    }
    return Outcome::Sent(id);
  }
  std::string code = body.ok() ? Str(*body, "error") : "";
  if (code.empty()) code = "HTTP_" + std::to_string(a.status);
  const std::string message = body.ok() ? Str(*body, "message") : a.body.substr(0, 200);
  if (a.status == 401 || a.status == 403) return Outcome::Error(Kind::kPaused, code, message);
  if (a.status == 429 || a.status >= 500) {
    Outcome o = Outcome::Error(Kind::kRetry, code, message);
    o.retry_after_ms = RetryAfterMs(a, now_ms);
    return o;
  }
  return Outcome::Error(Kind::kFailed, code, message);
}

std::vector<Outcome> SmsHttpProvider::Send(const std::vector<Outgoing>& batch) {
  std::vector<HttpCall> calls(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    calls[i].url = options_.url;
    calls[i].headers = options_.headers;
    calls[i].headers.push_back("Content-Type: application/json");
    calls[i].body = SmsHttpBody(options_.body_template, batch[i], options_.from);
  }
  std::vector<HttpAnswer> answers = client_->Perform(calls);
  const int64_t now = NowMs();
  std::vector<Outcome> out;
  out.reserve(batch.size());
  for (const HttpAnswer& a : answers) out.push_back(SmsHttpOutcome(a, options_.id_path, now));
  return out;
}

}  // namespace kontor::messaging
