#include "core/config.h"

#include <toml++/toml.h>

#include <charconv>
#include <cstdlib>
#include <functional>

namespace kontor {
namespace {

struct Binding {
  ConfigKey key;
  std::function<Status(Config*, const std::string&)> set;
};

template <typename T>
Status ParseInt(const std::string& key, const std::string& v, int64_t lo, int64_t hi, T* out) {
  T x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x < lo || x > hi) {
    return Status::Validation(
        {{key, "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"}});
  }
  *out = x;
  return Status::Ok();
}

#define STR(k, env, doc, field)                          \
  {                                                      \
    {k, env, doc}, [](Config* c, const std::string& v) { \
      c->field = v;                                      \
      return Status::Ok();                               \
    }                                                    \
  }
#define INT(k, env, doc, field, lo, hi)                                                   \
  {                                                                                       \
    {k, env, doc},                                                                        \
        [](Config* c, const std::string& v) { return ParseInt(k, v, lo, hi, &c->field); } \
  }
#define BOOL(k, env, doc, field)                                   \
  {                                                                \
    {k, env, doc}, [](Config* c, const std::string& v) {           \
      if (v == "true" || v == "1")                                 \
        c->field = true;                                           \
      else if (v == "false" || v == "0")                           \
        c->field = false;                                          \
      else                                                         \
        return Status::Validation({{k, "must be true or false"}}); \
      return Status::Ok();                                         \
    }                                                              \
  }

const std::vector<Binding>& Bindings() {
  static const std::vector<Binding> kBindings = {
      STR("listen", "KONTOR_LISTEN", "HOST:PORT the HTTP server binds", listen),
      STR("db", "KONTOR_DB", "sqlite:PATH or postgres://user@host:port/db", db),
      STR("log_level", "KONTOR_LOG_LEVEL", "trace, debug, info, warn, error", log_level),
      STR("log_format", "KONTOR_LOG_FORMAT", "json (one object per line) or text", log_format),
      STR("node_id", "KONTOR_NODE_ID", "name of this node in job leases (default host-pid)",
          node_id),
      INT("http.threads", "KONTOR_HTTP_THREADS", "HTTP event-loop threads (0 = one per CPU core)",
          http.threads, 0, 256),
      INT("http.max_body_bytes", "KONTOR_HTTP_MAX_BODY_BYTES", "largest request body (413 above)",
          http.max_body_bytes, 1024, 1 << 30),
      INT("http.max_header_bytes", "KONTOR_HTTP_MAX_HEADER_BYTES",
          "largest request head (431 above)", http.max_header_bytes, 1024, 1 << 20),
      INT("http.header_timeout_s", "KONTOR_HTTP_HEADER_TIMEOUT_S",
          "time a client has to send the request head", http.header_timeout_s, 1, 3600),
      INT("http.body_timeout_s", "KONTOR_HTTP_BODY_TIMEOUT_S",
          "time a client has to send the whole request", http.body_timeout_s, 1, 3600),
      INT("http.idle_timeout_s", "KONTOR_HTTP_IDLE_TIMEOUT_S",
          "keep-alive idle time before the server closes", http.idle_timeout_s, 1, 3600),
      INT("http.shutdown_grace_s", "KONTOR_HTTP_SHUTDOWN_GRACE_S",
          "time in-flight requests get on SIGTERM", http.shutdown_grace_s, 0, 3600),
      STR("http.web_root", "KONTOR_HTTP_WEB_ROOT", "directory of the built web app served at /",
          http.web_root),
      INT("http.rate_limit_per_s", "KONTOR_HTTP_RATE_LIMIT_PER_S",
          "requests per second per client address (0 = off)", http.rate_limit_per_s, 0, 1000000),
      INT("database.pool_size", "KONTOR_DATABASE_POOL_SIZE", "database connections",
          database.pool_size, 1, 512),
      INT("database.busy_timeout_ms", "KONTOR_DATABASE_BUSY_TIMEOUT_MS", "SQLite busy timeout",
          database.busy_timeout_ms, 0, 600000),
      INT("auth.session_ttl_minutes", "KONTOR_AUTH_SESSION_TTL_MINUTES",
          "web session lifetime since last use", auth.session_ttl_minutes, 1, 525600),
      INT("auth.login_max_failures", "KONTOR_AUTH_LOGIN_MAX_FAILURES",
          "failed logins before lockout", auth.login_max_failures, 1, 1000),
      INT("auth.login_window_minutes", "KONTOR_AUTH_LOGIN_WINDOW_MINUTES",
          "window in which failures are counted", auth.login_window_minutes, 1, 10080),
      INT("auth.lockout_minutes", "KONTOR_AUTH_LOCKOUT_MINUTES", "lockout length",
          auth.lockout_minutes, 1, 10080),
      INT("auth.token_cache_seconds", "KONTOR_AUTH_TOKEN_CACHE_SECONDS",
          "how long another node may keep honouring a revoked token", auth.token_cache_seconds, 0,
          300),
      INT("clients.device_stale_days", "KONTOR_CLIENTS_DEVICE_STALE_DAYS",
          "push tokens not seen for this long are marked stale", clients.device_stale_days, 1,
          3650),
      INT("jobs.workers", "KONTOR_JOBS_WORKERS", "job worker threads", jobs.workers, 0, 256),
      INT("jobs.lease_seconds", "KONTOR_JOBS_LEASE_SECONDS",
          "job lease; a crashed node's job is taken over after it", jobs.lease_seconds, 2, 86400),
      INT("jobs.poll_ms", "KONTOR_JOBS_POLL_MS", "how often idle workers look for due jobs",
          jobs.poll_ms, 10, 60000),
      BOOL("jobs.enabled", "KONTOR_JOBS_ENABLED", "run job workers and schedules in this process",
           jobs.enabled),
      BOOL("webhooks.enabled", "KONTOR_WEBHOOKS_ENABLED",
           "run webhook fan-out and delivery workers in this process", webhooks.enabled),
      INT("webhooks.workers", "KONTOR_WEBHOOKS_WORKERS",
          "webhook delivery threads (each holds one request at a time)", webhooks.workers, 1, 64),
      INT("webhooks.poll_ms", "KONTOR_WEBHOOKS_POLL_MS",
          "how often idle webhook workers look for changes and due deliveries", webhooks.poll_ms,
          10, 60000),
      INT("webhooks.timeout_ms", "KONTOR_WEBHOOKS_TIMEOUT_MS",
          "time an endpoint has to answer a delivery", webhooks.timeout_ms, 100, 120000),
      INT("webhooks.backoff_base_ms", "KONTOR_WEBHOOKS_BACKOFF_BASE_MS",
          "delay before the first retry; doubles per attempt, with jitter",
          webhooks.backoff_base_ms, 1, 86400000),
      INT("webhooks.backoff_max_ms", "KONTOR_WEBHOOKS_BACKOFF_MAX_MS",
          "longest delay between two attempts", webhooks.backoff_max_ms, 1, 604800000),
      INT("webhooks.max_attempts", "KONTOR_WEBHOOKS_MAX_ATTEMPTS",
          "attempts per delivery before it is failed", webhooks.max_attempts, 1, 100),
      INT("webhooks.disable_after_failures", "KONTOR_WEBHOOKS_DISABLE_AFTER_FAILURES",
          "consecutive failed attempts after which an endpoint is disabled",
          webhooks.disable_after_failures, 1, 100000),
      INT("webhooks.retention_days", "KONTOR_WEBHOOKS_RETENTION_DAYS",
          "finished deliveries older than this are deleted (daily job)", webhooks.retention_days, 1,
          3650),
      STR("webhooks.ca_file", "KONTOR_WEBHOOKS_CA_FILE",
          "PEM CA bundle for https endpoints (default: the system store)", webhooks.ca_file),
      BOOL("webhooks.allow_private_networks", "KONTOR_WEBHOOKS_ALLOW_PRIVATE_NETWORKS",
           "deliver to endpoints on loopback, private and link-local addresses (off: refused)",
           webhooks.allow_private_networks),
      BOOL("payments.enabled", "KONTOR_PAYMENTS_ENABLED",
           "run ACH file delivery and the cutoff, returns and settlement jobs in this process",
           payments.enabled),
      INT("payments.same_day_limit_cents", "KONTOR_PAYMENTS_SAME_DAY_LIMIT_CENTS",
          "default same-day ACH limit per entry for new originators, in cents",
          payments.same_day_limit_cents, 1, 100000000000LL),
      INT("payments.entry_max_cents", "KONTOR_PAYMENTS_ENTRY_MAX_CENTS",
          "largest amount of one ACH entry; larger payments are split into linked entries",
          payments.entry_max_cents, 1, 9999999999LL),
      INT("payments.delivery_parallel", "KONTOR_PAYMENTS_DELIVERY_PARALLEL",
          "ACH file uploads at once", payments.delivery_parallel, 1, 200),
      INT("payments.delivery_max_attempts", "KONTOR_PAYMENTS_DELIVERY_MAX_ATTEMPTS",
          "upload attempts per file before it is failed", payments.delivery_max_attempts, 1, 100),
      INT("payments.delivery_backoff_base_ms", "KONTOR_PAYMENTS_DELIVERY_BACKOFF_BASE_MS",
          "delay before the first upload retry; doubles per attempt, with jitter",
          payments.delivery_backoff_base_ms, 1, 86400000),
      INT("payments.delivery_poll_ms", "KONTOR_PAYMENTS_DELIVERY_POLL_MS",
          "how often the uploaders look for due files", payments.delivery_poll_ms, 10, 600000),
      INT("payments.delivery_lease_ms", "KONTOR_PAYMENTS_DELIVERY_LEASE_MS",
          "how long a crashed node's upload stays claimed before another node takes it over "
          "(extended while uploading)",
          payments.delivery_lease_ms, 1000, 3600000),
      BOOL("messaging.enabled", "KONTOR_MESSAGING_ENABLED",
           "run the message dispatcher workers in this process", messaging.enabled),
      STR("messaging.email.provider", "KONTOR_MESSAGING_EMAIL_PROVIDER",
          "where email goes: capture (kept for the web app's outbox) or smtp",
          messaging.email_provider),
      STR("messaging.sms.provider", "KONTOR_MESSAGING_SMS_PROVIDER",
          "where SMS go: capture, twilio, sms_http or webhook", messaging.sms_provider),
      STR("messaging.push.provider", "KONTOR_MESSAGING_PUSH_PROVIDER",
          "where push messages go: capture, fcm, apns or webhook", messaging.push_provider),
      STR("messaging.smtp.url", "KONTOR_MESSAGING_SMTP_URL",
          "SMTP server, smtp://host:port (STARTTLS) or smtps://host:port", messaging.smtp_url),
      STR("messaging.smtp.username", "KONTOR_MESSAGING_SMTP_USERNAME", "SMTP AUTH user (empty: none)",
          messaging.smtp_username),
      STR("messaging.smtp.password", "KONTOR_MESSAGING_SMTP_PASSWORD", "SMTP AUTH password",
          messaging.smtp_password),
      STR("messaging.smtp.from", "KONTOR_MESSAGING_SMTP_FROM", "sender, \"Name <address>\"",
          messaging.smtp_from),
      STR("messaging.smtp.starttls", "KONTOR_MESSAGING_SMTP_STARTTLS",
          "smtp:// only: required, opportunistic or off", messaging.smtp_starttls),
      STR("messaging.smtp.ca_file", "KONTOR_MESSAGING_SMTP_CA_FILE",
          "PEM CA bundle for the SMTP server (default: the system store)", messaging.smtp_ca_file),
      INT("messaging.smtp.timeout_ms", "KONTOR_MESSAGING_SMTP_TIMEOUT_MS",
          "time one email may take to hand over", messaging.smtp_timeout_ms, 100, 600000),
      INT("messaging.workers.alert", "KONTOR_MESSAGING_WORKERS_ALERT",
          "dispatcher threads for alerts", messaging.workers_alert, 0, 64),
      INT("messaging.workers.transactional", "KONTOR_MESSAGING_WORKERS_TRANSACTIONAL",
          "dispatcher threads for transactional messages", messaging.workers_transactional, 0, 64),
      INT("messaging.workers.bulk", "KONTOR_MESSAGING_WORKERS_BULK",
          "dispatcher threads for campaigns", messaging.workers_bulk, 0, 64),
      INT("messaging.poll_ms", "KONTOR_MESSAGING_POLL_MS",
          "how often idle dispatcher threads look for due messages", messaging.poll_ms, 10, 60000),
      INT("messaging.lease_ms", "KONTOR_MESSAGING_LEASE_MS",
          "a crashed worker's batch is sent again after this", messaging.lease_ms, 1000, 3600000),
      INT("messaging.retry_base_ms", "KONTOR_MESSAGING_RETRY_BASE_MS",
          "delay before the first retry; doubles per attempt, with jitter",
          messaging.retry_base_ms, 1, 86400000),
      INT("messaging.retry_max_ms", "KONTOR_MESSAGING_RETRY_MAX_MS",
          "longest delay between two attempts", messaging.retry_max_ms, 1, 604800000),
      STR("messaging.fcm.service_account_file", "KONTOR_MESSAGING_FCM_SERVICE_ACCOUNT_FILE",
          "Google service-account JSON key for FCM HTTP v1", messaging.fcm_service_account_file),
      STR("messaging.fcm.endpoint", "KONTOR_MESSAGING_FCM_ENDPOINT",
          "FCM API base URL", messaging.fcm_endpoint),
      STR("messaging.fcm.ca_file", "KONTOR_MESSAGING_FCM_CA_FILE",
          "PEM CA bundle for the FCM and OAuth token endpoints (default: the system store)",
          messaging.fcm_ca_file),
      BOOL("messaging.fcm.http2_prior_knowledge", "KONTOR_MESSAGING_FCM_HTTP2_PRIOR_KNOWLEDGE",
           "speak HTTP/2 without upgrade to an http:// endpoint", messaging.fcm_http2_prior_knowledge),
      INT("messaging.fcm.max_concurrent", "KONTOR_MESSAGING_FCM_MAX_CONCURRENT",
          "FCM requests in flight per dispatcher thread", messaging.fcm_max_concurrent, 1, 1000),
      INT("messaging.fcm.timeout_ms", "KONTOR_MESSAGING_FCM_TIMEOUT_MS",
          "time one FCM request may take", messaging.fcm_timeout_ms, 100, 120000),
      STR("messaging.public_url", "KONTOR_MESSAGING_PUBLIC_URL",
          "base URL customers reach Kontor at, for preference and unsubscribe links "
          "(https://...; empty: no List-Unsubscribe link)",
          messaging.public_url),
      STR("messaging.preferences.secret", "KONTOR_MESSAGING_PREFERENCES_SECRET",
          "HMAC key of signed preference links (empty: generated once, kept in the database)",
          messaging.preferences_secret),
      INT("messaging.rate_limit.fcm", "KONTOR_MESSAGING_RATE_LIMIT_FCM",
          "FCM messages per minute, all dispatcher threads together (0: no limit)",
          messaging.rate_limit_fcm, 0, 100000000),
      INT("messaging.rate_limit.apns", "KONTOR_MESSAGING_RATE_LIMIT_APNS",
          "APNs messages per minute (0: no limit)", messaging.rate_limit_apns, 0, 100000000),
      INT("messaging.rate_limit.smtp", "KONTOR_MESSAGING_RATE_LIMIT_SMTP",
          "emails per minute through SMTP (0: no limit)", messaging.rate_limit_smtp, 0, 100000000),
      INT("messaging.rate_limit.twilio", "KONTOR_MESSAGING_RATE_LIMIT_TWILIO",
          "SMS per minute through Twilio (0: no limit)", messaging.rate_limit_twilio, 0, 100000000),
      INT("messaging.rate_limit.sms_http", "KONTOR_MESSAGING_RATE_LIMIT_SMS_HTTP",
          "SMS per minute through the HTTP SMS gateway (0: no limit)",
          messaging.rate_limit_sms_http, 0, 100000000),
      STR("messaging.frequency_cap.email", "KONTOR_MESSAGING_FREQUENCY_CAP_EMAIL",
          "at most N marketing emails per customer per window, like 3/24h (empty: no cap)",
          messaging.frequency_cap_email),
      STR("messaging.frequency_cap.sms", "KONTOR_MESSAGING_FREQUENCY_CAP_SMS",
          "at most N marketing SMS per customer per window, like 3/24h (empty: no cap)",
          messaging.frequency_cap_sms),
      STR("messaging.frequency_cap.push", "KONTOR_MESSAGING_FREQUENCY_CAP_PUSH",
          "at most N marketing pushes per customer per window, like 3/24h (empty: no cap)",
          messaging.frequency_cap_push),
      STR("messaging.quiet_hours", "KONTOR_MESSAGING_QUIET_HOURS",
          "no marketing message due in this window of the recipient's local time, like "
          "21:00-08:00; deferred to its end (empty: none)",
          messaging.quiet_hours),
      STR("messaging.push.ios_provider", "KONTOR_MESSAGING_PUSH_IOS_PROVIDER",
          "where push messages to iOS devices go (e.g. apns); empty: messaging.push.provider",
          messaging.push_ios_provider),
      STR("messaging.apns.key_file", "KONTOR_MESSAGING_APNS_KEY_FILE",
          "APNs token-auth key (.p8) from the Apple developer account", messaging.apns_key_file),
      STR("messaging.apns.key_id", "KONTOR_MESSAGING_APNS_KEY_ID", "the .p8 key's id",
          messaging.apns_key_id),
      STR("messaging.apns.team_id", "KONTOR_MESSAGING_APNS_TEAM_ID", "Apple developer team id",
          messaging.apns_team_id),
      STR("messaging.apns.topic", "KONTOR_MESSAGING_APNS_TOPIC", "the iOS app's bundle id",
          messaging.apns_topic),
      STR("messaging.apns.endpoint", "KONTOR_MESSAGING_APNS_ENDPOINT",
          "APNs base URL (sandbox: https://api.sandbox.push.apple.com)", messaging.apns_endpoint),
      STR("messaging.apns.ca_file", "KONTOR_MESSAGING_APNS_CA_FILE",
          "PEM CA bundle for the APNs endpoint (default: the system store)",
          messaging.apns_ca_file),
      INT("messaging.apns.expiration_s", "KONTOR_MESSAGING_APNS_EXPIRATION_S",
          "how long APNs keeps trying an offline device (0: once)", messaging.apns_expiration_s, 0,
          2592000),
      INT("messaging.apns.max_concurrent", "KONTOR_MESSAGING_APNS_MAX_CONCURRENT",
          "APNs requests in flight per dispatcher thread", messaging.apns_max_concurrent, 1, 1000),
      INT("messaging.apns.timeout_ms", "KONTOR_MESSAGING_APNS_TIMEOUT_MS",
          "time one APNs request may take", messaging.apns_timeout_ms, 100, 120000),
      STR("messaging.twilio.url", "KONTOR_MESSAGING_TWILIO_URL", "Twilio API base URL",
          messaging.twilio_url),
      STR("messaging.twilio.account_sid", "KONTOR_MESSAGING_TWILIO_ACCOUNT_SID",
          "Twilio account SID (AC...)", messaging.twilio_account_sid),
      STR("messaging.twilio.auth_token", "KONTOR_MESSAGING_TWILIO_AUTH_TOKEN",
          "Twilio auth token: API password and webhook signing key", messaging.twilio_auth_token),
      STR("messaging.twilio.from", "KONTOR_MESSAGING_TWILIO_FROM",
          "sender number (E.164) or alphanumeric id", messaging.twilio_from),
      STR("messaging.twilio.messaging_service_sid", "KONTOR_MESSAGING_TWILIO_MESSAGING_SERVICE_SID",
          "send through this Messaging Service (MG...) instead of from",
          messaging.twilio_messaging_service_sid),
      STR("messaging.twilio.public_url", "KONTOR_MESSAGING_TWILIO_PUBLIC_URL",
          "Kontor's base URL as Twilio reaches it: status callbacks and signature checks of "
          "/v1/sms/status and /v1/sms/inbound (empty: no callbacks, inbound refused)",
          messaging.twilio_public_url),
      STR("messaging.sms_http.url", "KONTOR_MESSAGING_SMS_HTTP_URL",
          "generic JSON SMS gateway: the send URL", messaging.sms_http_url),
      STR("messaging.sms_http.headers", "KONTOR_MESSAGING_SMS_HTTP_HEADERS",
          "generic gateway: request headers, one \"Name: value\" per line",
          messaging.sms_http_headers),
      STR("messaging.sms_http.body", "KONTOR_MESSAGING_SMS_HTTP_BODY",
          "generic gateway: JSON body template with {{to}} {{from}} {{text}} {{id}}",
          messaging.sms_http_body),
      STR("messaging.sms_http.id_path", "KONTOR_MESSAGING_SMS_HTTP_ID_PATH",
          "generic gateway: dotted path of the message id in the answer",
          messaging.sms_http_id_path),
      STR("messaging.sms_http.from", "KONTOR_MESSAGING_SMS_HTTP_FROM",
          "generic gateway: the sender for {{from}}", messaging.sms_http_from),
      STR("messaging.sms.ca_file", "KONTOR_MESSAGING_SMS_CA_FILE",
          "PEM CA bundle for the SMS provider (default: the system store)", messaging.sms_ca_file),
      INT("messaging.sms.timeout_ms", "KONTOR_MESSAGING_SMS_TIMEOUT_MS",
          "time one SMS request may take", messaging.sms_timeout_ms, 100, 120000),
      STR("messaging.webhook.url", "KONTOR_MESSAGING_WEBHOOK_URL",
          "webhook provider: rendered messages are POSTed here as JSON", messaging.webhook_url),
      STR("messaging.webhook.secret", "KONTOR_MESSAGING_WEBHOOK_SECRET",
          "webhook provider: the Kontor-Signature key", messaging.webhook_secret),
      STR("messaging.webhook.ca_file", "KONTOR_MESSAGING_WEBHOOK_CA_FILE",
          "PEM CA bundle for the webhook provider's URL (default: the system store)",
          messaging.webhook_ca_file),
  };
  return kBindings;
}

#undef STR
#undef INT
#undef BOOL

std::string NodeToString(const toml::node& n) {
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (auto f = n.as_floating_point()) return std::to_string(f->get());
  return "\x01";  // not a scalar: fails every setter's validation
}

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    for (const auto& b : Bindings()) out.push_back(b.key);
    return out;
  }();
  return keys;
}

Status SetConfigValue(Config* c, const std::string& key, const std::string& value) {
  for (const auto& b : Bindings()) {
    if (key == b.key.key) return b.set(c, value);
  }
  return Status::Validation({{key, "unknown configuration key"}});
}

Result<Config> LoadConfig(const std::string& path) {
  Config c;
  if (!path.empty()) {
    toml::table tbl;
    try {
      tbl = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return Status::InvalidArgument(path + ": " + std::string(e.description()));
    }
    std::vector<FieldError> errors;
    std::function<void(const toml::table&, const std::string&)> walk =
        [&](const toml::table& t, const std::string& prefix) {
          for (const auto& [k, v] : t) {
            std::string key =
                prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
            if (auto sub = v.as_table()) {
              walk(*sub, key);
              continue;
            }
            Status st = SetConfigValue(&c, key, NodeToString(v));
            if (!st.ok()) errors.insert(errors.end(), st.fields().begin(), st.fields().end());
          }
        };
    walk(tbl, "");
    if (!errors.empty()) return Status::Validation(errors, path + ": invalid configuration");
  }
  for (const auto& b : Bindings()) {
    if (const char* v = std::getenv(b.key.env)) RETURN_IF_ERROR(b.set(&c, v));
  }
  return c;
}

}  // namespace kontor
