#include "http/problem.h"

namespace kontor::http {
namespace {

struct Kind {
  const char* slug;
  const char* title;
};

Kind KindFor(int status) {
  switch (status) {
    case 400: return {"bad-request", "Bad request"};
    case 401: return {"unauthenticated", "Authentication required"};
    case 403: return {"forbidden", "Permission denied"};
    case 404: return {"not-found", "Not found"};
    case 405: return {"method-not-allowed", "Method not allowed"};
    case 409: return {"conflict", "Conflict"};
    case 413: return {"payload-too-large", "Request body too large"};
    case 415: return {"unsupported-media-type", "Unsupported media type"};
    case 422: return {"validation", "Validation failed"};
    case 429: return {"rate-limited", "Too many requests"};
    case 431: return {"headers-too-large", "Request header fields too large"};
    case 503: return {"unavailable", "Service unavailable"};
    default: return {"internal", "Internal server error"};
  }
}

}  // namespace

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kValidation: return 422;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kConflict: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

Response Problem(int http_status, std::string title, std::string detail, const Request& req) {
  Kind k = KindFor(http_status);
  json::object o{{"type", std::string("/problems/") + k.slug},
                 {"title", title.empty() ? k.title : title},
                 {"status", http_status},
                 {"detail", detail},
                 {"instance", req.path},
                 {"request_id", req.request_id}};
  Response r = JsonResponse(http_status, o);
  r.content_type = "application/problem+json";
  return r;
}

Response Problem(const Status& st, const Request& req) {
  int code = HttpStatusFor(st.code());
  std::string detail = code == 500 ? "an internal error occurred; quote the request id" : st.message();
  Response r = Problem(code, "", detail, req);
  if (!st.fields().empty()) {
    json::object o = json::parse(r.body).as_object();
    json::array errors;
    for (const auto& f : st.fields()) errors.push_back({{"field", f.field}, {"message", f.message}});
    o["errors"] = std::move(errors);
    r.body = json::serialize(o);
  }
  if (code == 429) r.SetHeader("Retry-After", std::to_string(std::max(1, st.retry_after())));
  if (code == 401) r.SetHeader("WWW-Authenticate", "Bearer realm=\"kontor\"");
  return r;
}

}  // namespace kontor::http
