// A small blocking HTTP/1.1 client for webhook deliveries: one POST per
// connection over http or https, one deadline for the whole exchange
// (resolve, connect, TLS handshake, request, response head), and only the
// first bytes of the response body kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kontor::webhooks {

struct PostRequest {
  std::string url;  // absolute http(s) URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
  size_t max_response_bytes = 4096;
};

struct PostResult {
  int status = 0;     // the HTTP status; 0 when no response arrived
  std::string body;   // at most max_response_bytes of the response body
  std::string error;  // why no response arrived (timeout, refused, TLS, ...)
  int64_t duration_ms = 0;
};

class HttpClient {
 public:
  // Peers are verified against `ca_file` (PEM) when given, else against the
  // system's CA store; the host name is checked and sent as SNI. Unless
  // `allow_private_networks`, a host that resolves to a loopback, private,
  // link-local (cloud metadata), unique-local or unspecified address is
  // refused: a webhook URL must not reach into the network Kontor runs in.
  // The check is on the resolved addresses that are then connected to, so a
  // DNS answer cannot change between check and use.
  static Result<std::unique_ptr<HttpClient>> Create(const std::string& ca_file,
                                                    bool allow_private_networks = false);
  ~HttpClient();

  // Thread-safe. Redirects are not followed (a 3xx is just a status).
  PostResult Post(const PostRequest& request) const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kontor::webhooks
