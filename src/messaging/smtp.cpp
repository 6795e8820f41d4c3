#include "messaging/smtp.h"

#include <curl/curl.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <optional>

#include "core/crypto.h"
#include "messaging/http_batch.h"

namespace kontor::messaging {
namespace {

bool IsAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || c == '\r' || c == '\n') return false;
  }
  return true;
}

// Header values never carry line breaks: a value with one could add headers.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return s;
}

std::string Rfc5322Date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};
using Mime = std::unique_ptr<curl_mime, MimeDeleter>;

Slist Append(Slist list, const std::string& line) {
  curl_slist* l = curl_slist_append(list.release(), line.c_str());
  return Slist(l);
}

}  // namespace

std::string AddressOf(const std::string& mailbox) {
  const size_t open = mailbox.rfind('<');
  const size_t close = mailbox.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open)
    return mailbox.substr(open + 1, close - open - 1);
  return mailbox;
}

std::string EncodeHeaderText(const std::string& text) {
  if (IsAscii(text)) return text;
  // Encoded words are at most 75 characters: cut the UTF-8 into pieces of
  // at most 45 bytes (60 base64 characters), never inside a character.
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = std::min(text.size(), i + 45);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(text.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

struct SmtpProvider::Impl {
  SmtpOptions options;
  CURL* curl = nullptr;
  std::string from_address;
  std::string domain;
  ~Impl() {
    if (curl) curl_easy_cleanup(curl);
  }
};

SmtpProvider::SmtpProvider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmtpProvider::~SmtpProvider() = default;

Result<std::unique_ptr<SmtpProvider>> SmtpProvider::Create(const SmtpOptions& options) {
  if (!options.url.starts_with("smtp://") && !options.url.starts_with("smtps://"))
    return Status::Validation({{"messaging.smtp.url", "must start with smtp:// or smtps://"}});
  if (options.from.empty() || AddressOf(options.from).find('@') == std::string::npos)
    return Status::Validation(
        {{"messaging.smtp.from", "must be an address like news@example.com"}});
  if (options.starttls != "required" && options.starttls != "opportunistic" &&
      options.starttls != "off")
    return Status::Validation(
        {{"messaging.smtp.starttls", "must be required, opportunistic or off"}});
  CurlGlobalInit();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->curl = curl_easy_init();
  if (!impl->curl) return Status::Internal("curl_easy_init failed");
  impl->from_address = AddressOf(options.from);
  impl->domain = impl->from_address.substr(impl->from_address.find('@') + 1);
  return std::unique_ptr<SmtpProvider>(new SmtpProvider(std::move(impl)));
}

std::vector<Outcome> SmtpProvider::Send(const std::vector<Outgoing>& batch) {
  std::vector<Outcome> out;
  out.reserve(batch.size());
  for (const Outgoing& m : batch) out.push_back(SendOne(m));
  return out;
}

Outcome SmtpProvider::SendOne(const Outgoing& m) {
  const SmtpOptions& o = impl_->options;
  CURL* h = impl_->curl;
  auto text = [&](const char* key) -> std::string {
    const json::value* v = m.content.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  const std::string subject = text("subject"), html = text("html"), plain = text("text");
  if (m.recipient.empty() || m.recipient.find('@') == std::string::npos)
    return Outcome::Error(Outcome::Kind::kFailed, "invalid_recipient", "not an email address");

  // Message-ID stays the same on a retry, so a receiver that got the first
  // attempt after all can tell the second one is the same message.
  const std::string message_id = "<kontor." + std::to_string(m.id) + "@" + impl_->domain + ">";
  Slist headers;
  headers = Append(std::move(headers), "From: " + OneLine(o.from));
  headers = Append(std::move(headers), "To: <" + OneLine(m.recipient) + ">");
  headers = Append(std::move(headers), "Subject: " + EncodeHeaderText(OneLine(subject)));
  headers = Append(std::move(headers), "Date: " + Rfc5322Date(std::time(nullptr)));
  headers = Append(std::move(headers), "Message-ID: " + message_id);
  if (auto reply = text("reply_to"); !reply.empty())
    headers = Append(std::move(headers), "Reply-To: " + OneLine(reply));
  if (const json::value* lu = m.content.if_contains("list_unsubscribe"); lu && lu->is_object()) {
    std::string value;
    const json::object& u = lu->get_object();
    if (const json::value* url = u.if_contains("url"); url && url->is_string())
      value = "<" + OneLine(std::string(url->get_string())) + ">";
    if (const json::value* mt = u.if_contains("mailto"); mt && mt->is_string())
      value += (value.empty() ? "<mailto:" : ", <mailto:") +
               OneLine(std::string(mt->get_string())) + ">";
    if (!value.empty()) {
      headers = Append(std::move(headers), "List-Unsubscribe: " + value);
      // RFC 8058: a one-click POST to the https URL unsubscribes.
      if (u.if_contains("url"))
        headers = Append(std::move(headers), "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    }
  }

  Mime root(curl_mime_init(h));
  Mime alt_owned(curl_mime_init(h));
  for (const auto& [body, type] : {std::pair{&plain, "text/plain; charset=utf-8"},
                                   std::pair{&html, "text/html; charset=utf-8"}}) {
    if (body->empty()) continue;
    curl_mimepart* part = curl_mime_addpart(alt_owned.get());
    curl_mime_data(part, body->data(), body->size());
    curl_mime_type(part, type);
    curl_mime_encoder(part, "quoted-printable");
  }
  curl_mimepart* alt = curl_mime_addpart(root.get());
  curl_mime_subparts(alt, alt_owned.release());  // root owns it now
  curl_mime_type(alt, "multipart/alternative");
  curl_mime_headers(alt, curl_slist_append(nullptr, "Content-Disposition: inline"), 1);
  if (const json::value* atts = m.content.if_contains("attachments"); atts && atts->is_array()) {
    for (const json::value& a : atts->get_array()) {
      if (!a.is_object()) continue;
      const json::object& ao = a.get_object();
      auto field = [&](const char* key) {
        const json::value* v = ao.if_contains(key);
        return v && v->is_string() ? std::string(v->get_string()) : std::string();
      };
      std::optional<std::string> data = Base64Decode(field("data"));
      if (!data)
        return Outcome::Error(Outcome::Kind::kFailed, "invalid_attachment",
                              "attachment " + field("filename") + " is not base64");
      curl_mimepart* part = curl_mime_addpart(root.get());
      curl_mime_data(part, data->data(), data->size());
      curl_mime_filename(part, OneLine(field("filename")).c_str());
      const std::string type = field("content_type");
      curl_mime_type(part, type.empty() ? "application/octet-stream" : OneLine(type).c_str());
      curl_mime_encoder(part, "base64");
    }
  }
  Slist rcpt = Append(Slist(), "<" + m.recipient + ">");

  curl_easy_reset(h);  // keeps the open connection and the TLS session
  curl_easy_setopt(h, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(o.timeout_ms, 10000)));
  if (o.url.starts_with("smtp://")) {
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     o.starttls == "required"        ? CURLUSESSL_ALL
                     : o.starttls == "opportunistic" ? CURLUSESSL_TRY
                                                     : CURLUSESSL_NONE);
  }
  if (!o.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o.ca_file.c_str());
  if (!o.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, o.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, o.password.c_str());
  }
  const std::string mail_from = "<" + impl_->from_address + ">";
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_MIMEPOST, root.get());
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);

  const CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_OK) return Outcome::Sent(message_id);
  const std::string why = error[0] ? error : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_LOGIN_DENIED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      // Our configuration or credentials: every further message would fail too.
      return Outcome::Error(Outcome::Kind::kPaused, "smtp_" + std::to_string(code ? code : rc),
                            why);
    default:
      break;
  }
  if (code >= 500 && code < 600)
    return Outcome::Error(Outcome::Kind::kFailed, std::to_string(code), why);
  return Outcome::Error(Outcome::Kind::kRetry,
                        code ? std::to_string(code) : "curl_" + std::to_string(rc), why);
}

}  // namespace kontor::messaging
