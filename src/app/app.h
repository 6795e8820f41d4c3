// Wires Kontor's components together in one place (userver style): the
// database, services, routes, the HTTP pipeline and the job workers.
#pragma once

#include <memory>
#include <string>

#include "auth/auth_service.h"
#include "clients/customers.h"
#include "clients/devices.h"
#include "clients/import.h"
#include "clients/lists.h"
#include "clients/saved_segments.h"
#include "clients/subscriptions.h"
#include "core/clock.h"
#include "core/config.h"
#include "http/dispatcher.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "http/static_files.h"
#include "jobs/job_service.h"
#include "messaging/campaigns.h"
#include "messaging/dispatcher.h"
#include "messaging/events.h"
#include "messaging/messages.h"
#include "messaging/provider_health.h"
#include "messaging/outbox.h"
#include "messaging/template_store.h"
#include "messaging/triggers.h"
#include "payments/files.h"
#include "payments/payments.h"
#include "payments/registry.h"
#include "payments/returns.h"
#include "payments/uploads.h"
#include "store/database.h"
#include "webhooks/http_client.h"
#include "webhooks/outbox.h"
#include "webhooks/webhooks.h"

namespace kontor {

// Opens the database named by the config and applies pending migrations.
Result<std::unique_ptr<store::Database>> OpenDatabase(const Config& config);

class App {
 public:
  // REQUIRES: `db` is migrated.
  App(Config config, std::unique_ptr<store::Database> db, const Clock& clock);
  ~App();

  // Seeds built-in roles and schedules, registers routes and job kinds.
  Status Init();
  // Creates demo users, a custom role and a sample job; prints how to log in.
  Status LoadDemo();
  // The client hub part of the demo (customers, products, lists, a segment).
  Status LoadDemoClients();
  // An originator, counterparties, a template and payments, one file built.
  Status LoadDemoPayments();
  // Serves until SIGTERM/SIGINT (or Shutdown()), then drains and stops jobs.
  Status Serve();
  void Shutdown();

  store::Database& db() { return *db_; }
  auth::AuthService& auth() { return *auth_; }
  jobs::JobService& jobs() { return *jobs_; }
  payments::FileService& ach_files() { return *ach_files_; }
  http::Router& router() { return router_; }
  // REQUIRES: Init() succeeded.
  http::Dispatcher& dispatcher() { return *dispatcher_; }

 private:
  void RegisterJobKinds();

  Config config_;
  std::unique_ptr<store::Database> db_;
  const Clock& clock_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<jobs::JobService> jobs_;
  std::unique_ptr<clients::CustomerService> customers_;
  std::unique_ptr<clients::SubscriptionService> subscriptions_;
  std::unique_ptr<clients::DeviceService> devices_;
  std::unique_ptr<clients::ListService> lists_;
  std::unique_ptr<clients::SegmentService> segments_;
  std::unique_ptr<clients::ImportService> imports_;
  std::unique_ptr<webhooks::WebhookService> webhooks_;
  std::unique_ptr<webhooks::HttpClient> webhook_client_;  // created by Init()
  std::unique_ptr<webhooks::Outbox> webhook_outbox_;      // created by Init()
  std::unique_ptr<payments::Registry> payment_registry_;
  std::unique_ptr<payments::PaymentService> payments_;
  std::unique_ptr<payments::UploadService> payment_uploads_;
  std::unique_ptr<payments::FileService> ach_files_;
  std::unique_ptr<payments::ReturnService> payment_returns_;
  std::unique_ptr<messaging::Outbox> message_outbox_;            // created by Init()
  std::unique_ptr<messaging::Dispatcher> message_dispatcher_;    // created by Init()
  std::unique_ptr<messaging::MessageService> messages_;          // created by Init()
  std::unique_ptr<messaging::TemplateStore> message_templates_;  // created by Init()
  std::unique_ptr<messaging::CampaignService> campaigns_;        // created by Init()
  std::unique_ptr<messaging::ProviderHealth> provider_health_;   // created by Init()
  std::unique_ptr<messaging::EventWriter> event_writer_;         // created by Init()
  std::unique_ptr<messaging::TriggerStore> triggers_;            // created by Init()
  std::unique_ptr<messaging::EventProcessor> event_processor_;   // created by Init()
  http::Router router_;
  http::Metrics metrics_;
  std::unique_ptr<http::StaticFiles> static_files_;
  std::unique_ptr<http::Dispatcher> dispatcher_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace kontor
