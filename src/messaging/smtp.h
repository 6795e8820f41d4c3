// Email over SMTP through libcurl: STARTTLS (required, opportunistic or off)
// or implicit TLS (smtps://), AUTH, and the connection kept open between
// messages. Each message is MIME: multipart/alternative of text and HTML,
// then attachments, with Message-ID, Date and, for marketing mail,
// List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
//
// Email content (the `content` of an email message):
//   {"subject": "...", "html": "...", "text": "...",
//    "attachments": [{"filename", "content_type", "data" (base64)}],
//    "list_unsubscribe": {"url": "https://...", "mailto": "unsub@..."},
//    "reply_to": "..."}
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "messaging/provider.h"

namespace kontor::messaging {

struct SmtpOptions {
  std::string url;       // smtp://host:port or smtps://host:port
  std::string username;  // empty: no AUTH
  std::string password;
  std::string from;                   // "Name <address>" or "address"
  std::string starttls = "required";  // required | opportunistic | off (smtp:// only)
  std::string ca_file;                // PEM; empty = the system store
  int timeout_ms = 30000;             // per message
};

class SmtpProvider : public Provider {
 public:
  static Result<std::unique_ptr<SmtpProvider>> Create(const SmtpOptions& options);
  ~SmtpProvider() override;

  std::string_view name() const override { return "smtp"; }
  std::string_view channel() const override { return "email"; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override;

 private:
  struct Impl;
  explicit SmtpProvider(std::unique_ptr<Impl> impl);
  Outcome SendOne(const Outgoing& m);
  std::unique_ptr<Impl> impl_;
};

// "Name <a@b>" → "a@b"; a bare address stays as it is.
std::string AddressOf(const std::string& mailbox);
// A header value as RFC 2047 encoded words when it is not plain ASCII.
std::string EncodeHeaderText(const std::string& text);

}  // namespace kontor::messaging
