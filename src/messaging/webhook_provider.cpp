#include "messaging/webhook_provider.h"

#include <chrono>

#include "webhooks/signing.h"

namespace kontor::messaging {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<WebhookProvider>> WebhookProvider::Create(
    const WebhookProviderOptions& options) {
  if (!options.url.starts_with("https://") && !options.url.starts_with("http://"))
    return Status::Validation({{"messaging.webhook.url", "must be an http(s) URL"}});
  if (options.secret.size() < 16)
    return Status::Validation({{"messaging.webhook.secret", "at least 16 characters"}});
  std::unique_ptr<WebhookProvider> p(new WebhookProvider());
  p->options_ = options;
  ASSIGN_OR_RETURN(p->client_, HttpBatchClient::Create(options.http));
  return p;
}

std::string WebhookMessageBody(const Outgoing& m) {
  return json::serialize(json::object{{"id", std::to_string(m.id)},
                                      {"channel", m.channel},
                                      {"recipient", m.recipient},
                                      {"content", m.content},
                                      {"attempt", m.attempt}});
}

Outcome WebhookOutcome(const HttpAnswer& a, int64_t message_id, int64_t now_ms) {
  using Kind = Outcome::Kind;
  if (a.status == 0) return Outcome::Error(Kind::kRetry, "transport", a.error);
  if (a.status >= 200 && a.status < 300) {
    std::string id = "webhook-" + std::to_string(message_id);
    if (auto body = ParseJsonObject(a.body); body.ok()) {
      if (const json::value* v = body->if_contains("id");
          v && v->is_string() && !v->get_string().empty())
        id = v->get_string();
    }
    return Outcome::Sent(id);
  }
  const std::string code = "HTTP_" + std::to_string(a.status);
  const std::string message = a.body.substr(0, 300);
  if (a.status == 429 || a.status >= 500) {
    Outcome o = Outcome::Error(Kind::kRetry, code, message);
    o.retry_after_ms = RetryAfterMs(a, now_ms);
    return o;
  }
  return Outcome::Error(Kind::kFailed, code, message);
}

std::vector<Outcome> WebhookProvider::Send(const std::vector<Outgoing>& batch) {
  const int64_t ts = NowMs() / 1000;
  std::vector<HttpCall> calls(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    calls[i].url = options_.url;
    calls[i].body = WebhookMessageBody(batch[i]);
    calls[i].headers = {"Content-Type: application/json", "User-Agent: Kontor-Messaging/1",
                        "Kontor-Message-Id: " + std::to_string(batch[i].id),
                        "Kontor-Timestamp: " + std::to_string(ts),
                        "Kontor-Signature: " + webhooks::Sign(options_.secret, ts, calls[i].body)};
  }
  std::vector<HttpAnswer> answers = client_->Perform(calls);
  const int64_t now = NowMs();
  std::vector<Outcome> out;
  out.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    out.push_back(WebhookOutcome(answers[i], batch[i].id, now));
  return out;
}

}  // namespace kontor::messaging
