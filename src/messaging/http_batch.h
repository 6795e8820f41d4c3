// Many HTTP requests at once through libcurl's multi interface: over HTTP/2
// they share one connection as concurrent streams (the way FCM and APNs
// want to be driven); over HTTP/1.1 up to `max_concurrent` connections are
// kept open and reused. Used by the HTTP-based providers.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace kontor::messaging {

struct HttpCall {
  std::string method = "POST";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
};

struct HttpAnswer {
  long status = 0;                             // 0: no response (see error)
  std::string body;                            // at most 64 KiB
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string error;                           // transport failure: refused, reset, timeout, TLS
};

struct HttpBatchOptions {
  // h2c without upgrade, for http:// endpoints that speak HTTP/2 (test
  // servers); https:// negotiates HTTP/2 by ALPN anyway.
  bool http2_prior_knowledge = false;
  bool http2 = true;         // prefer HTTP/2 over TLS
  int max_concurrent = 100;  // requests in flight
  int timeout_ms = 10000;    // per request
  std::string ca_file;       // PEM; empty = the system store
};

class HttpBatchClient {
 public:
  static Result<std::unique_ptr<HttpBatchClient>> Create(const HttpBatchOptions& options);
  ~HttpBatchClient();

  // One answer per call, in order. Not thread-safe: one client per thread.
  std::vector<HttpAnswer> Perform(const std::vector<HttpCall>& calls);

 private:
  struct Impl;
  explicit HttpBatchClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// curl_global_init, once per process, for every libcurl user here.
void CurlGlobalInit();

// Retry-After as milliseconds (delta seconds or an HTTP date); -1 when absent
// or unreadable.
int64_t RetryAfterMs(const HttpAnswer& a, int64_t now_ms);

}  // namespace kontor::messaging
