#include "webhooks/api.h"

#include "http/params.h"
#include "webhooks/events.h"

namespace kontor::webhooks {
namespace {

using http::Access;
using http::Request;
using http::Response;

const char* kWebhookSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"url":{"type":"string","format":"uri"},
  "events":{"type":"array","items":{"type":"string"}},"description":{"type":"string"},
  "enabled":{"type":"boolean"},"disabled_reason":{"type":["string","null"]},
  "disabled_at":{"type":["string","null"]},"consecutive_failures":{"type":"integer"},
  "created_at":{"type":"string"},"updated_at":{"type":"string"}}})";

const char* kWebhookInputSchema = R"({"type":"object","additionalProperties":false,"properties":{
  "url":{"type":"string","format":"uri","maxLength":2048},
  "events":{"type":"array","minItems":1,"items":{"type":"string"},
    "description":"event types from GET /v1/webhooks/events, or \"*\" for all"},
  "description":{"type":"string","maxLength":500},"enabled":{"type":"boolean"}}})";

const char* kDeliverySchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"webhook_id":{"type":"string"},"event_id":{"type":"string"},
  "event_type":{"type":"string"},"status":{"enum":["pending","succeeded","failed"]},
  "attempts":{"type":"integer"},"next_attempt_at":{"type":["string","null"]},
  "last_attempt_at":{"type":["string","null"]},"response_status":{"type":["integer","null"]},
  "error":{"type":["string","null"]},"duration_ms":{"type":["integer","null"]},
  "created_at":{"type":"string"}}})";

Result<Response> Page(const std::vector<json::object>& items, const std::optional<int64_t>& next) {
  json::array a;
  for (const auto& o : items) a.push_back(o);
  return http::PageResponse(std::move(a), next);
}

Result<WebhookInput> BodyInput(const Request& req, bool create) {
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  return ParseWebhookInput(body, create);
}

}  // namespace

void RegisterRoutes(http::Router& router, WebhookService& svc, Outbox& outbox) {
  const auto kAdmin = auth::Component::kAdmin;

  // Literal paths before /v1/webhooks/{id}.
  router.Add({"GET", "/v1/webhooks/events", Access::Read(kAdmin),
              [](Request&) -> Result<Response> {
                json::array items;
                for (const auto& t : EventTypes())
                  items.push_back({{"type", t.type}, {"description", t.description}});
                return http::JsonResponse(200, json::object{{"items", std::move(items)}});
              },
              "webhooks", "Event types an endpoint can subscribe to", nullptr, http::PageSchema()});

  router.Add({"GET", "/v1/webhooks/deliveries/{id}", Access::Read(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "delivery"));
                ASSIGN_OR_RETURN(Delivery d, svc.GetDelivery(id));
                json::object o = DeliveryToJson(d, true);
                ASSIGN_OR_RETURN(o["attempt_log"], svc.AttemptLog(id));
                return http::JsonResponse(200, o);
              },
              "webhooks",
              "One delivery with its request, the response excerpt (≤ 4 KiB) and every attempt",
              nullptr, json::parse(kDeliverySchema)});

  router.Add({"POST", "/v1/webhooks/deliveries/{id}/retry", Access::Write(kAdmin),
              [&svc, &outbox](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "delivery"));
                ASSIGN_OR_RETURN(Delivery d, svc.Retry(req.Actor(), id));
                outbox.Kick();
                return http::JsonResponse(202, DeliveryToJson(d, false));
              },
              "webhooks", "Queue a delivery again now, for one more attempt", nullptr,
              json::parse(kDeliverySchema), 202});

  router.Add({"GET",
              "/v1/webhooks",
              Access::Read(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit"}));
                ASSIGN_OR_RETURN(auto cursor, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(auto page, svc.List(cursor, limit));
                std::vector<json::object> items;
                for (const auto& w : page.first) items.push_back(WebhookToJson(w));
                return Page(items, page.second);
              },
              "webhooks",
              "List webhook endpoints",
              nullptr,
              http::PageSchema(),
              200,
              {{"cursor", "next_cursor of the previous page"}, {"limit", "1-500", "integer"}}});

  router.Add({"POST", "/v1/webhooks", Access::Write(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(WebhookInput in, BodyInput(req, true));
                ASSIGN_OR_RETURN(auto created, svc.Create(req.Actor(), in));
                json::object o = WebhookToJson(created.first);
                o["secret"] = created.second;
                return http::JsonResponse(201, o);
              },
              "webhooks",
              "Register an endpoint; the answer carries its signing secret, shown only now",
              json::parse(kWebhookInputSchema), json::parse(kWebhookSchema), 201});

  router.Add({"GET", "/v1/webhooks/{id}", Access::Read(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "webhook"));
                ASSIGN_OR_RETURN(Webhook w, svc.Get(id));
                return http::JsonResponse(200, WebhookToJson(w));
              },
              "webhooks", "One webhook endpoint (without its secret)", nullptr,
              json::parse(kWebhookSchema)});

  router.Add({"PATCH", "/v1/webhooks/{id}", Access::Write(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "webhook"));
                ASSIGN_OR_RETURN(WebhookInput in, BodyInput(req, false));
                ASSIGN_OR_RETURN(Webhook w, svc.Update(req.Actor(), id, in));
                return http::JsonResponse(200, WebhookToJson(w));
              },
              "webhooks", "Change an endpoint; enabled:true re-arms a disabled one",
              json::parse(kWebhookInputSchema), json::parse(kWebhookSchema)});

  router.Add({"DELETE", "/v1/webhooks/{id}", Access::Write(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "webhook"));
                RETURN_IF_ERROR(svc.Delete(req.Actor(), id));
                return http::NoContent();
              },
              "webhooks", "Delete an endpoint and its delivery log", nullptr, nullptr, 204});

  router.Add({"POST", "/v1/webhooks/{id}/rotate-secret", Access::Write(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "webhook"));
                ASSIGN_OR_RETURN(std::string secret, svc.RotateSecret(req.Actor(), id));
                return http::JsonResponse(200, json::object{{"secret", secret}});
              },
              "webhooks", "Replace the signing secret; the new one is shown only now", nullptr,
              json::parse(R"({"type":"object","properties":{"secret":{"type":"string"}}})")});

  router.Add({"POST", "/v1/webhooks/{id}/test", Access::Write(kAdmin),
              [&svc, &outbox](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "webhook"));
                ASSIGN_OR_RETURN(Delivery d, svc.SendTest(req.Actor(), id));
                outbox.Kick();
                return http::JsonResponse(202, DeliveryToJson(d, false));
              },
              "webhooks", "Send a ping event to this endpoint alone (one attempt)", nullptr,
              json::parse(kDeliverySchema), 202});

  router.Add({"GET",
              "/v1/webhooks/{id}/deliveries",
              Access::Read(kAdmin),
              [&svc](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"status", "cursor", "limit"}));
                DeliveryFilter f;
                ASSIGN_OR_RETURN(f.webhook_id, http::PathId(req, "id", "webhook"));
                f.status = req.Query("status");
                if (f.status && *f.status != "pending" && *f.status != "succeeded" &&
                    *f.status != "failed") {
                  return Status::BadParameter("status", "must be pending, succeeded or failed");
                }
                ASSIGN_OR_RETURN(f.before_id, http::CursorParam(req));
                ASSIGN_OR_RETURN(f.limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(auto page, svc.ListDeliveries(f));
                std::vector<json::object> items;
                for (const auto& d : page.first) items.push_back(DeliveryToJson(d, false));
                return Page(items, page.second);
              },
              "webhooks",
              "Deliveries to an endpoint, newest first",
              nullptr,
              http::PageSchema(),
              200,
              {{"status", "pending, succeeded, failed"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});
}

}  // namespace kontor::webhooks
