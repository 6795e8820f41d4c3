// Transport-independent request and response: the Beast server fills them,
// the dispatcher and handlers see only these (and the fuzz target can too).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit.h"
#include "auth/principal.h"
#include "core/json.h"
#include "core/status.h"

namespace kontor::http {

struct Request {
  std::string method;  // upper case
  std::string target;  // as received: path + query
  std::string path;    // decoded path
  std::map<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string client_ip;

  // Filled by the dispatcher.
  std::string request_id;
  std::string route;  // matched pattern, e.g. /v1/users/{id}
  std::map<std::string, std::string> path_params;
  auth::PrincipalPtr principal;  // null when unauthenticated
  int64_t now_ms = 0;

  std::string_view Header(std::string_view lower_name) const;
  const std::string& PathParam(const std::string& name) const { return path_params.at(name); }
  std::optional<std::string> Query(const std::string& name) const;
  // The audit actor for changes made by this request.
  audit::Actor Actor() const;
};

// A response body too large to hold in memory (exports of a million rows):
// written to an anonymous temporary file, then sent from it in chunks. The
// file has no name from the start, so nothing is left behind by a crash.
class SpoolFile {
 public:
  // In $TMPDIR (default /tmp).
  static Result<std::shared_ptr<SpoolFile>> Create();
  ~SpoolFile();
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;

  // Buffered; Flush before the body is sent.
  Status Append(std::string_view data);
  Status Flush();
  uint64_t size() const { return size_; }
  // Reads up to `n` bytes at `offset`; 0 at the end or on error.
  size_t Read(uint64_t offset, char* out, size_t n) const;

 private:
  explicit SpoolFile(int fd) : fd_(fd) {}
  int fd_;
  uint64_t size_ = 0;
  std::string buffer_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this file's contents and `body` is ignored.
  std::shared_ptr<SpoolFile> spool;
  // When set, the answer comes later: the transport calls it with a
  // callback, then waits (without holding its thread) for the final
  // response, which the callback may receive on any thread. For requests
  // that wait on shared work, e.g. a group commit (messaging/events.h).
  std::function<void(std::function<void(Response)>)> deferred;

  uint64_t BodySize() const { return spool ? spool->size() : body.size(); }

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

Response JsonResponse(int status, const json::value& v);
Response NoContent();
// A download: `body` as `content_type`, saved by browsers as `filename`.
Response FileResponse(std::string body, std::string content_type, const std::string& filename);
// The same for a spooled body (flushed).
Response FileResponse(std::shared_ptr<SpoolFile> body, std::string content_type,
                      const std::string& filename);

// {"items": [...], "next_cursor": "id"|null} — the shape of every paged list
// answer; `next` is the last id of this page when there is another.
Response PageResponse(json::array items, const std::optional<int64_t>& next);
// Its response schema, for the route table.
json::value PageSchema();

// {"items": [to_json(x)...]} — the shape of every list answer without paging.
template <typename T, typename F>
Response ItemsResponse(const std::vector<T>& items, F to_json) {
  json::array out;
  out.reserve(items.size());
  for (const auto& x : items) out.push_back(to_json(x));
  return JsonResponse(200, json::object{{"items", std::move(out)}});
}

// Parses `target` into path and query (percent-decoded). Returns false on a
// target that is not a valid origin-form URI.
bool ParseTarget(std::string_view target, std::string* path,
                 std::map<std::string, std::string>* query);

}  // namespace kontor::http
