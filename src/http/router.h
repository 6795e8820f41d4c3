// The route table. Every route declares the access it needs and documents
// itself; the OpenAPI document and the permission test are derived from it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/permissions.h"
#include "core/json.h"
#include "core/status.h"
#include "http/request.h"

namespace kontor::http {

using Handler = std::function<Result<Response>(Request&)>;

struct Access {
  enum class Kind { kPublic, kAuthenticated, kPermission };
  Kind kind = Kind::kPermission;
  auth::Component component = auth::Component::kAdmin;
  auth::Level level = auth::Level::kWrite;

  static Access Public() { return {Kind::kPublic}; }
  static Access Authenticated() { return {Kind::kAuthenticated}; }
  static Access Read(auth::Component c) { return {Kind::kPermission, c, auth::Level::kRead}; }
  static Access Write(auth::Component c) { return {Kind::kPermission, c, auth::Level::kWrite}; }
};

struct QueryParam {
  std::string name;
  std::string description;
  std::string type = "string";
};

struct Route {
  std::string method;
  std::string pattern;  // "/v1/users/{id}"
  Access access;
  Handler handler;
  // Documentation.
  std::string tag;
  std::string summary;
  json::value request_schema;   // null: no body
  json::value response_schema;  // null: none documented
  int success_status = 200;
  std::vector<QueryParam> query;
  std::string content_type = "application/json";  // of the success response
  // Runs on the blocking pool instead of the connection's event loop: for
  // handlers that take milliseconds of CPU (password hashing), so they do not
  // stall the other connections of that loop.
  bool blocking = false;
  // Larger bodies than the server default (bulk routes); 0 = the default.
  uint64_t max_body_bytes = 0;
  // Also accepts application/x-ndjson (one JSON value per line).
  bool ndjson = false;
  // A non-JSON body taken as is, documented with this media type (e.g. "text/csv" for file
  // uploads); empty: the body is JSON (request_schema) or none.
  std::string raw_body;
};

// Marks a route as one that runs on the blocking pool (Route::blocking).
inline Route Blocking(Route r) {
  r.blocking = true;
  return r;
}

class Router {
 public:
  void Add(Route r);
  const std::vector<Route>& routes() const { return routes_; }

  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed;  // when the path exists but not the method
  };
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{x}" marks a parameter
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace kontor::http
