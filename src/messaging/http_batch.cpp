#include "messaging/http_batch.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

namespace kontor::messaging {
namespace {

constexpr size_t kMaxBody = 64 * 1024;

struct Slot {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpAnswer* answer = nullptr;
  char error[CURL_ERROR_SIZE] = {0};
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Slot*>(user);
  const size_t len = size * n;
  std::string& body = s->answer->body;
  if (body.size() < kMaxBody) body.append(data, std::min(len, kMaxBody - body.size()));
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Slot*>(user);
  const size_t len = size * n;
  std::string line(data, len);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    const size_t b = value.find_first_not_of(" \t");
    const size_t e = value.find_last_not_of(" \t\r\n");
    s->answer->headers[name] = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  }
  return len;
}

}  // namespace

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct HttpBatchClient::Impl {
  HttpBatchOptions options;
  CURLM* multi = nullptr;
  CURLSH* share = nullptr;
  std::vector<CURL*> idle;  // reused: they keep their connections and TLS sessions warm
  ~Impl() {
    for (CURL* e : idle) curl_easy_cleanup(e);
    if (multi) curl_multi_cleanup(multi);
    if (share) curl_share_cleanup(share);
  }
};

HttpBatchClient::HttpBatchClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpBatchClient::~HttpBatchClient() = default;

Result<std::unique_ptr<HttpBatchClient>> HttpBatchClient::Create(const HttpBatchOptions& options) {
  CurlGlobalInit();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->multi = curl_multi_init();
  if (!impl->multi) return Status::Internal("curl_multi_init failed");
  curl_multi_setopt(impl->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(impl->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(std::max(1, options.max_concurrent)));
  curl_multi_setopt(impl->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
                    static_cast<long>(std::max(1, options.max_concurrent)));
  return std::unique_ptr<HttpBatchClient>(new HttpBatchClient(std::move(impl)));
}

std::vector<HttpAnswer> HttpBatchClient::Perform(const std::vector<HttpCall>& calls) {
  std::vector<HttpAnswer> answers(calls.size());
  const HttpBatchOptions& o = impl_->options;
  std::vector<Slot> slots(calls.size());
  size_t next = 0, running = 0;
  auto start = [&](size_t i) {
    Slot& s = slots[i];
    s.answer = &answers[i];
    if (!impl_->idle.empty()) {
      s.easy = impl_->idle.back();
      impl_->idle.pop_back();
      curl_easy_reset(s.easy);
    } else {
      s.easy = curl_easy_init();
    }
    CURL* e = s.easy;
    const HttpCall& c = calls[i];
    curl_easy_setopt(e, CURLOPT_URL, c.url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(o.timeout_ms, 10000)));
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     o.http2_prior_knowledge ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                     : o.http2               ? CURL_HTTP_VERSION_2TLS
                                             : CURL_HTTP_VERSION_1_1);
    // Wait for the connection being set up and multiplex on it, rather than
    // opening one connection per request of the first batch.
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    if (!o.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c.method.c_str());
    if (c.method != "GET") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, c.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.size()));
    }
    s.headers = nullptr;
    for (const std::string& h : c.headers) s.headers = curl_slist_append(s.headers, h.c_str());
    // No "Expect: 100-continue" round trip before bodies.
    s.headers = curl_slist_append(s.headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s.headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s.error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &s);
    curl_multi_add_handle(impl_->multi, e);
    ++running;
  };
  const size_t window = static_cast<size_t>(std::max(1, o.max_concurrent));
  while (next < calls.size() && running < window) start(next++);
  while (running > 0) {
    int still = 0;
    curl_multi_perform(impl_->multi, &still);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(impl_->multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Slot* s = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&s));
      if (msg->data.result == CURLE_OK) {
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &s->answer->status);
      } else {
        s->answer->status = 0;
        s->answer->error = s->error[0] ? s->error : curl_easy_strerror(msg->data.result);
      }
      curl_multi_remove_handle(impl_->multi, msg->easy_handle);
      curl_slist_free_all(s->headers);
      s->headers = nullptr;
      impl_->idle.push_back(msg->easy_handle);
      --running;
      if (next < calls.size()) start(next++);
    }
    if (running > 0) curl_multi_poll(impl_->multi, nullptr, 0, 100, nullptr);
  }
  return answers;
}

int64_t RetryAfterMs(const HttpAnswer& a, int64_t now_ms) {
  auto it = a.headers.find("retry-after");
  if (it == a.headers.end() || it->second.empty()) return -1;
  const std::string& v = it->second;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return -1;
    return std::stoll(v) * 1000;
  }
  const time_t t = curl_getdate(v.c_str(), nullptr);
  if (t < 0) return -1;
  return std::max<int64_t>(0, static_cast<int64_t>(t) * 1000 - now_ms);
}

}  // namespace kontor::messaging
