#include "app/app.h"

#include <unistd.h>

#include <thread>

#include "audit/api.h"
#include "auth/api.h"
#include "clients/api.h"
#include "clients/import_api.h"
#include "core/log.h"
#include "http/system_api.h"
#include "jobs/api.h"
#include "messaging/api.h"
#include "messaging/campaign_api.h"
#include "messaging/events_api.h"
#include "messaging/fcm.h"
#include "messaging/preferences_api.h"
#include "messaging/provider_setup.h"
#include "messaging/sms_api.h"
#include "messaging/smtp.h"
#include "payments/api.h"
#include "store/migrate.h"
#include "webhooks/api.h"

namespace kontor {

Result<std::unique_ptr<store::Database>> OpenDatabase(const Config& config) {
  store::DatabaseOptions opts{config.database.pool_size, config.database.busy_timeout_ms};
  ASSIGN_OR_RETURN(auto db, store::Database::Open(config.db, opts));
  ASSIGN_OR_RETURN(int applied, store::Migrate(*db));
  (void)applied;
  return db;
}

App::App(Config config, std::unique_ptr<store::Database> db, const Clock& clock)
    : config_(std::move(config)), db_(std::move(db)), clock_(clock) {
  auth::AuthOptions ao{config_.auth.session_ttl_minutes, config_.auth.login_max_failures,
                       config_.auth.login_window_minutes, config_.auth.lockout_minutes,
                       config_.auth.token_cache_seconds};
  auth_ = std::make_unique<auth::AuthService>(*db_, clock_, ao);
  jobs::Options jo;
  jo.node_id = config_.node_id.empty() ? [] {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    return std::string(host) + "-" + std::to_string(getpid());
  }() : config_.node_id;
  jo.workers = config_.jobs.workers;
  jo.lease_ms = int64_t{config_.jobs.lease_seconds} * 1000;
  jo.poll_ms = config_.jobs.poll_ms;
  jobs_ = std::make_unique<jobs::JobService>(*db_, clock_, jo);
  customers_ = std::make_unique<clients::CustomerService>(*db_);
  subscriptions_ = std::make_unique<clients::SubscriptionService>(*db_);
  devices_ = std::make_unique<clients::DeviceService>(*db_);
  lists_ = std::make_unique<clients::ListService>(*db_);
  segments_ = std::make_unique<clients::SegmentService>(*db_);
  imports_ =
      std::make_unique<clients::ImportService>(*db_, clock_, *customers_, *subscriptions_, *jobs_);
  webhooks_ = std::make_unique<webhooks::WebhookService>(*db_, clock_);
  const auto& pc = config_.payments;
  payment_registry_ = std::make_unique<payments::Registry>(*db_, clock_, pc.same_day_limit_cents);
  payments_ = std::make_unique<payments::PaymentService>(
      *db_, clock_, *payment_registry_, payments::PaymentOptions{pc.entry_max_cents, 365});
  payment_uploads_ = std::make_unique<payments::UploadService>(*db_, clock_, *payments_);
  payments::DeliveryOptions dopt;
  dopt.parallel = pc.delivery_parallel;
  dopt.max_attempts = pc.delivery_max_attempts;
  dopt.backoff_base_ms = pc.delivery_backoff_base_ms;
  dopt.lease_ms = pc.delivery_lease_ms;
  dopt.node_id = jobs_->node_id();
  ach_files_ =
      std::make_unique<payments::FileService>(*db_, clock_, *payment_registry_, *payments_, dopt);
  payment_returns_ =
      std::make_unique<payments::ReturnService>(*db_, clock_, *payment_registry_, *payments_);
}

App::~App() = default;

Status App::Init() {
  RETURN_IF_ERROR(auth_->SeedRoles());
  ASSIGN_OR_RETURN(webhook_client_,
                   webhooks::HttpClient::Create(config_.webhooks.ca_file,
                                                config_.webhooks.allow_private_networks));
  {
    const auto& wc = config_.webhooks;
    webhooks::Options wo;
    wo.max_attempts = wc.max_attempts;
    wo.backoff_base_ms = wc.backoff_base_ms;
    wo.backoff_max_ms = wc.backoff_max_ms;
    wo.timeout_ms = wc.timeout_ms;
    wo.disable_after_failures = wc.disable_after_failures;
    wo.poll_ms = wc.poll_ms;
    wo.workers = wc.workers;
    wo.node_id = jobs_->node_id();
    webhook_outbox_ = std::make_unique<webhooks::Outbox>(*db_, clock_, *webhook_client_, wo);
  }
  {
    const auto& mc = config_.messaging;
    for (const auto& [key, name] : {std::pair{"messaging.email.provider", mc.email_provider},
                                    {"messaging.sms.provider", mc.sms_provider},
                                    {"messaging.push.provider", mc.push_provider},
                                    {"messaging.push.ios_provider", mc.push_ios_provider}}) {
      const std::string k = key;
      const std::string channel = k == "messaging.email.provider" ? "email"
                                  : k == "messaging.sms.provider" ? "sms"
                                                                  : "push";
      const bool known = name == "capture" || (name == "smtp" && channel == "email") ||
                         (name == "fcm" && channel == "push") ||
                         messaging::ProviderSet::Serves(name, channel) ||
                         (name.empty() && k == "messaging.push.ios_provider");
      if (!known) return Status::Validation({{key, "unknown provider " + name}});
    }
    ASSIGN_OR_RETURN(
        std::shared_ptr<messaging::ProviderSet> more,
        messaging::ProviderSet::Create(mc, [this](const std::string& phone) {
          // The carrier says the number sent STOP (Twilio 21610).
          auto n = messaging::SetSmsConsentByPhone(
              *db_, *customers_,
              audit::Actor::System("SMS provider: recipient unsubscribed", clock_.NowMs()), phone,
              false, "sms_stop");
          if (!n.ok()) LogWarn("sms consent not withdrawn", {{"error", n.status().ToString()}});
        }));
    messaging::SmtpOptions smtp{mc.smtp_url,     mc.smtp_username, mc.smtp_password,
                                mc.smtp_from,    mc.smtp_starttls, mc.smtp_ca_file,
                                mc.smtp_timeout_ms};
    if (mc.email_provider == "smtp") RETURN_IF_ERROR(messaging::SmtpProvider::Create(smtp).status());
    messaging::FcmOptions fcm;
    fcm.service_account_file = mc.fcm_service_account_file;
    fcm.endpoint = mc.fcm_endpoint;
    fcm.http.ca_file = mc.fcm_ca_file;
    fcm.http.http2_prior_knowledge = mc.fcm_http2_prior_knowledge;
    fcm.http.max_concurrent = mc.fcm_max_concurrent;
    fcm.http.timeout_ms = mc.fcm_timeout_ms;
    // One token cache for every worker: one service account, one token.
    std::shared_ptr<messaging::GoogleTokenSource> google;
    if (mc.push_provider == "fcm" || mc.push_ios_provider == "fcm") {
      ASSIGN_OR_RETURN(google, messaging::GoogleTokenSource::FromFile(fcm.service_account_file,
                                                                      fcm.http));
    }
    messaging::ProviderFactory factory =
        [smtp, fcm, google,
         more](const std::string& name) -> Result<std::unique_ptr<messaging::Provider>> {
      if (name == "fcm" && google) {
        ASSIGN_OR_RETURN(auto p, messaging::FcmProvider::Create(fcm, google));
        return std::unique_ptr<messaging::Provider>(std::move(p));
      }
      if (name == "smtp") {
        ASSIGN_OR_RETURN(auto p, messaging::SmtpProvider::Create(smtp));
        return std::unique_ptr<messaging::Provider>(std::move(p));
      }
      if (name == "capture") {
        // One capture provider serves every channel: it only accepts.
        return std::unique_ptr<messaging::Provider>(
            std::make_unique<messaging::CaptureProvider>("any"));
      }
      return more->Make(name);
    };
    messaging::DispatcherOptions dopt;
    dopt.node_id = jobs_->node_id();
    dopt.workers = {{"alert", mc.workers_alert},
                    {"transactional", mc.workers_transactional},
                    {"bulk", mc.workers_bulk}};
    dopt.poll_ms = mc.poll_ms;
    dopt.lease_ms = mc.lease_ms;
    dopt.retry.base_ms = mc.retry_base_ms;
    dopt.retry.max_ms = mc.retry_max_ms;
    dopt.rate_limits = std::make_shared<messaging::ProviderRateLimits>(std::map<std::string, int64_t>{
        {"fcm", mc.rate_limit_fcm},
        {"apns", mc.rate_limit_apns},
        {"smtp", mc.rate_limit_smtp},
        {"twilio", mc.rate_limit_twilio},
        {"sms_http", mc.rate_limit_sms_http}});
    provider_health_ =
        std::make_unique<messaging::ProviderHealth>(*db_, clock_, dopt.retry.paused_ms);
    dopt.report = [h = provider_health_.get()](const std::string& provider,
                                               const std::string& channel,
                                               const std::vector<messaging::Outcome>& outcomes) {
      h->Report(provider, channel, outcomes);
    };
    message_outbox_ = std::make_unique<messaging::Outbox>(*db_, dopt.node_id);
    message_templates_ = std::make_unique<messaging::TemplateStore>(*db_);
    message_dispatcher_ =
        std::make_unique<messaging::Dispatcher>(*db_, clock_, std::move(factory), dopt);
    messages_ = std::make_unique<messaging::MessageService>(
        *db_, clock_,
        messaging::ChannelProviders{mc.email_provider, mc.sms_provider, mc.push_provider,
                                    mc.push_ios_provider},
        [d = message_dispatcher_.get()] { d->Kick(); });
    messaging::CampaignOptions co;
    for (const auto& [channel, text] : {std::pair{"email", mc.frequency_cap_email},
                                        {"sms", mc.frequency_cap_sms},
                                        {"push", mc.frequency_cap_push}}) {
      Result<messaging::FrequencyCap> cap = messaging::ParseFrequencyCap(text);
      if (!cap.ok())
        return Status::Validation(
            {{std::string("messaging.frequency_cap.") + channel, cap.status().message()}});
      if (cap->enabled()) co.policy.caps[channel] = *cap;
    }
    Result<messaging::QuietHours> quiet = messaging::ParseQuietHours(mc.quiet_hours);
    if (!quiet.ok()) return Status::Validation({{"messaging.quiet_hours", quiet.status().message()}});
    co.policy.quiet = *quiet;
    campaigns_ = std::make_unique<messaging::CampaignService>(
        *db_, clock_, *jobs_,
        messaging::ChannelProviders{mc.email_provider, mc.sms_provider, mc.push_provider,
                                    mc.push_ios_provider},
        co, [d = message_dispatcher_.get()] { d->Kick(); });
    event_writer_ = std::make_unique<messaging::EventWriter>(*db_, clock_);
    triggers_ = std::make_unique<messaging::TriggerStore>(*db_);
    event_processor_ = std::make_unique<messaging::EventProcessor>(
        *db_, clock_,
        messaging::ChannelProviders{mc.email_provider, mc.sms_provider, mc.push_provider,
                                    mc.push_ios_provider},
        [d = message_dispatcher_.get()] { d->Kick(); });
    event_writer_->set_on_commit([p = event_processor_.get()] { p->Kick(); });
    ASSIGN_OR_RETURN(std::string secret,
                     messaging::PreferencesSecret(*db_, mc.preferences_secret));
    messaging::SetProcessPreferenceLinks(
        std::make_unique<messaging::PreferenceLinks>(secret, mc.public_url));
  }
  RegisterJobKinds();
  // Periodic housekeeping; EnsureSchedule is idempotent across nodes.
  RETURN_IF_ERROR(
      jobs_->EnsureSchedule("system.cleanup", "system.cleanup", "17 * * * *", "UTC", {}));
  RETURN_IF_ERROR(jobs_->EnsureSchedule("clients.devices.stale", "clients.devices.stale",
                                        "30 3 * * *", "UTC", {}));
  RETURN_IF_ERROR(
      jobs_->EnsureSchedule("webhooks.prune", "webhooks.prune", "45 3 * * *", "UTC", {}));
  // Every minute: cutoffs are minute-exact, each originator has its own.
  RETURN_IF_ERROR(jobs_->EnsureSchedule("payments.build_files", "payments.build_files", "* * * * *",
                                        "UTC", {}));
  RETURN_IF_ERROR(jobs_->EnsureSchedule("payments.fetch_returns", "payments.fetch_returns",
                                        "*/15 * * * *", "UTC", {}));
  RETURN_IF_ERROR(
      jobs_->EnsureSchedule("payments.settle", "payments.settle", "5 * * * *", "UTC", {}));

  http::RegisterSystemRoutes(router_, *db_, metrics_, KONTOR_VERSION);
  auth::RegisterRoutes(router_, *auth_);
  audit::RegisterRoutes(router_, *db_);
  jobs::RegisterRoutes(router_, *db_, *jobs_);
  // Before the client hub routes: /v1/customers/export.csv must not be taken for a customer id.
  clients::RegisterImportRoutes(router_, *db_, *imports_);
  clients::RegisterRoutes(router_, *db_, *customers_, *subscriptions_, *devices_, *lists_,
                          *segments_);
  webhooks::RegisterRoutes(router_, *webhooks_, *webhook_outbox_);
  payments::RegisterRoutes(
      router_, {*payment_registry_, *payments_, *payment_uploads_, *ach_files_, *payment_returns_});
  messaging::RegisterRoutes(router_, *db_, *messages_, *message_outbox_, *message_templates_);
  messaging::RegisterCampaignRoutes(router_, *campaigns_);
  messaging::RegisterEventRoutes(router_, *db_, *event_writer_, *triggers_, *message_outbox_);
  messaging::RegisterPreferenceRoutes(router_, *db_, *customers_);
  messaging::RegisterProviderRoutes(router_, *provider_health_,
                                    messaging::ProviderSet::Configured(config_.messaging));
  messaging::RegisterSmsRoutes(
      router_, *db_, *customers_,
      {config_.messaging.twilio_auth_token, config_.messaging.twilio_public_url});

  metrics_.AddGauge("kontor_jobs", "Jobs by state (queue depth: state=\"queued\").", [this] {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [state, n] : jobs_->CountByState()) {
      out.emplace_back("state=\"" + state + "\"", static_cast<double>(n));
    }
    return out;
  });
  static_files_ = std::make_unique<http::StaticFiles>(config_.http.web_root);
  dispatcher_ = std::make_unique<http::Dispatcher>(
      router_, *auth_, metrics_, clock_,
      http::DispatcherOptions{config_.http.rate_limit_per_s, true}, static_files_.get());
  return Status::Ok();
}

namespace {

Status NoPayload(const json::object& p) {
  return p.empty() ? Status::Ok() : Status::Validation({{"payload", "takes no payload"}});
}

}  // namespace

void App::RegisterJobKinds() {
  jobs_->RegisterKind(imports_->JobKind());
  jobs_->RegisterKind(campaigns_->JobKind());
  struct DemoPayload {
    int64_t steps = 20, step_ms = 200;
  };
  auto read_demo = [](const json::object& payload) -> Result<DemoPayload> {
    JsonReader r(payload, "payload.");
    DemoPayload d;
    d.steps = r.Int("steps", false, 1, 1000).value_or(d.steps);
    d.step_ms = r.Int("step_ms", false, 0, 10000).value_or(d.step_ms);
    RETURN_IF_ERROR(r.Finish());
    return d;
  };
  jobs_->RegisterKind({"demo.progress", "Counts to payload.steps, one step every payload.step_ms",
                       [read_demo](jobs::JobContext& ctx) -> Status {
                         ASSIGN_OR_RETURN(DemoPayload d, read_demo(ctx.payload()));
                         const int64_t steps = d.steps, step_ms = d.step_ms;
                         for (int64_t i = 1; i <= steps; ++i) {
                           if (ctx.CancelRequested())
                             return Status::FailedPrecondition("cancelled");
                           std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
                           RETURN_IF_ERROR(ctx.SetProgress(i, steps));
                         }
                         return Status::Ok();
                       },
                       3, [read_demo](const json::object& p) { return read_demo(p).status(); }});
  jobs_->RegisterKind(
      {"system.cleanup", "Deletes expired sessions, old login failures and week-old successful scheduled job runs",
       [this](jobs::JobContext& ctx) -> Status {
         const int64_t now = ctx.clock().NowMs();
         RETURN_IF_ERROR(db_->Execute("DELETE FROM sessions WHERE expires_at < ?", {now}).status());
         RETURN_IF_ERROR(
             db_->Execute("DELETE FROM login_failures WHERE at < ?", {now - int64_t{7} * 86400000})
                 .status());
         // Scheduled runs that succeeded (the minute-by-minute cutoff job among
         // them) are kept a week; failures and one-off jobs stay for review.
         const int64_t keep = now - int64_t{7} * 86400000;
         RETURN_IF_ERROR(db_->Transact([&](store::Connection& c) -> Status {
           RETURN_IF_ERROR(c.Execute("DELETE FROM job_runs WHERE job_id IN (SELECT id FROM jobs "
                                     "WHERE schedule_id IS NOT NULL AND state = 'succeeded' AND "
                                     "finished_at < ?)",
                                     {keep})
                               .status());
           return c.Execute("DELETE FROM jobs WHERE schedule_id IS NOT NULL AND state = "
                            "'succeeded' AND finished_at < ?",
                            {keep})
               .status();
         }));
         return ctx.SetProgress(1, 1);
       },
       3, NoPayload});
  jobs_->RegisterKind(
      {"clients.devices.stale", "Marks push tokens not seen for clients.device_stale_days as stale",
       [this](jobs::JobContext& ctx) -> Status {
         const int64_t now = ctx.clock().NowMs();
         const int64_t cutoff = now - int64_t{config_.clients.device_stale_days} * 86400000;
         ASSIGN_OR_RETURN(int64_t n, devices_->MarkStale(now, cutoff));
         return ctx.SetProgress(n, n);
       },
       3, NoPayload});
  jobs_->RegisterKind({"webhooks.prune",
                       "Deletes webhook deliveries older than webhooks.retention_days",
                       [this](jobs::JobContext& ctx) -> Status {
                         const int64_t cutoff = ctx.clock().NowMs() -
                                                int64_t{config_.webhooks.retention_days} * 86400000;
                         ASSIGN_OR_RETURN(int64_t n, webhook_outbox_->Prune(cutoff));
                         return ctx.SetProgress(n, n);
                       },
                       3, NoPayload});
  jobs_->RegisterKind({"payments.build_files",
                       "Builds ACH files from the payments whose cutoff window has come",
                       [this](jobs::JobContext& ctx) -> Status {
                         auto actor = audit::Actor::System("payments cutoff", ctx.clock().NowMs());
                         ASSIGN_OR_RETURN(auto files, ach_files_->BuildDue(actor));
                         return ctx.SetProgress(static_cast<int64_t>(files.size()),
                                                static_cast<int64_t>(files.size()));
                       },
                       3, NoPayload});
  jobs_->RegisterKind({"payments.fetch_returns",
                       "Fetches return and NOC files from each originator's SFTP inbox",
                       [this](jobs::JobContext& ctx) -> Status {
                         auto actor = audit::Actor::System("payments returns", ctx.clock().NowMs());
                         ASSIGN_OR_RETURN(int n, payment_returns_->FetchAll(actor));
                         return ctx.SetProgress(n, n);
                       },
                       3, NoPayload});
  jobs_->RegisterKind(
      {"payments.settle", "Marks submitted payments settled once their effective date has passed",
       [this](jobs::JobContext& ctx) -> Status {
         auto actor = audit::Actor::System("payments settlement", ctx.clock().NowMs());
         ASSIGN_OR_RETURN(int n, ach_files_->SettleDue(actor));
         return ctx.SetProgress(n, n);
       },
       3, NoPayload});
}

Status App::Serve() {
  http::ServerOptions so;
  RETURN_IF_ERROR(http::ParseListen(config_.listen, &so.host, &so.port));
  so.threads = config_.http.threads > 0
                   ? config_.http.threads
                   : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  so.max_body_bytes = config_.http.max_body_bytes;
  so.max_header_bytes = config_.http.max_header_bytes;
  so.header_timeout_s = config_.http.header_timeout_s;
  so.body_timeout_s = config_.http.body_timeout_s;
  so.idle_timeout_s = config_.http.idle_timeout_s;
  so.shutdown_grace_s = config_.http.shutdown_grace_s;
  server_ = std::make_unique<http::Server>(*dispatcher_, so);
  RETURN_IF_ERROR(server_->Listen());
  if (config_.jobs.enabled) jobs_->Start();
  if (config_.webhooks.enabled) webhook_outbox_->Start();
  if (config_.payments.enabled) ach_files_->Start(config_.payments.delivery_poll_ms);
  if (config_.messaging.enabled) message_dispatcher_->Start();
  event_writer_->Start();  // events are taken even where messages are not sent
  if (config_.messaging.enabled) event_processor_->Start();
  LogInfo("kontor serving", {{"listen", so.host + ":" + std::to_string(server_->port())},
                             {"db", config_.db.substr(0, config_.db.find(':'))},
                             {"version", KONTOR_VERSION}});
  server_->Run();
  LogInfo("http server drained; stopping job workers");
  jobs_->Stop();
  webhook_outbox_->Stop();
  ach_files_->Stop();
  message_dispatcher_->Stop();
  event_writer_->Stop();
  event_processor_->Stop();
  LogInfo("kontor stopped");
  return Status::Ok();
}

void App::Shutdown() {
  if (server_) server_->Shutdown();
}

}  // namespace kontor
