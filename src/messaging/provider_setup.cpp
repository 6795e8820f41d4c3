#include "messaging/provider_setup.h"

#include <optional>

#include "messaging/apns.h"
#include "messaging/sms.h"
#include "messaging/webhook_provider.h"

namespace kontor::messaging {

struct ProviderSet::State {
  ApnsOptions apns;
  std::shared_ptr<ApnsTokenSource> apns_tokens;
  std::optional<TwilioOptions> twilio;
  std::optional<SmsHttpOptions> sms_http;
  std::optional<WebhookProviderOptions> webhook;
};

namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    std::string line = s.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(std::move(line));
    start = end + 1;
  }
  return out;
}

}  // namespace

bool ProviderSet::Serves(const std::string& name, const std::string& channel) {
  if (name == "apns") return channel == "push";
  if (name == "twilio" || name == "sms_http") return channel == "sms";
  return name == "webhook";
}

Result<std::shared_ptr<ProviderSet>> ProviderSet::Create(const Config::Messaging& mc,
                                                         OptOut opt_out) {
  auto set = std::make_shared<ProviderSet>();
  set->state_ = std::make_shared<State>();
  State& s = *set->state_;
  auto uses = [&mc](const std::string& name) {
    return mc.email_provider == name || mc.sms_provider == name || mc.push_provider == name ||
           mc.push_ios_provider == name;
  };
  if (uses("apns")) {
    s.apns.key_file = mc.apns_key_file;
    s.apns.key_id = mc.apns_key_id;
    s.apns.team_id = mc.apns_team_id;
    s.apns.topic = mc.apns_topic;
    s.apns.endpoint = mc.apns_endpoint;
    s.apns.expiration_s = mc.apns_expiration_s;
    s.apns.http.ca_file = mc.apns_ca_file;
    s.apns.http.max_concurrent = mc.apns_max_concurrent;
    s.apns.http.timeout_ms = mc.apns_timeout_ms;
    // One token for every worker: Apple counts refreshes per key.
    ASSIGN_OR_RETURN(s.apns_tokens, ApnsTokenSource::FromFile(s.apns));
  }
  HttpBatchOptions sms_http;
  sms_http.ca_file = mc.sms_ca_file;
  sms_http.timeout_ms = mc.sms_timeout_ms;
  // Form and JSON APIs answer one request per stream either way; HTTP/1.1
  // keep-alive connections do (and every SMS API speaks it).
  sms_http.http2 = false;
  sms_http.max_concurrent = 16;
  if (uses("twilio")) {
    TwilioOptions t;
    t.url = mc.twilio_url;
    t.account_sid = mc.twilio_account_sid;
    t.auth_token = mc.twilio_auth_token;
    t.from = mc.twilio_from;
    t.messaging_service_sid = mc.twilio_messaging_service_sid;
    if (!mc.twilio_public_url.empty()) {
      std::string base = mc.twilio_public_url;
      while (!base.empty() && base.back() == '/') base.pop_back();
      t.status_callback = base + "/v1/sms/status";
    }
    t.http = sms_http;
    t.opted_out = std::move(opt_out);
    RETURN_IF_ERROR(TwilioProvider::Create(t).status());
    s.twilio = std::move(t);
  }
  if (uses("sms_http")) {
    SmsHttpOptions o;
    o.url = mc.sms_http_url;
    o.headers = Lines(mc.sms_http_headers);
    if (!mc.sms_http_body.empty()) o.body_template = mc.sms_http_body;
    o.id_path = mc.sms_http_id_path;
    o.from = mc.sms_http_from;
    o.http = sms_http;
    RETURN_IF_ERROR(SmsHttpProvider::Create(o).status());
    s.sms_http = std::move(o);
  }
  if (uses("webhook")) {
    WebhookProviderOptions o;
    o.url = mc.webhook_url;
    o.secret = mc.webhook_secret;
    o.http.ca_file = mc.webhook_ca_file;
    o.http.http2 = false;
    o.http.max_concurrent = 16;
    RETURN_IF_ERROR(WebhookProvider::Create(o).status());
    s.webhook = std::move(o);
  }
  return set;
}

Result<std::unique_ptr<Provider>> ProviderSet::Make(const std::string& name) const {
  const State& s = *state_;
  if (name == "apns" && s.apns_tokens) {
    ASSIGN_OR_RETURN(auto p, ApnsProvider::Create(s.apns, s.apns_tokens));
    return std::unique_ptr<Provider>(std::move(p));
  }
  if (name == "twilio" && s.twilio) {
    ASSIGN_OR_RETURN(auto p, TwilioProvider::Create(*s.twilio));
    return std::unique_ptr<Provider>(std::move(p));
  }
  if (name == "sms_http" && s.sms_http) {
    ASSIGN_OR_RETURN(auto p, SmsHttpProvider::Create(*s.sms_http));
    return std::unique_ptr<Provider>(std::move(p));
  }
  if (name == "webhook" && s.webhook) {
    ASSIGN_OR_RETURN(auto p, WebhookProvider::Create(*s.webhook));
    return std::unique_ptr<Provider>(std::move(p));
  }
  return Status::NotFound("no provider " + name);
}

std::vector<ConfiguredProvider> ProviderSet::Configured(const Config::Messaging& mc) {
  std::vector<ConfiguredProvider> out;
  auto add = [&out](const std::string& name, const std::string& channel) {
    if (name.empty()) return;
    for (const auto& p : out) {
      if (p.name == name && p.channel == channel) return;
    }
    out.push_back({name, channel});
  };
  add(mc.email_provider, "email");
  add(mc.sms_provider, "sms");
  add(mc.push_provider, "push");
  add(mc.push_ios_provider, "push");
  return out;
}

}  // namespace kontor::messaging
