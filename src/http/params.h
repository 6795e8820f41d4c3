// Parsing of the pieces of a request every API route shares: the JSON body,
// numeric ids in the path, paging parameters and If-Match.
#pragma once

#include <optional>
#include <string>

#include "core/json.h"
#include "core/status.h"
#include "http/request.h"

namespace kontor::http {

// The body as a JSON object; an empty body is a 400.
Result<json::object> JsonBody(const Request& req);
// Path parameter `name` as a positive id; anything else is a 404 (the resource can't exist).
Result<int64_t> PathId(const Request& req, const std::string& name, const std::string& what);
// `limit` in [1, max], default `def`.
Result<int> LimitParam(const Request& req, int def = 50, int max = 500);
// An opaque cursor (a positive integer inside); absent → nullopt.
Result<std::optional<int64_t>> CursorParam(const Request& req, const std::string& name = "cursor");
// An RFC 3339 query parameter.
Result<std::optional<int64_t>> TimeParam(const Request& req, const std::string& name);
// A boolean query parameter (true/false/1/0).
Result<bool> BoolParam(const Request& req, const std::string& name, bool def);
// If-Match: "N" or W/"N" → N.
Result<std::optional<int64_t>> IfMatchVersion(const Request& req);
// Rejects query parameters that the route does not know.
Status OnlyQueryParams(const Request& req, std::initializer_list<const char*> known);

json::value CursorOrNull(const std::optional<int64_t>& next);

}  // namespace kontor::http
