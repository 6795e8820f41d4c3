// The request pipeline shared by every transport: request id, rate limit,
// routing, authentication, CSRF, permission, content type, the handler,
// problem+json for every failure, metrics and the JSON access log.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/static_files.h"

namespace kontor::http {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // kUnauthenticated when credentials are missing or bad.
  virtual Result<auth::PrincipalPtr> Authenticate(const Request& req) = 0;
};

struct DispatcherOptions {
  int rate_limit_per_s = 0;  // per client address; 0 = off
  bool access_log = true;
};

class Dispatcher {
 public:
  Dispatcher(Router& router, Authenticator& auth, Metrics& metrics, const Clock& clock,
             DispatcherOptions options, const StaticFiles* static_files = nullptr);

  // Never throws; every failure becomes a problem+json response. Parses
  // req.target into path and query.
  Response Handle(Request& req);
  // The body limit of the route `target` names (Route::max_body_bytes), else `def`.
  uint64_t BodyLimit(std::string_view method, std::string_view target, uint64_t def) const;
  uint64_t LargestBodyLimit() const { return largest_body_limit_; }
  // Whether Handle(req) should run off the event loop (Route::blocking).
  bool IsBlocking(const Request& req) const;
  // The answer to a request the transport could not parse or accept (400,
  // 413, 431): request id, metrics and access log like any other.
  Response Reject(int status, const std::string& detail, const std::string& client_ip);

 private:
  Response HandleRouted(Request& req, const Router::Match& m);
  bool RateLimited(const std::string& client_ip, int* retry_after);

  Router& router_;
  Authenticator& auth_;
  Metrics& metrics_;
  const Clock& clock_;
  DispatcherOptions options_;
  const StaticFiles* static_files_;
  std::unordered_map<const Route*, int> metric_slot_;
  bool any_blocking_ = false;        // a non-GET route is blocking
  bool any_blocking_get_ = false;    // a GET route is (exports)
  uint64_t largest_body_limit_ = 0;  // a mutating route runs on the blocking pool

  struct Bucket {
    double tokens;
    int64_t last_ms;
  };
  std::mutex rate_mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace kontor::http
