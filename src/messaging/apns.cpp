#include "messaging/apns.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

#include "core/jwt.h"

namespace kontor::messaging {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool IsAlert(const Outgoing& m) {
  return !Str(m.content, "title").empty() || !Str(m.content, "body").empty();
}

std::string CollapseId(const Outgoing& m) {
  std::string id = Str(m.content, "collapse_id");
  if (id.empty()) {
    if (const json::value* d = m.content.if_contains("data"); d && d->is_object())
      id = Str(d->get_object(), "collapse_id");
  }
  // APNs refuses longer ones (BadCollapseId); better to send without.
  return id.size() <= 64 ? id : std::string();
}

// Device tokens are hex; anything else would not even make a valid path.
bool IsDeviceToken(const std::string& t) {
  return !t.empty() && t.size() <= 200 &&
         std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isxdigit(c); });
}

}  // namespace

Result<std::shared_ptr<ApnsTokenSource>> ApnsTokenSource::FromFile(const ApnsOptions& options) {
  std::ifstream in(options.key_file);
  if (!in)
    return Status::Validation({{"messaging.apns.key_file", "cannot read " + options.key_file}});
  std::stringstream ss;
  ss << in.rdbuf();
  if (options.key_id.empty())
    return Status::Validation({{"messaging.apns.key_id", "needed with the APNs provider"}});
  if (options.team_id.empty())
    return Status::Validation({{"messaging.apns.team_id", "needed with the APNs provider"}});
  if (options.topic.empty())
    return Status::Validation({{"messaging.apns.topic", "the app's bundle id is needed"}});
  return FromKey(ss.str(), options.key_id, options.team_id);
}

Result<std::shared_ptr<ApnsTokenSource>> ApnsTokenSource::FromKey(std::string pem,
                                                                  std::string key_id,
                                                                  std::string team_id) {
  if (Status st = CheckJwtKey(JwtAlg::kEs256, pem); !st.ok())
    return Status::Validation({{"messaging.apns.key_file", st.message()}});
  std::shared_ptr<ApnsTokenSource> t(new ApnsTokenSource());
  t->pem_ = std::move(pem);
  t->key_id_ = std::move(key_id);
  t->team_id_ = std::move(team_id);
  return t;
}

Result<std::string> ApnsTokenSource::Token(int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!token_.empty() && now_ms - issued_at_ms_ < kReuseMs && now_ms >= issued_at_ms_)
    return token_;
  ASSIGN_OR_RETURN(std::string jwt, SignJwt(JwtAlg::kEs256, pem_, json::object{{"kid", key_id_}},
                                            {{"iss", team_id_}, {"iat", now_ms / 1000}}));
  token_ = std::move(jwt);
  issued_at_ms_ = now_ms;
  return token_;
}

void ApnsTokenSource::Expired(const std::string& token) {
  std::lock_guard lock(mu_);
  if (token == token_) token_.clear();
}

Result<std::unique_ptr<ApnsProvider>> ApnsProvider::Create(
    const ApnsOptions& options, std::shared_ptr<ApnsTokenSource> tokens) {
  std::unique_ptr<ApnsProvider> p(new ApnsProvider());
  p->options_ = options;
  p->tokens_ = std::move(tokens);
  // APNs speaks HTTP/2 only: over TLS by ALPN, or h2c to a plain endpoint.
  p->options_.http.http2 = true;
  p->options_.http.http2_prior_knowledge = options.endpoint.starts_with("http://");
  ASSIGN_OR_RETURN(p->client_, HttpBatchClient::Create(p->options_.http));
  p->base_ = options.endpoint;
  while (!p->base_.empty() && p->base_.back() == '/') p->base_.pop_back();
  p->base_ += "/3/device/";
  return p;
}

json::object ApnsPayload(const Outgoing& m) {
  json::object aps;
  if (IsAlert(m)) {
    json::object alert;
    for (const char* k : {"title", "body"}) {
      if (std::string v = Str(m.content, k); !v.empty()) alert[k] = v;
    }
    aps["alert"] = std::move(alert);
    aps["sound"] = "default";
    // Lets the app's notification service extension fetch the image.
    if (!Str(m.content, "image").empty()) aps["mutable-content"] = 1;
  } else {
    aps["content-available"] = 1;
  }
  json::object payload{{"aps", std::move(aps)}};
  if (const json::value* d = m.content.if_contains("data"); d && d->is_object()) {
    for (const auto& kv : d->get_object()) {
      if (kv.key() != "aps" && kv.value().is_string()) payload[kv.key()] = kv.value();
    }
  }
  for (const char* k : {"link", "image"}) {
    if (std::string v = Str(m.content, k); !v.empty()) payload[k] = v;
  }
  return payload;
}

std::vector<std::string> ApnsHeaders(const Outgoing& m, const ApnsOptions& options,
                                     int64_t now_ms) {
  const bool alert = IsAlert(m);
  std::vector<std::string> h{
      "apns-topic: " + options.topic,
      std::string("apns-push-type: ") + (alert ? "alert" : "background"),
      // Apple: background pushes must have priority 5.
      std::string("apns-priority: ") + (alert ? "10" : "5"),
      "apns-expiration: " +
          std::to_string(options.expiration_s > 0 ? now_ms / 1000 + options.expiration_s : 0),
      "content-type: application/json"};
  if (std::string c = CollapseId(m); !c.empty()) h.push_back("apns-collapse-id: " + c);
  return h;
}

Outcome ApnsOutcome(const HttpAnswer& a, int64_t now_ms) {
  using Kind = Outcome::Kind;
  if (a.status == 0) return Outcome::Error(Kind::kRetry, "transport", a.error);
  if (a.status == 200) {
    auto id = a.headers.find("apns-id");
    return Outcome::Sent(id == a.headers.end() ? std::string() : id->second);
  }
  std::string reason;
  if (auto body = ParseJsonObject(a.body); body.ok()) reason = Str(*body, "reason");
  const std::string code = reason.empty() ? "HTTP_" + std::to_string(a.status) : reason;
  const std::string message =
      "APNs answered " + std::to_string(a.status) + (reason.empty() ? "" : " " + reason);
  if (a.status == 410 || (a.status == 400 && reason == "BadDeviceToken"))
    return Outcome::Error(Kind::kUnregistered, code, message);
  if (a.status == 403) {
    // The caller signs a new token and sends again at once.
    if (reason == "ExpiredProviderToken") return Outcome::Error(Kind::kRetry, code, message);
    return Outcome::Error(Kind::kPaused, code, message);
  }
  if (a.status == 429 || a.status >= 500) {
    Outcome o = Outcome::Error(Kind::kRetry, code, message);
    o.retry_after_ms = RetryAfterMs(a, now_ms);
    return o;
  }
  return Outcome::Error(Kind::kFailed, code, message);
}

std::vector<HttpAnswer> ApnsProvider::Post(const std::vector<Outgoing>& batch,
                                           const std::vector<size_t>& which,
                                           const std::string& token, int64_t now_ms) {
  std::vector<HttpCall> calls(which.size());
  for (size_t k = 0; k < which.size(); ++k) {
    const Outgoing& m = batch[which[k]];
    calls[k].url = base_ + m.recipient;
    calls[k].headers = ApnsHeaders(m, options_, now_ms);
    calls[k].headers.push_back("authorization: bearer " + token);
    calls[k].body = json::serialize(ApnsPayload(m));
  }
  return client_->Perform(calls);
}

std::vector<Outcome> ApnsProvider::Send(const std::vector<Outgoing>& batch) {
  std::vector<Outcome> out(batch.size());
  int64_t now = NowMs();
  Result<std::string> token = tokens_->Token(now);
  if (!token.ok()) {
    for (Outcome& o : out)
      o = Outcome::Error(Outcome::Kind::kPaused, "jwt", token.status().message());
    return out;
  }
  std::vector<size_t> todo;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (IsDeviceToken(batch[i].recipient))
      todo.push_back(i);
    else
      out[i] = Outcome::Error(Outcome::Kind::kUnregistered, "BadDeviceToken",
                              "not an APNs device token (hex)");
  }
  // At most one refresh per call: a second ExpiredProviderToken for a fresh
  // token means our clock is off, which retrying at once would not fix.
  for (int round = 0; round < 2 && !todo.empty(); ++round) {
    std::vector<HttpAnswer> answers = Post(batch, todo, *token, now);
    now = NowMs();
    std::vector<size_t> expired;
    for (size_t k = 0; k < todo.size(); ++k) {
      out[todo[k]] = ApnsOutcome(answers[k], now);
      if (out[todo[k]].error_code == "ExpiredProviderToken") expired.push_back(todo[k]);
    }
    if (expired.empty() || round == 1) break;
    tokens_->Expired(*token);
    token = tokens_->Token(now);
    if (!token.ok()) break;
    todo = std::move(expired);
  }
  return out;
}

}  // namespace kontor::messaging
