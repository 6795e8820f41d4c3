// Push through Firebase Cloud Messaging's HTTP v1 API.
//
// Authentication is Google's OAuth2 JWT-bearer flow for service accounts: a
// JWT signed RS256 with the account's key, exchanged at its `token_uri` for
// an access token that is cached (shared by every worker) until shortly
// before it expires. Messages go as
// POST {endpoint}/v1/projects/{project}/messages:send, many at once as
// HTTP/2 streams. Answers map to outcomes as FCM documents them:
// UNREGISTERED → the device is unregistered; INVALID_ARGUMENT and
// SENDER_ID_MISMATCH → failed; QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL, 5xx
// and transport errors → retried (after Retry-After when given);
// THIRD_PARTY_AUTH_ERROR, 401 and 403 → the provider pauses (credentials),
// nothing is retried blindly. Bodies that are not JSON are judged by status.
//
// Push content: {"title", "body", "image", "link", "data": {string: string}}.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/status.h"
#include "messaging/http_batch.h"
#include "messaging/provider.h"

namespace kontor::messaging {

struct FcmOptions {
  std::string service_account_file;  // Google's JSON key file
  std::string endpoint = "https://fcm.googleapis.com";
  HttpBatchOptions http;
};

// Access tokens for one service account, shared by the workers' providers.
class GoogleTokenSource {
 public:
  // Parses the service-account file (project_id, client_email, private_key,
  // private_key_id, token_uri).
  static Result<std::shared_ptr<GoogleTokenSource>> FromFile(const std::string& path,
                                                             const HttpBatchOptions& http);
  const std::string& project_id() const { return project_id_; }
  // A valid access token: the cached one, or a new one.
  Result<std::string> Token(int64_t now_ms);
  // Forgets the cached token (the API said it was not accepted).
  void Invalidate();

 private:
  GoogleTokenSource() = default;
  std::string project_id_, client_email_, private_key_, private_key_id_, token_uri_;
  HttpBatchOptions http_;
  std::mutex mu_;
  std::string token_;
  int64_t expires_at_ms_ = 0;
  std::unique_ptr<HttpBatchClient> client_;
};

class FcmProvider : public Provider {
 public:
  static Result<std::unique_ptr<FcmProvider>> Create(const FcmOptions& options,
                                                     std::shared_ptr<GoogleTokenSource> tokens);
  std::string_view name() const override { return "fcm"; }
  std::string_view channel() const override { return "push"; }
  std::vector<Outcome> Send(const std::vector<Outgoing>& batch) override;

 private:
  FcmProvider() = default;
  FcmOptions options_;
  std::shared_ptr<GoogleTokenSource> tokens_;
  std::unique_ptr<HttpBatchClient> client_;
  std::string url_;
};

// The FCM v1 request body for one message (exposed for tests).
json::object FcmRequest(const Outgoing& m);
// What an FCM answer means (exposed for tests).
Outcome FcmOutcome(const HttpAnswer& a, int64_t now_ms);

}  // namespace kontor::messaging
