#include "messaging/sms_api.h"

#include <algorithm>
#include <cctype>

#include "core/crypto.h"
#include "core/log.h"
#include "messaging/sms.h"
#include "messaging/templates.h"

namespace kontor::messaging {
namespace {

using http::Request;
using http::Response;

constexpr const char* kTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

std::string Param(const FormParams& f, const char* name) {
  for (const auto& [k, v] : f) {
    if (k == name) return v;
  }
  return "";
}

// The request's form parameters when its X-Twilio-Signature is right.
Result<FormParams> Verified(const Request& req, const SmsWebhookOptions& o) {
  if (o.auth_token.empty() || o.public_url.empty())
    return Status::PermissionDenied(
        "Twilio callbacks are not configured (messaging.twilio.auth_token, public_url)");
  const std::string_view given = req.Header("x-twilio-signature");
  if (given.empty()) return Status::PermissionDenied("X-Twilio-Signature missing");
  ASSIGN_OR_RETURN(FormParams form, ParseForm(req.body));
  std::string base = o.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!SecureEquals(given, TwilioSignature(o.auth_token, base + req.target, form)))
    return Status::PermissionDenied("X-Twilio-Signature does not match");
  return form;
}

std::string Segments(const std::string& text) {
  SmsInfo s = CountSms(text);
  return std::to_string(s.segments) + (s.segments == 1 ? " segment (" : " segments (") +
         s.encoding + ")";
}

Status RecordReceipt(store::Database& db, int64_t now, const FormParams& f) {
  const std::string sid = Param(f, "MessageSid");
  const std::string status = Param(f, "MessageStatus");
  const std::string error = Param(f, "ErrorCode");
  if (sid.empty() || status.empty())
    return Status::Validation({{sid.empty() ? "MessageSid" : "MessageStatus", "missing"}});
  return db.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT id, status, content FROM messages WHERE "
                                          "provider = 'twilio' AND channel = 'sms' AND "
                                          "provider_message_id = ?",
                                          {sid}));
    // Not ours (or pruned): Twilio does not retry receipts either way.
    if (!row) return Status::Ok();
    const int64_t id = row->Int(0);
    std::string text;
    if (auto content = ParseJsonObject(row->Str(2)); content.ok()) {
      if (const json::value* t = content->if_contains("text"); t && t->is_string())
        text = t->get_string();
    }
    std::string event = "receipt", detail = status + ", " + Segments(text);
    if (status == "delivered") {
      event = "delivered";
      detail = Segments(text);
      RETURN_IF_ERROR(c.Execute("UPDATE messages SET status = 'delivered', updated_at = ? "
                                "WHERE id = ? AND status IN ('sent', 'delivered')",
                                {now, id})
                          .status());
    } else if (status == "undelivered" || status == "failed") {
      event = "failed";
      detail = status + (error.empty() ? "" : " " + error) + ", " + Segments(text);
      RETURN_IF_ERROR(
          c.Execute("UPDATE messages SET status = 'failed', error_code = ?, "
                    "error_message = ?, updated_at = ? WHERE id = ? AND status = "
                    "'sent'",
                    {error.empty() ? status : error, "the carrier reported " + status, now, id})
              .status());
    }
    return c
        .Execute(
            "INSERT INTO message_events (message_id, at, status, detail) VALUES "
            "(?, ?, ?, ?)",
            {id, now, event, detail})
        .status();
  });
}

}  // namespace

std::string SmsKeyword(std::string_view body) {
  // Only a message that is the keyword alone counts, as carriers do.
  const size_t b = body.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const size_t e = body.find_last_not_of(" \t\r\n.!");
  if (e == std::string_view::npos || e < b) return "";
  std::string w(body.substr(b, e - b + 1));
  for (char& ch : w) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const char* k : {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}) {
    if (w == k) return "stop";
  }
  if (w == "START" || w == "UNSTOP") return "start";
  return "";
}

Result<int> SetSmsConsentByPhone(store::Database& db, clients::CustomerService& customers,
                                 const audit::Actor& actor, const std::string& phone, bool granted,
                                 const std::string& source) {
  ASSIGN_OR_RETURN(auto rows, db.Execute("SELECT external_id FROM customers WHERE phone = ? AND "
                                         "status <> 'erased' ORDER BY id",
                                         {phone}));
  int changed = 0;
  const std::string want = granted ? "granted" : "withdrawn";
  for (const auto& row : rows.rows) {
    // If-Match on the version read: a concurrent edit is not overwritten,
    // the customer is read again.
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(clients::Customer cu, customers.Get(row.Str(0)));
      auto it = cu.data.consent.find("sms");
      if (it != cu.data.consent.end() && it->second.status == want) break;
      clients::CustomerInput in = cu.data;
      in.consent["sms"] = {want, source, actor.now_ms};
      Result<clients::UpsertResult> up =
          customers.Upsert(actor, in, std::optional<int64_t>(cu.version));
      if (up.ok()) {
        changed += up->changed ? 1 : 0;
        break;
      }
      if (up.status().code() != StatusCode::kConflict || attempt >= 3) return up.status();
    }
  }
  return changed;
}

void RegisterSmsRoutes(http::Router& router, store::Database& db,
                       clients::CustomerService& customers, SmsWebhookOptions options) {
  http::Route status{
      "POST",
      "/v1/sms/status",
      http::Access::Public(),
      [&db, options](Request& req) -> Result<Response> {
        ASSIGN_OR_RETURN(FormParams form, Verified(req, options));
        RETURN_IF_ERROR(RecordReceipt(db, req.now_ms, form));
        return http::NoContent();
      },
      "messaging",
      "Twilio delivery receipts (StatusCallback): delivered or failed on the message's "
      "timeline. Authenticated by X-Twilio-Signature",
      nullptr,
      nullptr,
      204};
  status.raw_body = "application/x-www-form-urlencoded";
  router.Add(std::move(status));
  http::Route inbound{
      "POST",
      "/v1/sms/inbound",
      http::Access::Public(),
      [&db, &customers, options](Request& req) -> Result<Response> {
        ASSIGN_OR_RETURN(FormParams form, Verified(req, options));
        const std::string from = Param(form, "From");
        if (from.empty()) return Status::Validation({{"From", "missing"}});
        const std::string keyword = SmsKeyword(Param(form, "Body"));
        if (!keyword.empty()) {
          audit::Actor actor = req.Actor();
          actor.type = "system";
          actor.label = "SMS " + keyword + " from " + from;
          ASSIGN_OR_RETURN(int n, SetSmsConsentByPhone(db, customers, actor, from,
                                                       keyword == "start", "sms_" + keyword));
          LogInfo("sms keyword", {{"keyword", keyword}, {"customers", n}});
        }
        Response r;
        r.status = 200;
        r.content_type = "text/xml";
        r.body = kTwiml;
        return r;
      },
      "messaging",
      "Incoming SMS from Twilio: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT withdraw the "
      "sender's SMS consent, START and UNSTOP grant it again; answers TwiML. Authenticated by "
      "X-Twilio-Signature",
      nullptr,
      nullptr,
      200};
  inbound.raw_body = "application/x-www-form-urlencoded";
  inbound.content_type = "text/xml";
  router.Add(std::move(inbound));
}

}  // namespace kontor::messaging
