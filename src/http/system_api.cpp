#include "http/system_api.h"

#include <mutex>

#include "http/openapi.h"

namespace kontor::http {

void RegisterSystemRoutes(Router& router, store::Database& db, Metrics& metrics, std::string version) {
  auto probe_schema = json::parse(R"({"type":"object","properties":{"status":{"type":"string"}}})");
  router.Add({"GET", "/healthz", Access::Public(),
              [](Request&) -> Result<Response> { return JsonResponse(200, {{"status", "ok"}}); },
              "system", "Liveness: the process answers", nullptr, probe_schema});
  router.Add({"GET", "/readyz", Access::Public(),
              [&db](Request&) -> Result<Response> {
                auto r = db.QueryRow("SELECT 1");
                if (!r.ok()) return Status::Unavailable("database unreachable: " + r.status().message());
                return JsonResponse(200, {{"status", "ready"}});
              },
              "system", "Readiness: the database answers", nullptr, probe_schema});
  router.Add({"GET", "/metrics", Access::Read(auth::Component::kAdmin),
              [&metrics](Request&) -> Result<Response> {
                Response r;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r.body = metrics.Render();
                return r;
              },
              "system", "Prometheus metrics", nullptr, json::parse(R"({"type":"string"})"), 200, {},
              "text/plain"});
  router.Add({"GET", "/v1/openapi.json", Access::Public(),
              [&router, version](Request&) -> Result<Response> {
                // Routes are fixed once serving starts, so build the document once.
                static std::once_flag once;
                static std::string doc;
                std::call_once(once, [&] { doc = json::serialize(BuildOpenApi(router, version)); });
                Response r;
                r.body = doc;
                return r;
              },
              "system", "This OpenAPI 3.1 document", nullptr, json::parse(R"({"type":"object"})")});
}

}  // namespace kontor::http
