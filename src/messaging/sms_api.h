// Twilio's calls to Kontor: delivery receipts (POST /v1/sms/status) and
// incoming messages (POST /v1/sms/inbound), authenticated by their
// X-Twilio-Signature, not by an API token. STOP and its synonyms withdraw the
// SMS consent of the customers with that number; START and UNSTOP grant it
// again.
#pragma once

#include <string>

#include "audit/audit.h"
#include "clients/customers.h"
#include "core/status.h"
#include "http/router.h"
#include "store/database.h"

namespace kontor::messaging {

struct SmsWebhookOptions {
  std::string auth_token;  // messaging.twilio.auth_token: the signing key
  std::string public_url;  // messaging.twilio.public_url: what Twilio signs
};

// Sets the SMS consent of every (not erased) customer whose phone is
// `phone` to granted or withdrawn, with `source`; each change reaches the
// change feed and the audit log as a customer update. Returns how many
// customers changed.
Result<int> SetSmsConsentByPhone(store::Database& db, clients::CustomerService& customers,
                                 const audit::Actor& actor, const std::string& phone, bool granted,
                                 const std::string& source);

// The keyword an incoming text is: "stop", "start" or "" (anything else).
std::string SmsKeyword(std::string_view body);

void RegisterSmsRoutes(http::Router& router, store::Database& db,
                       clients::CustomerService& customers, SmsWebhookOptions options);

}  // namespace kontor::messaging
