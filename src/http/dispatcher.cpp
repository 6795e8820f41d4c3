#include "http/dispatcher.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "core/crypto.h"
#include "core/log.h"
#include "http/problem.h"

namespace kontor::http {
namespace {

bool IsMutating(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

bool IsJsonContentType(std::string_view ct) {
  auto semi = ct.find(';');
  std::string_view base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  std::string lower(base);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" || (lower.size() > 5 && lower.ends_with("+json"));
}

bool IsNdjsonContentType(std::string_view ct) {
  std::string_view base = ct.substr(0, ct.find(';'));
  return base == "application/x-ndjson" || base == "application/ndjson";
}

// Many clients send "{}" with every POST; for a route without a body that is
// the same as nothing.
bool IsEmptyBody(std::string_view body) {
  std::string compact;
  for (char c : body) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
    if (compact.size() > 2) return false;
  }
  return compact.empty() || compact == "{}";
}

// Request ids need to be unique, not secret: a per-thread generator seeded
// from the OS keeps the CSPRNG off the request path.
std::string NewRequestId() {
  thread_local std::mt19937_64 gen = [] {
    std::string seed = RandomBytes(8);
    uint64_t v;
    std::memcpy(&v, seed.data(), sizeof(v));
    return std::mt19937_64(v);
  }();
  char buf[25];
  std::snprintf(buf, sizeof(buf), "%016llx%08llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen() & 0xffffffff));
  return buf;
}

}  // namespace

Dispatcher::Dispatcher(Router& router, Authenticator& auth, Metrics& metrics, const Clock& clock,
                       DispatcherOptions options, const StaticFiles* static_files)
    : router_(router),
      auth_(auth),
      metrics_(metrics),
      clock_(clock),
      options_(options),
      static_files_(static_files) {
  for (const Route& r : router_.routes()) {
    metric_slot_[&r] = metrics_.AddRoute(r.method, r.pattern);
    (r.method == "GET" ? any_blocking_get_ : any_blocking_) |= r.blocking;
    largest_body_limit_ = std::max(largest_body_limit_, r.max_body_bytes);
  }
}

bool Dispatcher::RateLimited(const std::string& client_ip, int* retry_after) {
  if (options_.rate_limit_per_s <= 0) return false;
  const double rate = options_.rate_limit_per_s;
  const double burst = rate * 2;
  int64_t now = clock_.NowMs();
  std::lock_guard lock(rate_mu_);
  if (buckets_.size() > 100000) buckets_.clear();  // bound memory under address spraying
  auto [it, fresh] = buckets_.try_emplace(client_ip, Bucket{burst, now});
  Bucket& b = it->second;
  b.tokens = std::min(burst, b.tokens + (now - b.last_ms) * rate / 1000.0);
  b.last_ms = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return false;
  }
  *retry_after = std::max(1, static_cast<int>((1 - b.tokens) / rate + 0.999));
  return true;
}

Response Dispatcher::Handle(Request& req) {
  const auto started = std::chrono::steady_clock::now();
  req.now_ms = clock_.NowMs();
  std::string_view incoming = req.Header("x-request-id");
  req.request_id = ValidRequestId(incoming) ? std::string(incoming) : NewRequestId();

  Response resp;
  int slot = 0;
  try {
    int retry_after = 0;
    if (!ParseTarget(req.target, &req.path, &req.query)) {
      resp = Problem(400, "", "malformed request target", req);
    } else if (RateLimited(req.client_ip, &retry_after)) {
      resp = Problem(Status::ResourceExhausted("rate limit exceeded", retry_after), req);
    } else {
      Router::Match m = router_.Find(req.method, req.path);
      if (m.route) {
        slot = metric_slot_[m.route];
        req.route = m.route->pattern;
        req.path_params = std::move(m.params);
        resp = HandleRouted(req, m);
      } else if (!m.allowed.empty()) {
        std::string allow;
        for (const auto& a : m.allowed) allow += (allow.empty() ? "" : ", ") + a;
        resp = Problem(405, "", req.method + " is not allowed here; use " + allow, req);
        resp.SetHeader("Allow", allow);
      } else if (static_files_ && (req.method == "GET" || req.method == "HEAD") &&
                 !req.path.starts_with("/v1/") && req.path != "/v1") {
        auto file = static_files_->Serve(req.path);
        resp = file ? std::move(*file) : Problem(404, "", "no such page: " + req.path, req);
      } else {
        resp = Problem(404, "", "no route for " + req.path, req);
      }
    }
  } catch (const std::exception& e) {
    LogError("unhandled exception", {{"request_id", req.request_id}, {"error", e.what()}});
    resp = Problem(Status::Internal(e.what()), req);
  } catch (...) {
    LogError("unhandled exception", {{"request_id", req.request_id}});
    resp = Problem(Status::Internal("unknown"), req);
  }
  auto finish = [this, started, slot](const Request& req, Response& resp) {
    resp.SetHeader("X-Request-Id", req.request_id);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_.Observe(slot, resp.status, seconds);
    const LogLevel level = resp.status >= 500 ? LogLevel::kError : LogLevel::kInfo;
    if (options_.access_log) {
      const std::string actor = req.principal ? req.principal->Label() : std::string();
      LogFields(level, "request",
                {{"request_id", req.request_id},
                 {"method", req.method},
                 {"path", req.path},
                 {"route", req.route},
                 {"status", int64_t{resp.status}},
                 {"duration_us", static_cast<int64_t>(seconds * 1e6)},
                 {"bytes", static_cast<int64_t>(resp.BodySize())},
                 {"client_ip", req.client_ip},
                 {"actor", actor}});
    }
  };
  if (resp.deferred) {
    // Metrics and the access log describe the final answer, when it comes.
    auto start = std::move(resp.deferred);
    auto logged = std::make_shared<Request>();
    logged->method = req.method;
    logged->path = req.path;
    logged->route = req.route;
    logged->request_id = req.request_id;
    logged->client_ip = req.client_ip;
    logged->principal = req.principal;
    resp.deferred = [start = std::move(start), logged,
                     finish](std::function<void(Response)> done) {
      start([logged, finish, done = std::move(done)](Response r) {
        finish(*logged, r);
        done(std::move(r));
      });
    };
    return resp;
  }
  finish(req, resp);
  return resp;
}

uint64_t Dispatcher::BodyLimit(std::string_view method, std::string_view target,
                               uint64_t def) const {
  if (largest_body_limit_ == 0) return def;
  Router::Match m = router_.Find(method, target.substr(0, target.find('?')));
  return m.route && m.route->max_body_bytes ? m.route->max_body_bytes : def;
}

bool Dispatcher::IsBlocking(const Request& req) const {
  // Most requests are reads on the event loop: the route lookup is paid only
  // when some route of the request's kind is blocking.
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (!(read ? any_blocking_get_ : any_blocking_)) return false;
  std::string_view path = req.target;
  path = path.substr(0, path.find('?'));
  Router::Match m = router_.Find(read ? "GET" : req.method, path);
  return m.route && m.route->blocking;
}

Response Dispatcher::Reject(int status, const std::string& detail, const std::string& client_ip) {
  Request req;
  req.client_ip = client_ip;
  req.request_id = NewRequestId();
  Response resp = Problem(status, "", detail, req);
  resp.SetHeader("X-Request-Id", req.request_id);
  metrics_.Observe(0, status, 0);
  if (options_.access_log) {
    Log(LogLevel::kInfo, "request rejected",
        {{"request_id", req.request_id},
         {"status", status},
         {"detail", detail},
         {"client_ip", client_ip}});
  }
  return resp;
}

Response Dispatcher::HandleRouted(Request& req, const Router::Match& m) {
  const Route& route = *m.route;
  if (route.access.kind != Access::Kind::kPublic) {
    auto principal = auth_.Authenticate(req);
    if (!principal.ok()) return Problem(principal.status(), req);
    req.principal = std::move(principal).value();
    if (req.principal->kind == auth::Principal::Kind::kSession && IsMutating(req.method) &&
        !SecureEquals(req.Header("x-csrf-token"), req.principal->csrf_token)) {
      return Problem(403, "CSRF token missing or invalid",
                     "send the csrf_token from login or GET /v1/me as X-CSRF-Token", req);
    }
    if (route.access.kind == Access::Kind::kPermission &&
        !req.principal->permissions.Allows(route.access.component, route.access.level)) {
      return Problem(Status::PermissionDenied(
                         "needs " + std::string(auth::ComponentName(route.access.component)) + ":" +
                         std::string(auth::LevelName(route.access.level))),
                     req);
    }
  }
  if (route.raw_body.empty() && !route.request_schema.is_null() && !req.body.empty() &&
      !IsJsonContentType(req.Header("content-type")) &&
      !(route.ndjson && IsNdjsonContentType(req.Header("content-type")))) {
    return Problem(415, "", "send the body as application/json", req);
  }
  if (route.raw_body.empty() && route.request_schema.is_null() && IsMutating(req.method) &&
      !IsEmptyBody(req.body)) {
    return Problem(Status::Validation({{"body", "this route takes no request body"}}), req);
  }
  Result<Response> r = route.handler(req);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kInternal) {
      LogError("request failed", {{"request_id", req.request_id}, {"error", r.status().message()}});
    }
    return Problem(r.status(), req);
  }
  return std::move(r).value();
}

}  // namespace kontor::http
