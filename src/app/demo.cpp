// Demo data for `kontor serve --demo`: one user per built-in role, a custom
// role, a job to watch, and a client hub to explore (customers, products,
// subscriptions, lists, a segment, devices), created only on an empty
// database through the same services the API uses.
#include <algorithm>
#include <iostream>
#include <tuple>

#include "app/app.h"

namespace kontor {

constexpr const char* kDemoPassword = "kontor-demo";

Status App::LoadDemo() {
  const std::string url = "http://" + config_.listen;
  if (auth_->UserCount() == 0) {
    audit::Actor actor = audit::Actor::System("demo loader", clock_.NowMs());
    const std::pair<const char*, const char*> users[] = {
        {"admin", "Ada Admin"},         {"editor", "Emil Editor"},
        {"marketing", "Mia Marketing"}, {"payments-operator", "Paul Payments"},
        {"analyst", "Ana Analyst"},     {"auditor", "Otto Auditor"}};
    for (const auto& [role, name] : users) {
      std::string local = std::string(role) == "payments-operator" ? "payments" : role;
      RETURN_IF_ERROR(
          auth_->CreateUser(actor, {local + "@kontor.local", name, kDemoPassword, role}).status());
    }
    auth::Role branch;
    branch.name = "branch-manager";
    branch.description = "Branch head: reads clients and analytics, no payments";
    branch.permissions.Set(auth::Component::kCustomers, auth::Level::kRead);
    branch.permissions.Set(auth::Component::kAnalytics, auth::Level::kRead);
    branch.permissions.Set(auth::Component::kPortal, auth::Level::kRead);
    RETURN_IF_ERROR(auth_->CreateRole(actor, branch).status());
    RETURN_IF_ERROR(db_->Transact([&](store::Connection& c) {
      jobs::EnqueueRequest e;
      e.kind = "demo.progress";
      e.payload = {{"steps", 60}, {"step_ms", 500}};
      e.created_by = actor.label;
      return jobs_->Enqueue(c, e).status();
    }));
  }
  RETURN_IF_ERROR(LoadDemoClients());
  RETURN_IF_ERROR(LoadDemoPayments());
  std::cout << "\nKontor demo is ready at " << url << "\n"
            << "  Log in as admin@kontor.local with password " << kDemoPassword << "\n"
            << "  (also editor@, marketing@, payments@, analyst@ and auditor@kontor.local, same "
               "password)\n\n"
            << std::flush;
  return Status::Ok();
}

Status App::LoadDemoClients() {
  ASSIGN_OR_RETURN(auto any, db_->QueryRow("SELECT COUNT(*) FROM customers"));
  if (any && any->Int(0) > 0) return Status::Ok();
  audit::Actor actor = audit::Actor::System("demo loader", clock_.NowMs());
  const std::tuple<const char*, const char*, const char*> products[] = {
      {"BRIEF", "Der Börsenbrief", "subscription"},
      {"TRADER", "Trader Pro", "subscription"},
      {"REPORT-2026", "Jahresausblick 2026", "single"}};
  for (const auto& [code, name, kind] : products) {
    RETURN_IF_ERROR(subscriptions_->UpsertProduct(actor, code, name, kind, std::nullopt).status());
  }
  const char* first[] = {"Anna", "Ben",   "Clara", "David", "Eva",  "Felix", "Greta", "Hans",
                         "Ida",  "Jonas", "Karla", "Lukas", "Mara", "Nils",  "Olga",  "Paul"};
  const char* last[] = {"Berg",   "Schmidt", "Huber", "Wagner", "Fischer", "Keller",
                        "Brandt", "Lorenz",  "Vogel", "Frank",  "Roth",    "Hahn"};
  const char* countries[] = {"DE", "AT", "CH", "DE", "DE"};
  const char* zones[] = {"Europe/Berlin", "Europe/Vienna", "Europe/Zurich", "Europe/Berlin",
                         "Europe/Berlin"};
  std::vector<clients::CustomerInput> customers;
  for (int i = 1; i <= 240; ++i) {
    clients::CustomerInput c;
    c.external_id = "crm-" + std::to_string(10000 + i);
    if (i % 17 == 0) {
      c.type = "company";
      c.company_name = std::string(last[i % 12]) + " Vermögensverwaltung GmbH";
    }
    c.first_name = first[i % 16];
    c.last_name = last[(i * 7) % 12];
    c.salutation = i % 2 ? "Herr" : "Frau";
    c.email = "kunde" + std::to_string(i) + "@example.com";
    if (i % 3 != 0) c.phone = "+49151" + std::to_string(1000000 + i * 37);
    c.language = i % 9 == 0 ? "en" : "de";
    c.country = countries[i % 5];
    c.time_zone = zones[i % 5];
    c.status = i % 23 == 0 ? "inactive" : "active";
    c.attributes = {{"risk", i % 10},
                    {"tier", i % 4 == 0   ? "gold"
                             : i % 4 == 1 ? "silver"
                                          : "basic"},
                    {"advisor", std::string("advisor-") + std::to_string(i % 6 + 1)},
                    {"portfolio_eur", (i * 7919) % 500000}};
    if (i % 5 == 0) c.tags.push_back("vip");
    if (i % 7 == 0) c.tags.push_back("events");
    c.tags.push_back("newsletter");
    std::sort(c.tags.begin(), c.tags.end());
    c.consent["email"] = {i % 11 == 0 ? "withdrawn" : "granted", "signup form", actor.now_ms};
    if (i % 2 == 0) c.consent["sms"] = {"granted", "app", actor.now_ms};
    if (i % 3 == 0) c.consent["push"] = {"granted", "app", actor.now_ms};
    customers.push_back(std::move(c));
  }
  RETURN_IF_ERROR(db_->Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto results, customers_->UpsertMany(c, actor, customers));
    for (const auto& r : results) RETURN_IF_ERROR(r.status());
    return Status::Ok();
  }));
  for (int i = 1; i <= 240; ++i) {
    const std::string id = "crm-" + std::to_string(10000 + i);
    auto subscribe = [&](const char* product, const char* status,
                         const std::string& suffix) -> Status {
      clients::SubscriptionInput s;
      s.external_id = "sub-" + std::to_string(10000 + i) + suffix;
      s.customer = id;
      s.product = product;
      s.status = status;
      s.starts_at = actor.now_ms - int64_t{86400000} * (i * 3 % 700);
      s.source = "demo";
      return subscriptions_->Upsert(actor, s, std::nullopt).status();
    };
    if (i % 2 == 0) RETURN_IF_ERROR(subscribe("BRIEF", i % 10 == 0 ? "cancelled" : "active", "-b"));
    if (i % 3 == 0) RETURN_IF_ERROR(subscribe("TRADER", i % 9 == 0 ? "paused" : "active", "-t"));
    if (i % 8 == 0) RETURN_IF_ERROR(subscribe("REPORT-2026", "active", "-r"));
    if (i % 4 == 0) {
      clients::DeviceInput d;
      d.installation_id = "inst-" + std::to_string(10000 + i);
      d.platform = i % 8 == 0 ? "ios" : "android";
      d.token = "demo-token-" + std::to_string(i);
      d.app_version = "3.2." + std::to_string(i % 5);
      d.locale = "de-DE";
      d.customer = id;
      RETURN_IF_ERROR(devices_->Upsert(actor, d).status());
    }
  }
  clients::ListInput vip{"vip-clients", "VIP clients", "static", {}, std::nullopt};
  RETURN_IF_ERROR(lists_->Upsert(actor, vip, std::nullopt).status());
  for (int i = 5; i <= 240; i += 5) {
    RETURN_IF_ERROR(lists_->AddMember(actor, "vip-clients", "crm-" + std::to_string(10000 + i)));
  }
  clients::ListInput readers{
      "brief-readers", "Börsenbrief readers", "products", {"BRIEF"}, std::nullopt};
  RETURN_IF_ERROR(lists_->Upsert(actor, readers, std::nullopt).status());
  json::value rule = json::parse(R"({"all":[
      {"attribute":"risk","op":"gte","value":6},
      {"has_subscription":{"products":["TRADER"]}},
      {"consent":"email"}]})");
  RETURN_IF_ERROR(
      segments_
          ->Upsert(actor, "active-traders", "Risk-tolerant Trader Pro readers", rule, std::nullopt)
          .status());
  clients::ListInput traders{
      "trader-campaign", "Trader campaign", "segment", {}, std::string("active-traders")};
  return lists_->Upsert(actor, traders, std::nullopt).status();
}

Status App::LoadDemoPayments() {
  ASSIGN_OR_RETURN(auto any, db_->QueryRow("SELECT COUNT(*) FROM payment_originators"));
  if (any && any->Int(0) > 0) return Status::Ok();
  audit::Actor actor = audit::Actor::System("demo loader", clock_.NowMs());
  // No SFTP profile: files stay downloadable in the web app ("send by hand").
  ASSIGN_OR_RETURN(
      payments::Originator o,
      payment_registry_->CreateOriginator(actor, {{"name", "Kontor Merchants"},
                                                  {"company_id", "1987654321"},
                                                  {"entry_description", "SETTLEMENT"},
                                                  {"odfi_routing", "091000019"},
                                                  {"immediate_destination", "091000019"},
                                                  {"immediate_destination_name", "Partner Bank"},
                                                  {"immediate_origin", "1987654321"},
                                                  {"immediate_origin_name", "Kontor Merchants"}}));
  const std::tuple<const char*, const char*, const char*, const char*> payees[] = {
      {"Harbor Coffee LLC", "company", "021000021", "4455667788"},
      {"Maple Books Inc", "company", "011000015", "1200340056"},
      {"Jordan Lee", "individual", "026009593", "987650001"},
      {"Priya Shah", "individual", "121000358", "55501234"},
      {"Summit Outdoor Co", "company", "071000013", "300200100"}};
  std::vector<payments::Counterparty> cps;
  for (const auto& [name, kind, routing, account] : payees) {
    ASSIGN_OR_RETURN(auto cp,
                     payment_registry_->CreateCounterparty(actor, {{"name", name},
                                                                   {"kind", kind},
                                                                   {"routing_number", routing},
                                                                   {"account_number", account},
                                                                   {"account_type", "checking"}}));
    cps.push_back(cp);
  }
  RETURN_IF_ERROR(payment_registry_
                      ->CreateTemplate(actor, {{"name", "Harbor Coffee weekly settlement"},
                                               {"originator_id", std::to_string(o.id)},
                                               {"counterparty_id", std::to_string(cps[0].id)},
                                               {"direction", "credit"},
                                               {"sec_code", "CCD"}})
                      .status());
  int n = 0;
  for (const auto& cp : cps) {
    const bool company = cp.kind == "company";
    for (int k = 0; k < 2; ++k, ++n) {
      json::object body{{"originator_id", std::to_string(o.id)},
                        {"counterparty_id", std::to_string(cp.id)},
                        {"direction", k == 0 ? "credit" : "debit"},
                        {"sec_code", company ? "CCD" : "PPD"},
                        {"amount_cents", 12500 + n * 4321},
                        {"idempotency_key", "demo-" + std::to_string(n)}};
      RETURN_IF_ERROR(payments_->Create(actor, body, std::nullopt).status());
    }
  }
  // One file built now from the next window, so the files page has content.
  return ach_files_->BuildDue(actor, o.id, clock_.NowMs() + int64_t{4} * 86400000).status();
}

}  // namespace kontor
