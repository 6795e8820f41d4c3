#include "http/request.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include "http/params.h"

namespace kontor::http {

std::string_view Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

std::optional<std::string> Request::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

audit::Actor Request::Actor() const {
  audit::Actor a;
  if (principal) {
    a.type = principal->kind == auth::Principal::Kind::kToken ? "token" : "user";
    a.id = principal->kind == auth::Principal::Kind::kToken ? std::to_string(principal->token_id)
                                                            : std::to_string(principal->user_id);
    a.label = principal->Label();
  } else {
    a.type = "anonymous";
  }
  a.request_id = request_id;
  a.client_ip = client_ip;
  a.now_ms = now_ms;
  return a;
}

Response JsonResponse(int status, const json::value& v) {
  Response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

Response NoContent() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

bool ParseTarget(std::string_view target, std::string* path,
                 std::map<std::string, std::string>* query) {
  // Fast path for the usual plain path: nothing to decode, no query.
  if (!target.empty() && target.front() == '/' &&
      target.find_first_of("?%#") == std::string_view::npos) {
    // pchar of RFC 3986 without percent-encoding: unreserved, sub-delims, ':', '@'.
    bool plain = true;
    for (unsigned char c : target) {
      plain &= std::isalnum(c) || (c != 0 && std::strchr("-._~!$&'()*+,;=:@/", c) != nullptr);
    }
    if (plain) {
      *path = target;
      return true;
    }
  }
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return false;
  const boost::urls::url_view& u = *parsed;
  *path = u.path();  // decoded
  if (path->empty()) *path = "/";
  for (const auto& p : u.params()) (*query)[p.key] = p.has_value ? p.value : "";
  return true;
}

Response PageResponse(json::array items, const std::optional<int64_t>& next) {
  return JsonResponse(
      200, json::object{{"items", std::move(items)}, {"next_cursor", CursorOrNull(next)}});
}

json::value PageSchema() {
  return json::parse(
      R"({"type":"object","properties":{"items":{"type":"array"},"next_cursor":{"type":["string","null"]}}})");
}

}  // namespace kontor::http

namespace kontor::http {

Response FileResponse(std::string body, std::string content_type, const std::string& filename) {
  Response r;
  r.status = 200;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  r.SetHeader("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  return r;
}

Response FileResponse(std::shared_ptr<SpoolFile> body, std::string content_type,
                      const std::string& filename) {
  Response r = FileResponse(std::string(), std::move(content_type), filename);
  r.spool = std::move(body);
  return r;
}

Result<std::shared_ptr<SpoolFile>> SpoolFile::Create() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/kontor-spool-XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) return Status::Internal("spool file in " + path + ": " + std::strerror(errno));
  unlink(path.c_str());
  return std::shared_ptr<SpoolFile>(new SpoolFile(fd));
}

SpoolFile::~SpoolFile() { close(fd_); }

Status SpoolFile::Append(std::string_view data) {
  buffer_.append(data);
  size_ += data.size();
  return buffer_.size() >= (1u << 20) ? Flush() : Status::Ok();
}

Status SpoolFile::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Internal(std::string("spool write: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Status::Ok();
}

size_t SpoolFile::Read(uint64_t offset, char* out, size_t n) const {
  for (;;) {
    ssize_t r = pread(fd_, out, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    return r > 0 ? static_cast<size_t>(r) : 0;
  }
}

}  // namespace kontor::http
