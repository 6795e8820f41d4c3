#include "webhooks/webhooks.h"

#include <algorithm>
#include <boost/url/parse.hpp>

#include "core/crypto.h"
#include "webhooks/events.h"
#include "webhooks/signing.h"

namespace kontor::webhooks {
namespace {

constexpr size_t kMaxUrl = 2048;
constexpr const char* kWebhookColumns =
    "id, url, events, description, enabled, disabled_reason, disabled_at, consecutive_failures, "
    "created_at, updated_at";
constexpr const char* kDeliveryColumns =
    "id, webhook_id, event_id, event_type, status, attempts, next_attempt_at, last_attempt_at, "
    "response_status, error, duration_ms, created_at, request_body, request_headers, "
    "response_body";

Webhook RowToWebhook(const store::Row& r) {
  Webhook w;
  w.id = r.Int(0);
  w.url = r.Str(1);
  w.events = ParseStringArray(r.Str(2));
  w.description = r.Str(3);
  w.enabled = r.Int(4) != 0;
  w.disabled_reason = r.OptStr(5);
  w.disabled_at = r.OptInt(6);
  w.consecutive_failures = r.Int(7);
  w.created_at = r.Int(8);
  w.updated_at = r.Int(9);
  return w;
}

Delivery RowToDelivery(const store::Row& r) {
  Delivery d;
  d.id = r.Int(0);
  d.webhook_id = r.Int(1);
  d.event_id = r.Str(2);
  d.event_type = r.Str(3);
  d.status = r.Str(4);
  d.attempts = r.Int(5);
  d.next_attempt_at = r.OptInt(6);
  d.last_attempt_at = r.OptInt(7);
  d.response_status = r.OptInt(8);
  d.error = r.OptStr(9);
  d.duration_ms = r.OptInt(10);
  d.created_at = r.Int(11);
  d.request_body = r.Str(12);
  d.request_headers = r.OptStr(13);
  d.response_body = r.OptStr(14);
  return d;
}

std::string EventsJson(const std::vector<std::string>& events) {
  json::array a;
  for (const auto& e : events) a.emplace_back(e);
  return json::serialize(a);
}

Result<Webhook> Load(store::Connection& c, int64_t id) {
  ASSIGN_OR_RETURN(
      auto row,
      c.QueryRow(std::string("SELECT ") + kWebhookColumns + " FROM webhooks WHERE id = ?", {id}));
  if (!row) return Status::NotFound("no webhook " + std::to_string(id));
  return RowToWebhook(*row);
}

Result<Delivery> LoadDelivery(store::Connection& c, int64_t id) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kDeliveryColumns +
                                            " FROM webhook_deliveries WHERE id = ?",
                                        {id}));
  if (!row) return Status::NotFound("no delivery " + std::to_string(id));
  return RowToDelivery(*row);
}

}  // namespace

json::object WebhookToJson(const Webhook& w) {
  json::array events;
  for (const auto& e : w.events) events.emplace_back(e);
  return {{"id", std::to_string(w.id)},
          {"url", w.url},
          {"events", std::move(events)},
          {"description", w.description},
          {"enabled", w.enabled},
          {"disabled_reason", NullOr(w.disabled_reason)},
          {"disabled_at", TimeOrNull(w.disabled_at)},
          {"consecutive_failures", w.consecutive_failures},
          {"created_at", FormatRfc3339(w.created_at)},
          {"updated_at", FormatRfc3339(w.updated_at)}};
}

json::object DeliveryToJson(const Delivery& d, bool detail) {
  auto opt_int = [](const std::optional<int64_t>& v) {
    return v ? json::value(*v) : json::value(nullptr);
  };
  json::object o{{"id", std::to_string(d.id)},
                 {"webhook_id", std::to_string(d.webhook_id)},
                 {"event_id", d.event_id},
                 {"event_type", d.event_type},
                 {"status", d.status},
                 {"attempts", d.attempts},
                 {"next_attempt_at", TimeOrNull(d.next_attempt_at)},
                 {"last_attempt_at", TimeOrNull(d.last_attempt_at)},
                 {"response_status", opt_int(d.response_status)},
                 {"error", NullOr(d.error)},
                 {"duration_ms", opt_int(d.duration_ms)},
                 {"created_at", FormatRfc3339(d.created_at)}};
  if (detail) {
    o["request_body"] = d.request_body;
    json::value headers = json::object();
    if (d.request_headers) {
      std::error_code ec;
      json::value v = json::parse(*d.request_headers, ec);
      if (!ec && v.is_object()) headers = std::move(v);
    }
    o["request_headers"] = std::move(headers);
    o["response_body"] = NullOr(d.response_body);
  }
  return o;
}

Status ValidateUrl(const std::string& url, const std::string& field) {
  auto bad = [&](std::string msg) { return Status::Validation({{field, std::move(msg)}}); };
  if (url.size() > kMaxUrl) return bad("must be at most 2048 characters");
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return bad("must be an absolute http or https URL");
  if (u->scheme() != "http" && u->scheme() != "https") return bad("must use http or https");
  if (!u->has_authority() || u->host_address().empty()) return bad("must name a host");
  // The URL is shown to every admin reader; credentials belong in the signature.
  if (u->has_userinfo()) return bad("must not contain credentials");
  if (u->has_fragment()) return bad("must not contain a fragment");
  if (u->has_port() && (u->port().empty() || u->port_number() == 0))
    return bad("has an invalid port");
  return Status::Ok();
}

Result<WebhookInput> ParseWebhookInput(const json::object& body, bool create) {
  JsonReader r(body);
  WebhookInput in;
  in.url = r.String("url", create, kMaxUrl + 1, 1);
  if (in.url) {
    Status st = ValidateUrl(*in.url, "url");
    if (!st.ok()) r.AddError("url", st.fields().front().message);
  }
  if (const json::array* events = r.Array("events", create, 50)) {
    std::vector<std::string> out;
    if (events->empty()) r.AddError("events", "must name at least one event type (or \"*\")");
    for (size_t i = 0; i < events->size(); ++i) {
      const json::value& e = (*events)[i];
      const std::string field = "events[" + std::to_string(i) + "]";
      if (!e.is_string()) {
        r.AddError(field, "must be a string");
        continue;
      }
      std::string type(e.get_string());
      if (type != "*" && !IsEventType(type)) {
        r.AddError(field, "unknown event type " + type + "; see GET /v1/webhooks/events");
        continue;
      }
      if (std::find(out.begin(), out.end(), type) == out.end()) out.push_back(std::move(type));
    }
    in.events = std::move(out);
  }
  in.description = r.String("description", false, 500);
  in.enabled = r.Bool("enabled", false);
  RETURN_IF_ERROR(r.Finish());
  return in;
}

WebhookService::WebhookService(store::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

Result<std::pair<Webhook, std::string>> WebhookService::Create(const audit::Actor& actor,
                                                               const WebhookInput& in) {
  if (!in.url || !in.events) return Status::Internal("webhook create without url or events");
  const std::string secret = NewSecret();
  const bool enabled = in.enabled.value_or(true);
  Result<Webhook> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    // Changes already in the feed happened before the webhook existed.
    ASSIGN_OR_RETURN(auto since, c.QueryRow("SELECT COALESCE(MAX(seq), 0) FROM changes"));
    ASSIGN_OR_RETURN(
        auto ins,
        c.Execute("INSERT INTO webhooks (url, events, description, secret, enabled, disabled_at, "
                  "since_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "RETURNING id",
                  {*in.url, EventsJson(*in.events), in.description.value_or(""), secret, enabled,
                   enabled ? std::optional<int64_t>() : std::optional<int64_t>(actor.now_ms),
                   since->Int(0), actor.now_ms, actor.now_ms}));
    ASSIGN_OR_RETURN(Webhook w, Load(c, ins.rows.front().Int(0)));
    RETURN_IF_ERROR(audit::Record(c, actor,
                                  {"webhook.create", "webhook", std::to_string(w.id), std::nullopt,
                                   json::value(WebhookToJson(w))}));
    out = std::move(w);
    return Status::Ok();
  }));
  return std::make_pair(std::move(*out), secret);
}

Result<Webhook> WebhookService::Get(int64_t id) {
  Result<Webhook> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    out = Load(c, id);
    return Status::Ok();
  }));
  return out;
}

Result<std::pair<std::vector<Webhook>, std::optional<int64_t>>> WebhookService::List(
    std::optional<int64_t> after_id, int limit) {
  ASSIGN_OR_RETURN(auto r, db_.Execute(std::string("SELECT ") + kWebhookColumns +
                                           " FROM webhooks WHERE id > ? ORDER BY id LIMIT ?",
                                       {after_id.value_or(0), static_cast<int64_t>(limit + 1)}));
  std::vector<Webhook> items;
  std::optional<int64_t> next;
  for (size_t i = 0; i < r.rows.size() && static_cast<int>(i) < limit; ++i) {
    items.push_back(RowToWebhook(r.rows[i]));
  }
  if (static_cast<int>(r.rows.size()) > limit) next = items.back().id;
  return std::make_pair(std::move(items), next);
}

Result<Webhook> WebhookService::Update(const audit::Actor& actor, int64_t id,
                                       const WebhookInput& in) {
  Result<Webhook> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Webhook before, Load(c, id));
    Webhook w = before;
    if (in.url) w.url = *in.url;
    if (in.events) w.events = *in.events;
    if (in.description) w.description = *in.description;
    if (in.enabled && *in.enabled && !before.enabled) {
      // Re-arming: the endpoint starts with a clean slate.
      w.enabled = true;
      w.disabled_reason.reset();
      w.disabled_at.reset();
      w.consecutive_failures = 0;
    } else if (in.enabled && !*in.enabled && before.enabled) {
      w.enabled = false;
      w.disabled_reason = "disabled by " + (actor.label.empty() ? actor.type : actor.label);
      w.disabled_at = actor.now_ms;
    }
    const bool changed = w.url != before.url || w.events != before.events ||
                         w.description != before.description || w.enabled != before.enabled;
    if (!changed) {
      out = std::move(before);
      return Status::Ok();
    }
    RETURN_IF_ERROR(
        c.Execute("UPDATE webhooks SET url = ?, events = ?, description = ?, "
                  "enabled = ?, disabled_reason = ?, disabled_at = ?, "
                  "consecutive_failures = ?, updated_at = ? WHERE id = ?",
                  {w.url, EventsJson(w.events), w.description, w.enabled, w.disabled_reason,
                   w.disabled_at, w.consecutive_failures, actor.now_ms, id})
            .status());
    if (w.enabled && !before.enabled) {
      // What changed while it was disabled is not sent after the fact.
      RETURN_IF_ERROR(c.Execute("UPDATE webhooks SET since_seq = (SELECT COALESCE(MAX(seq), 0) "
                                "FROM changes) WHERE id = ?",
                                {id})
                          .status());
    }
    ASSIGN_OR_RETURN(Webhook now, Load(c, id));
    RETURN_IF_ERROR(
        audit::Record(c, actor,
                      {"webhook.update", "webhook", std::to_string(id),
                       json::value(WebhookToJson(before)), json::value(WebhookToJson(now))}));
    out = std::move(now);
    return Status::Ok();
  }));
  return out;
}

Status WebhookService::Delete(const audit::Actor& actor, int64_t id) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Webhook before, Load(c, id));
    RETURN_IF_ERROR(c.Execute("DELETE FROM webhook_attempts WHERE delivery_id IN "
                              "(SELECT id FROM webhook_deliveries WHERE webhook_id = ?)",
                              {id})
                        .status());
    RETURN_IF_ERROR(
        c.Execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", {id}).status());
    RETURN_IF_ERROR(c.Execute("DELETE FROM webhooks WHERE id = ?", {id}).status());
    return audit::Record(c, actor,
                         {"webhook.delete", "webhook", std::to_string(id),
                          json::value(WebhookToJson(before)), std::nullopt});
  });
}

Result<std::string> WebhookService::RotateSecret(const audit::Actor& actor, int64_t id) {
  const std::string secret = NewSecret();
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(Load(c, id).status());
    RETURN_IF_ERROR(c.Execute("UPDATE webhooks SET secret = ?, updated_at = ? WHERE id = ?",
                              {secret, actor.now_ms, id})
                        .status());
    // That and when, never the secret.
    return audit::Record(
        c, actor,
        {"webhook.rotate_secret", "webhook", std::to_string(id), std::nullopt, std::nullopt});
  }));
  return secret;
}

Result<Delivery> WebhookService::SendTest(const audit::Actor& actor, int64_t id) {
  Result<Delivery> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(Load(c, id).status());
    Event e;
    e.id = "evt_ping_" + HexEncode(RandomBytes(8));
    e.type = "ping";
    e.created_at = actor.now_ms;
    e.data = {{"webhook_id", std::to_string(id)}, {"message", "Test event from Kontor"}};
    ASSIGN_OR_RETURN(
        auto ins,
        c.Execute("INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, status, "
                  "attempts, max_attempts, next_attempt_at, request_body, created_at) "
                  "VALUES (?, ?, 'ping', 'pending', 0, 1, ?, ?, ?) RETURNING id",
                  {id, e.id, actor.now_ms, EventBody(e), actor.now_ms}));
    ASSIGN_OR_RETURN(Delivery d, LoadDelivery(c, ins.rows.front().Int(0)));
    RETURN_IF_ERROR(audit::Record(c, actor,
                                  {"webhook.test", "webhook", std::to_string(id), std::nullopt,
                                   json::value(json::object{{"delivery_id", std::to_string(d.id)},
                                                            {"event_id", d.event_id}})}));
    out = std::move(d);
    return Status::Ok();
  }));
  return out;
}

Result<Delivery> WebhookService::Retry(const audit::Actor& actor, int64_t delivery_id) {
  Result<Delivery> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Delivery d, LoadDelivery(c, delivery_id));
    ASSIGN_OR_RETURN(Webhook w, Load(c, d.webhook_id));
    if (!w.enabled && d.event_type != "ping") {
      return Status::FailedPrecondition("webhook " + std::to_string(w.id) +
                                        " is disabled; enable it before retrying its deliveries");
    }
    ASSIGN_OR_RETURN(auto lease, c.QueryRow("SELECT lease_expires_at FROM webhook_deliveries "
                                            "WHERE id = ? AND lease_owner IS NOT NULL",
                                            {delivery_id}));
    if (lease && lease->Int(0) >= clock_.NowMs()) {
      return Status::FailedPrecondition("delivery " + std::to_string(delivery_id) +
                                        " is being attempted right now");
    }
    // One more attempt, now, whatever the delivery's state.
    RETURN_IF_ERROR(c.Execute("UPDATE webhook_deliveries SET status = 'pending', "
                              "next_attempt_at = ?, max_attempts = attempts + 1 WHERE id = ?",
                              {actor.now_ms, delivery_id})
                        .status());
    ASSIGN_OR_RETURN(Delivery now, LoadDelivery(c, delivery_id));
    RETURN_IF_ERROR(audit::Record(
        c, actor,
        {"webhook.retry", "webhook", std::to_string(w.id),
         json::value(json::object{{"delivery_id", std::to_string(d.id)}, {"status", d.status}}),
         json::value(
             json::object{{"delivery_id", std::to_string(d.id)}, {"status", now.status}})}));
    out = std::move(now);
    return Status::Ok();
  }));
  return out;
}

Result<std::pair<std::vector<Delivery>, std::optional<int64_t>>> WebhookService::ListDeliveries(
    const DeliveryFilter& f) {
  RETURN_IF_ERROR(Get(f.webhook_id).status());
  std::string sql =
      std::string("SELECT ") + kDeliveryColumns + " FROM webhook_deliveries WHERE webhook_id = ?";
  store::Params p{f.webhook_id};
  if (f.status) {
    sql += " AND status = ?";
    p.emplace_back(*f.status);
  }
  if (f.before_id) {
    sql += " AND id < ?";
    p.emplace_back(*f.before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  p.emplace_back(static_cast<int64_t>(f.limit + 1));
  ASSIGN_OR_RETURN(auto r, db_.Execute(sql, p));
  std::vector<Delivery> items;
  std::optional<int64_t> next;
  for (size_t i = 0; i < r.rows.size() && static_cast<int>(i) < f.limit; ++i) {
    items.push_back(RowToDelivery(r.rows[i]));
  }
  if (static_cast<int>(r.rows.size()) > f.limit) next = items.back().id;
  return std::make_pair(std::move(items), next);
}

Result<Delivery> WebhookService::GetDelivery(int64_t id) {
  Result<Delivery> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    out = LoadDelivery(c, id);
    return Status::Ok();
  }));
  return out;
}

Result<json::array> WebhookService::AttemptLog(int64_t delivery_id) {
  ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT attempt, at, response_status, error, duration_ms "
                                       "FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
                                       {delivery_id}));
  json::array out;
  for (const auto& row : r.rows) {
    out.push_back(
        {{"attempt", row.Int(0)},
         {"at", FormatRfc3339(row.Int(1))},
         {"response_status", row.IsNull(2) ? json::value(nullptr) : json::value(row.Int(2))},
         {"error", NullOr(row.OptStr(3))},
         {"duration_ms", row.Int(4)}});
  }
  return out;
}

}  // namespace kontor::webhooks
