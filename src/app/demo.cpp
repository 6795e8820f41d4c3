// Demo data for `kontor serve --demo`: one user per built-in role, a custom
// role and a job to watch, created only on an empty database.
#include <iostream>

#include "app/app.h"

namespace kontor {

constexpr const char* kDemoPassword = "kontor-demo";

Status App::LoadDemo() {
  const std::string url = "http://" + config_.listen;
  if (auth_->UserCount() == 0) {
    audit::Actor actor = audit::Actor::System("demo loader", clock_.NowMs());
    const std::pair<const char*, const char*> users[] = {
        {"admin", "Ada Admin"},        {"editor", "Emil Editor"},     {"marketing", "Mia Marketing"},
        {"payments-operator", "Paul Payments"}, {"analyst", "Ana Analyst"}, {"auditor", "Otto Auditor"}};
    for (const auto& [role, name] : users) {
      std::string local = std::string(role) == "payments-operator" ? "payments" : role;
      RETURN_IF_ERROR(auth_->CreateUser(actor, {local + "@kontor.local", name, kDemoPassword, role}).status());
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
  std::cout << "\nKontor demo is ready at " << url << "\n"
            << "  Log in as admin@kontor.local with password " << kDemoPassword << "\n"
            << "  (also editor@, marketing@, payments@, analyst@ and auditor@kontor.local, same password)\n\n"
            << std::flush;
  return Status::Ok();
}

}  // namespace kontor
