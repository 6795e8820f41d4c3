#include "messaging/provider_health.h"

#include "audit/audit.h"
#include "core/log.h"
#include "http/params.h"

namespace kontor::messaging {
namespace {

// A retryable error (rate limit, outage) is written again only after this
// long: the page shows the latest one, not every one.
constexpr int64_t kErrorWriteEveryMs = 10000;

std::string Describe(const Outcome& o) {
  std::string s = o.error_code;
  if (!o.error_message.empty()) s += (s.empty() ? "" : ": ") + o.error_message;
  if (s.size() > 500) s.resize(500);
  return s;
}

}  // namespace

void ProviderHealth::Report(const std::string& provider, const std::string& channel,
                            const std::vector<Outcome>& outcomes) {
  const Outcome* paused = nullptr;
  const Outcome* retry = nullptr;
  bool sent = false;
  for (const Outcome& o : outcomes) {
    if (o.kind == Outcome::Kind::kPaused && !paused) paused = &o;
    if (o.kind == Outcome::Kind::kRetry && !retry) retry = &o;
    sent |= o.kind == Outcome::Kind::kSent;
  }
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  Known& k = known_[provider];
  if (!k.loaded) {
    auto row =
        db_.QueryRow("SELECT state, paused_reason FROM provider_health WHERE name = ?", {provider});
    if (row.ok() && *row) {
      k.state = (*row)->Str(0);
      k.reason = (*row)->Str(1);
    }
    k.loaded = true;
  }
  std::string state = k.state;
  const Outcome* error = nullptr;
  if (paused) {
    state = "paused";
    error = paused;
    // Still paused: refresh the until-time once per pause period only.
    if (k.state == "paused" && k.reason == Describe(*paused) && now - k.written_at < paused_ms_ / 2)
      return;
  } else if (sent && k.state == "paused") {
    state = "ok";
  } else if (retry && now - k.written_at >= kErrorWriteEveryMs) {
    error = retry;
  } else {
    return;
  }
  Status st = Write(provider, channel, k, state, error, now);
  if (!st.ok()) {
    LogWarn("provider health not recorded", {{"provider", provider}, {"error", st.ToString()}});
    return;
  }
  if (state == "paused" && k.state != "paused") {
    LogError("messaging provider paused: it refused our credentials",
             {{"provider", provider}, {"reason", Describe(*paused)}});
  } else if (state == "ok" && k.state == "paused") {
    LogInfo("messaging provider resumed", {{"provider", provider}});
  }
  k.state = state;
  k.reason = paused ? Describe(*paused) : "";
  k.written_at = now;
}

Status ProviderHealth::Write(const std::string& provider, const std::string& channel,
                             const Known& before, const std::string& state, const Outcome* error,
                             int64_t now) {
  const bool pausing = state == "paused";
  const std::string err = error ? Describe(*error) : "";
  return db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(
        c.Execute("INSERT INTO provider_health (name, channel, state, paused_reason, paused_until, "
                  "last_error, last_error_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (name) DO UPDATE SET channel = excluded.channel, state = "
                  "excluded.state, paused_reason = excluded.paused_reason, paused_until = "
                  "excluded.paused_until, last_error = COALESCE(excluded.last_error, "
                  "provider_health.last_error), last_error_at = COALESCE(excluded.last_error_at, "
                  "provider_health.last_error_at), updated_at = excluded.updated_at",
                  {provider, channel, state, pausing ? store::Value(err) : store::Value(),
                   pausing ? store::Value(now + paused_ms_) : store::Value(),
                   error ? store::Value(err) : store::Value(),
                   error ? store::Value(now) : store::Value(), now})
            .status());
    if (state == before.state) return Status::Ok();
    // The state changed: an operator must see that (and when) in the audit.
    json::object after{{"state", state}};
    if (pausing) {
      after["reason"] = err;
      after["paused_until"] = FormatRfc3339(now + paused_ms_);
    }
    return audit::Record(
        c, audit::Actor::System("messaging dispatcher", now),
        {pausing ? "messaging.provider.paused" : "messaging.provider.resumed", "messaging_provider",
         provider, json::value(json::object{{"state", before.state}}),
         json::value(std::move(after))});
  });
}

Result<json::array> ProviderHealth::List(const std::vector<ConfiguredProvider>& configured) {
  const int64_t now = clock_.NowMs();
  const int64_t hour_ago = now - 3600000;
  json::array out;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    for (const ConfiguredProvider& p : configured) {
      json::object o{{"name", p.name},           {"channel", p.channel},    {"state", "ok"},
                     {"paused_reason", nullptr}, {"paused_until", nullptr}, {"last_error", nullptr},
                     {"last_error_at", nullptr}};
      ASSIGN_OR_RETURN(auto h, c.QueryRow("SELECT state, paused_reason, paused_until, last_error, "
                                          "last_error_at FROM provider_health WHERE name = ?",
                                          {p.name}));
      if (h) {
        o["state"] = h->Str(0);
        o["paused_reason"] = NullOr(h->OptStr(1));
        if (!h->IsNull(2)) o["paused_until"] = FormatRfc3339(h->Int(2));
        o["last_error"] = NullOr(h->OptStr(3));
        if (!h->IsNull(4)) o["last_error_at"] = FormatRfc3339(h->Int(4));
      }
      ASSIGN_OR_RETURN(
          auto n,
          c.QueryRow("SELECT "
                     "SUM(CASE WHEN status IN ('queued', 'sending') THEN 1 ELSE 0 END), "
                     "SUM(CASE WHEN status IN ('sent', 'delivered') AND sent_at >= ? THEN 1 "
                     "ELSE 0 END), "
                     "SUM(CASE WHEN status = 'failed' AND updated_at >= ? THEN 1 ELSE 0 END) "
                     "FROM messages WHERE provider = ? AND channel = ? AND "
                     "(status IN ('queued', 'sending') OR updated_at >= ?)",
                     {hour_ago, hour_ago, p.name, p.channel, hour_ago}));
      for (auto [i, key] : {std::pair{0, "queued"}, {1, "sent_1h"}, {2, "failed_1h"}}) {
        o[key] = n ? n->Int(i) : int64_t{0};
      }
      out.push_back(std::move(o));
    }
    return Status::Ok();
  }));
  return out;
}

void RegisterProviderRoutes(http::Router& router, ProviderHealth& health,
                            std::vector<ConfiguredProvider> configured) {
  router.Add({"GET", "/v1/messaging/providers", http::Access::Read(auth::Component::kMessaging),
              [&health, configured](http::Request& req) -> Result<http::Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {}));
                ASSIGN_OR_RETURN(json::array items, health.List(configured));
                return http::JsonResponse(200, json::object{{"items", std::move(items)}});
              },
              "messaging",
              "The configured providers: state (paused after refused credentials, with reason and "
              "until when), last error, messages queued, sent and failed in the last hour",
              nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array","items":{
         "type":"object","properties":{"name":{"type":"string"},"channel":{"type":"string"},
         "state":{"enum":["ok","paused"]},"paused_reason":{"type":["string","null"]},
         "paused_until":{"type":["string","null"]},"last_error":{"type":["string","null"]},
         "last_error_at":{"type":["string","null"]},"queued":{"type":"integer"},
         "sent_1h":{"type":"integer"},"failed_1h":{"type":"integer"}}}}}})")});
}

}  // namespace kontor::messaging
