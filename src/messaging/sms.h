// SMS providers.
//
// "twilio": Twilio's Messages API, POST {url}/2010-04-01/Accounts/{sid}/
// Messages.json, HTTP Basic (account SID, auth token), form fields To, From
// or MessagingServiceSid, Body and StatusCallback. Answers as Twilio
// documents them: 201 sent (the sid is the provider message id); 21211,
// 21614 and the other 4xx codes of one number or text → failed; 21610 (the
// recipient answered STOP at the carrier) → failed and the number's SMS
// consent withdrawn; 20429, 429 and 5xx → retried after Retry-After; 20003 and
// 401/403 → paused (credentials).
//
// "sms_http": a generic JSON gateway: POST to a configured URL with
// configured headers and a JSON body template whose string values may hold
// {{to}}, {{from}}, {{text}} and {{id}} (the message id); the provider's
// message id is read at a dotted path of the answer. 2xx sent, 401/403
// paused, 429/5xx retried, other 4xx failed.
//
// Delivery receipts and incoming messages (STOP) arrive at the routes in
// sms_api.cpp, signed as Twilio signs webhooks (TwilioSignature).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "messaging/http_batch.h"
#include "messaging/provider.h"

namespace kontor::messaging {

using FormParams = std::vector<std::pair<std::string, std::string>>;

struct TwilioOptions {
  std::string url = "https://api.twilio.com";
  std::string account_sid, auth_token;
  std::string from;                   // E.164 or an alphanumeric sender id
  std::string messaging_service_sid;  // instead of from when set
  std::string status_callback;        // full URL of /v1/sms/status; empty: none
  HttpBatchOptions http;
  // The recipient opted out at the carrier (21610); may be empty.
  std::function<void(const std::string& phone)> opted_out;
};

class TwilioProvider : public Provider {
 public:
  static Result<std::unique_ptr<TwilioProvider>> Create(const TwilioOptions& options);
  std::string_view name() const override { return "twilio"; }
  std::string_view channel() const override { return "sms"; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override;

 private:
  TwilioProvider() = default;
  TwilioOptions options_;
  std::unique_ptr<HttpBatchClient> client_;
  std::string url_, authorization_;
};

// The form body of one message (exposed for tests).
std::string TwilioForm(const Outgoing& m, const TwilioOptions& options);
// What a Twilio answer means (exposed for tests).
Outcome TwilioOutcome(const HttpAnswer& a, int64_t now_ms);

// X-Twilio-Signature: base64(HMAC-SHA1(auth token, url + each parameter's
// name and value, sorted by name)).
std::string TwilioSignature(std::string_view auth_token, std::string_view url, FormParams params);

// application/x-www-form-urlencoded, both ways.
std::string FormEncode(const FormParams& params);
Result<FormParams> ParseForm(std::string_view body);

struct SmsHttpOptions {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // JSON; {{to}} {{from}} {{text}} {{id}} inside its strings are replaced,
  // JSON-escaped.
  std::string body_template =
      R"({"to":"{{to}}","from":"{{from}}","body":"{{text}}","reference":"{{id}}"})";
  std::string id_path = "id";
  std::string from;
  HttpBatchOptions http;
};

class SmsHttpProvider : public Provider {
 public:
  // Checks the URL and that the template renders to JSON.
  static Result<std::unique_ptr<SmsHttpProvider>> Create(const SmsHttpOptions& options);
  std::string_view name() const override { return "sms_http"; }
  std::string_view channel() const override { return "sms"; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override;

 private:
  SmsHttpProvider() = default;
  SmsHttpOptions options_;
  std::unique_ptr<HttpBatchClient> client_;
};

// The body template with the placeholders replaced (exposed for tests).
std::string SmsHttpBody(const std::string& body_template, const Outgoing& m,
                        const std::string& from);
// What a gateway answer means (exposed for tests).
Outcome SmsHttpOutcome(const HttpAnswer& a, const std::string& id_path, int64_t now_ms);

}  // namespace kontor::messaging
