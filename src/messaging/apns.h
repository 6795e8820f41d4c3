// Push to Apple devices through the APNs provider API: HTTP/2
// POST {endpoint}/3/device/{token}, many at once as streams of one TLS
// connection (ALPN h2), through the shared curl-multi client.
//
// Authentication is token-based: an ES256 JWT signed with the team's .p8 key,
// header `kid` = key id, claims `iss` = team id and `iat`. Apple refuses a
// token older than an hour and one refreshed more often than every 20
// minutes, so one token is shared by every worker and reused for 40 minutes;
// a 403 ExpiredProviderToken gets a new one and the messages are sent again
// at once.
//
// Answers map to outcomes as Apple documents them: 200 sent (the apns-id
// header is the provider's message id); 410 Unregistered and 400
// BadDeviceToken → the device is unregistered; other 400 reasons and 413 →
// failed with the reason; 403 InvalidProviderToken and the other 403s →
// paused (our key, key id or team id is wrong); 429, 500, 503 and transport
// errors → retried, after Retry-After when given.
//
// Push content: {"title", "body", "image", "link", "data": {string: string},
// "collapse_id"}; without title and body it goes as a background push
// (content-available, priority 5).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "messaging/http_batch.h"
#include "messaging/provider.h"

namespace kontor::messaging {

struct ApnsOptions {
  std::string key_file;  // the .p8 (PKCS#8 P-256) key from the developer account
  std::string key_id;    // its 10-character id
  std::string team_id;
  std::string topic;  // the app's bundle id
  std::string endpoint = "https://api.push.apple.com";
  int64_t expiration_s = 86400;  // how long APNs keeps trying; 0: once
  HttpBatchOptions http;
};

// Provider tokens for one key, shared by the workers' providers.
class ApnsTokenSource {
 public:
  // Apple: refresh not more often than every 20 minutes, never use one older
  // than 60.
  static constexpr int64_t kReuseMs = 40 * 60 * 1000;

  static Result<std::shared_ptr<ApnsTokenSource>> FromFile(const ApnsOptions& options);
  static Result<std::shared_ptr<ApnsTokenSource>> FromKey(std::string pem, std::string key_id,
                                                          std::string team_id);
  // The current token, or a new one when it is kReuseMs old.
  Result<std::string> Token(int64_t now_ms);
  // APNs answered ExpiredProviderToken to `token`: the next Token() signs a
  // new one, unless another worker has already replaced it.
  void Expired(const std::string& token);

 private:
  ApnsTokenSource() = default;
  std::string pem_, key_id_, team_id_;
  std::mutex mu_;
  std::string token_;
  int64_t issued_at_ms_ = 0;
};

class ApnsProvider : public Provider {
 public:
  static Result<std::unique_ptr<ApnsProvider>> Create(const ApnsOptions& options,
                                                      std::shared_ptr<ApnsTokenSource> tokens);
  std::string_view name() const override { return "apns"; }
  std::string_view channel() const override { return "push"; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override;

 private:
  ApnsProvider() = default;
  std::vector<HttpAnswer> Post(const std::vector<Outgoing>& batch, const std::vector<size_t>& which,
                               const std::string& token, int64_t now_ms);
  ApnsOptions options_;
  std::shared_ptr<ApnsTokenSource> tokens_;
  std::unique_ptr<HttpBatchClient> client_;
  std::string base_;
};

// The JSON payload of one message (exposed for tests).
json::object ApnsPayload(const Outgoing& m);
// Its apns-* headers, without authorization (exposed for tests).
std::vector<std::string> ApnsHeaders(const Outgoing& m, const ApnsOptions& options, int64_t now_ms);
// What an APNs answer means (exposed for tests).
Outcome ApnsOutcome(const HttpAnswer& a, int64_t now_ms);

}  // namespace kontor::messaging
