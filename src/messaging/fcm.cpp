#include "messaging/fcm.h"

#include <cctype>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/jwt.h"

namespace kontor::messaging {
namespace {

constexpr const char* kScope = "https://www.googleapis.com/auth/firebase.messaging";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string Str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

Result<std::shared_ptr<GoogleTokenSource>> GoogleTokenSource::FromFile(
    const std::string& path, const HttpBatchOptions& http) {
  std::ifstream in(path);
  if (!in)
    return Status::Validation({{"messaging.fcm.service_account_file", "cannot read " + path}});
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseJsonObject(ss.str());
  if (!parsed.ok())
    return Status::Validation({{"messaging.fcm.service_account_file", "not a JSON object"}});
  std::shared_ptr<GoogleTokenSource> t(new GoogleTokenSource());
  t->project_id_ = Str(*parsed, "project_id");
  t->client_email_ = Str(*parsed, "client_email");
  t->private_key_ = Str(*parsed, "private_key");
  t->private_key_id_ = Str(*parsed, "private_key_id");
  t->token_uri_ = Str(*parsed, "token_uri");
  if (t->token_uri_.empty()) t->token_uri_ = "https://oauth2.googleapis.com/token";
  for (const auto& [name, value] : {std::pair{"project_id", &t->project_id_},
                                    {"client_email", &t->client_email_},
                                    {"private_key", &t->private_key_}}) {
    if (value->empty())
      return Status::Validation(
          {{"messaging.fcm.service_account_file", std::string("has no ") + name}});
  }
  if (Status st = CheckJwtKey(JwtAlg::kRs256, t->private_key_); !st.ok())
    return Status::Validation({{"messaging.fcm.service_account_file", st.message()}});
  t->http_ = http;
  t->http_.max_concurrent = 1;
  // The token endpoint is plain HTTPS (or HTTP/1.1 for a local one).
  t->http_.http2_prior_knowledge = false;
  ASSIGN_OR_RETURN(t->client_, HttpBatchClient::Create(t->http_));
  return t;
}

void GoogleTokenSource::Invalidate() {
  std::lock_guard lock(mu_);
  token_.clear();
  expires_at_ms_ = 0;
}

Result<std::string> GoogleTokenSource::Token(int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!token_.empty() && now_ms < expires_at_ms_) return token_;
  const int64_t iat = now_ms / 1000;
  json::object header;
  if (!private_key_id_.empty()) header["kid"] = private_key_id_;
  ASSIGN_OR_RETURN(std::string jwt, SignJwt(JwtAlg::kRs256, private_key_, header,
                                            {{"iss", client_email_},
                                             {"scope", kScope},
                                             {"aud", token_uri_},
                                             {"iat", iat},
                                             {"exp", iat + 3600}}));
  HttpCall call;
  call.url = token_uri_;
  call.headers = {"Content-Type: application/x-www-form-urlencoded"};
  call.body = "grant_type=" + FormEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
              "&assertion=" + FormEncode(jwt);
  HttpAnswer a = client_->Perform({call})[0];
  if (a.status == 0) return Status::Unavailable("token endpoint: " + a.error);
  auto body = ParseJsonObject(a.body);
  if (a.status != 200 || !body.ok()) {
    std::string why = body.ok() ? Str(*body, "error") + ": " + Str(*body, "error_description")
                                : a.body.substr(0, 200);
    return Status::PermissionDenied("token endpoint answered " + std::to_string(a.status) + ": " +
                                    why);
  }
  token_ = Str(*body, "access_token");
  int64_t expires_in = 3600;
  if (const json::value* e = body->if_contains("expires_in"); e && e->is_int64())
    expires_in = e->get_int64();
  if (token_.empty()) return Status::PermissionDenied("token endpoint gave no access_token");
  // A minute early, so a token never expires between check and use.
  expires_at_ms_ = now_ms + std::max<int64_t>(0, expires_in - 60) * 1000;
  return token_;
}

Result<std::unique_ptr<FcmProvider>> FcmProvider::Create(
    const FcmOptions& options, std::shared_ptr<GoogleTokenSource> tokens) {
  std::unique_ptr<FcmProvider> p(new FcmProvider());
  p->options_ = options;
  p->tokens_ = std::move(tokens);
  ASSIGN_OR_RETURN(p->client_, HttpBatchClient::Create(options.http));
  std::string endpoint = options.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  p->url_ = endpoint + "/v1/projects/" + p->tokens_->project_id() + "/messages:send";
  return p;
}

json::object FcmRequest(const Outgoing& m) {
  json::object message{{"token", m.recipient}};
  json::object notification;
  for (const char* k : {"title", "body", "image"}) {
    if (std::string v = Str(m.content, k); !v.empty()) notification[k] = v;
  }
  const bool background = notification.empty();
  if (!background) message["notification"] = std::move(notification);
  json::object data;
  if (const json::value* d = m.content.if_contains("data"); d && d->is_object()) {
    for (const auto& kv : d->get_object()) {
      if (kv.value().is_string()) data[kv.key()] = kv.value();
    }
  }
  if (std::string link = Str(m.content, "link"); !link.empty()) data["link"] = link;
  if (!data.empty()) message["data"] = std::move(data);
  message["android"] = json::object{{"priority", "HIGH"}};
  // A data message reaches an iOS app only as a background push, which
  // Apple requires at priority 5 with content-available.
  if (background) {
    message["apns"] = json::object{
        {"headers", json::object{{"apns-priority", "5"}, {"apns-push-type", "background"}}},
        {"payload", json::object{{"aps", json::object{{"content-available", 1}}}}}};
  } else {
    message["apns"] = json::object{{"headers", json::object{{"apns-priority", "10"}}}};
  }
  return json::object{{"message", std::move(message)}};
}

Outcome FcmOutcome(const HttpAnswer& a, int64_t now_ms) {
  using Kind = Outcome::Kind;
  if (a.status == 0) return Outcome::Error(Kind::kRetry, "transport", a.error);
  auto body = ParseJsonObject(a.body);
  if (a.status == 200) {
    std::string name = body.ok() ? Str(*body, "name") : "";
    return Outcome::Sent(name);
  }
  std::string status, code, message = a.body.substr(0, 300);
  if (body.ok()) {
    if (const json::value* e = body->if_contains("error"); e && e->is_object()) {
      const json::object& err = e->get_object();
      status = Str(err, "status");
      message = Str(err, "message");
      if (const json::value* details = err.if_contains("details"); details && details->is_array()) {
        for (const json::value& d : details->get_array()) {
          if (d.is_object() && !Str(d.get_object(), "errorCode").empty())
            code = Str(d.get_object(), "errorCode");
        }
      }
    }
  }
  if (code.empty()) code = status;
  if (code.empty()) code = "HTTP_" + std::to_string(a.status);
  Outcome o;
  if (code == "UNREGISTERED") {
    o = Outcome::Error(Kind::kUnregistered, code, message);
  } else if (code == "INVALID_ARGUMENT" || code == "SENDER_ID_MISMATCH" ||
             (a.status == 400 && status.empty())) {
    o = Outcome::Error(Kind::kFailed, code, message);
  } else if (code == "THIRD_PARTY_AUTH_ERROR" || code == "UNAUTHENTICATED" ||
             code == "PERMISSION_DENIED" || a.status == 401 || a.status == 403) {
    o = Outcome::Error(Kind::kPaused, code, message);
  } else {
    // QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL, other 5xx and anything unknown.
    o = Outcome::Error(Kind::kRetry, code, message);
    o.retry_after_ms = RetryAfterMs(a, now_ms);
  }
  return o;
}

std::vector<Outcome> FcmProvider::Send(const std::vector<Outgoing>& batch) {
  std::vector<Outcome> out;
  out.reserve(batch.size());
  Result<std::string> token = tokens_->Token(NowMs());
  if (!token.ok()) {
    for (size_t i = 0; i < batch.size(); ++i)
      out.push_back(Outcome::Error(Outcome::Kind::kPaused, "oauth", token.status().message()));
    return out;
  }
  std::vector<HttpCall> calls(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    calls[i].url = url_;
    calls[i].headers = {"Authorization: Bearer " + *token,
                        "Content-Type: application/json; charset=UTF-8"};
    calls[i].body = json::serialize(FcmRequest(batch[i]));
  }
  std::vector<HttpAnswer> answers = client_->Perform(calls);
  const int64_t now = NowMs();
  bool unauthenticated = false;
  for (const HttpAnswer& a : answers) {
    out.push_back(FcmOutcome(a, now));
    unauthenticated |= a.status == 401;
  }
  // The token may have been revoked or have expired early: get a new one
  // before the paused messages come round again.
  if (unauthenticated) tokens_->Invalidate();
  return out;
}

}  // namespace kontor::messaging
