// The webhook provider: any channel may hand its rendered messages to the
// operator's own service, POSTed as JSON to one URL and signed exactly like
// Kontor's outbound webhooks (Kontor-Timestamp, Kontor-Signature; see
// webhooks/signing.h), so a receiver verifies both the same way.
//
//   {"id":"42","channel":"sms","recipient":"+41...","content":{...},"attempt":1}
//
// 2xx → sent (an "id" in the JSON answer is the provider message id);
// 429 and 5xx → retried after Retry-After; other 4xx → failed.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "messaging/http_batch.h"
#include "messaging/provider.h"

namespace kontor::messaging {

struct WebhookProviderOptions {
  std::string url;
  std::string secret;
  HttpBatchOptions http;
};

class WebhookProvider : public Provider {
 public:
  static Result<std::unique_ptr<WebhookProvider>> Create(const WebhookProviderOptions& options);
  std::string_view name() const override { return "webhook"; }
  std::string_view channel() const override { return "any"; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override;

 private:
  WebhookProvider() = default;
  WebhookProviderOptions options_;
  std::unique_ptr<HttpBatchClient> client_;
};

// The JSON body for one message (exposed for tests).
std::string WebhookMessageBody(const Outgoing& m);
// What the receiver's answer means (exposed for tests).
Outcome WebhookOutcome(const HttpAnswer& a, int64_t message_id, int64_t now_ms);

}  // namespace kontor::messaging
