#include "messaging/events_api.h"

#include "core/validation.h"
#include "http/params.h"
#include "http/problem.h"

namespace kontor::messaging {
namespace {

using http::Access;
using http::Request;
using http::Response;

json::value Schema(const char* s) { return json::parse(s); }

const char* kEventInputSchema = R"({"type":"object","additionalProperties":false,
  "required":["type"],"properties":{
  "type":{"type":"string","maxLength":100,"description":"e.g. order.shipped"},
  "customer":{"type":"string","description":"the customer's external_id"},
  "installation_id":{"type":"string","description":"a device, instead of a customer"},
  "data":{"type":"object","description":"the event's details (at most 16 KiB): template variables event.data.* and data.*"},
  "occurred_at":{"type":"string","description":"RFC 3339; default: when received"},
  "idempotency_key":{"type":"string","maxLength":255,"description":"or the Idempotency-Key header"}}})";
const char* kAcceptedSchema = R"({"type":"object","properties":{"id":{"type":"string"},
  "type":{"type":"string"},"received_at":{"type":"string"},"replayed":{"type":"boolean"}}})";
const char* kEventSchema = R"({"type":"object","properties":{"id":{"type":"string"},
  "type":{"type":"string"},"customer":{"type":["string","null"]},
  "installation_id":{"type":["string","null"]},"data":{"type":"object"},
  "occurred_at":{"type":"string"},"received_at":{"type":"string"},
  "processed_at":{"type":["string","null"]},"source":{"type":"string"},
  "outcomes":{"type":"array"},"messages":{"type":"array"}}})";
const char* kTriggerInputSchema = R"({"type":"object","additionalProperties":false,
  "required":["event_type","template_key","channels"],"properties":{
  "event_type":{"type":"string"},
  "condition":{"type":["object","null"],"description":"all/any/not of {field: data.<path>, op: eq|ne|lt|lte|gt|gte|in|exists, value}"},
  "template_key":{"type":"string","description":"per channel <key>.<channel> if saved, else <key>"},
  "channels":{"type":"array","items":{"enum":["push","sms","email"]},"description":"fallback order"},
  "delay_seconds":{"type":"integer","minimum":0},
  "dedupe_window_seconds":{"type":"integer","minimum":0},
  "topic":{"type":["string","null"],"description":"preferences topic"},
  "lane":{"enum":["transactional","alert"]},"enabled":{"type":"boolean"}}})";
const char* kTriggerSchema = R"({"type":"object","properties":{"key":{"type":"string"},
  "event_type":{"type":"string"},"condition":{"type":["object","null"]},
  "template_key":{"type":"string"},"channels":{"type":"array"},
  "delay_seconds":{"type":"integer"},"dedupe_window_seconds":{"type":"integer"},
  "topic":{"type":["string","null"]},"lane":{"type":"string"},"enabled":{"type":"boolean"},
  "version":{"type":"integer"},"created_at":{"type":"string"},"updated_at":{"type":"string"}}})";

Result<std::string> TriggerKey(const Request& req) {
  const std::string& key = req.PathParam("key");
  if (key.empty() || key.size() > 100) return Status::BadParameter("key", "1 to 100 characters");
  return key;
}

}  // namespace

void RegisterEventRoutes(http::Router& router, store::Database& db, EventWriter& writer,
                         TriggerStore& triggers, Outbox& outbox) {
  const auto kMsg = auth::Component::kMessaging;
  router.Add(
      {"POST", "/v1/events", Access::Write(kMsg),
       [&writer](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         std::optional<std::string> header;
         if (std::string_view h = req.Header("idempotency-key"); !h.empty())
           header = std::string(h);
         ASSIGN_OR_RETURN(EventInput in, ParseEvent(body, header));
         // The request waits for the writer's group commit without holding
         // a server thread: the answer is deferred (http::Response::deferred).
         auto problem_for = std::make_shared<Request>();
         problem_for->path = req.path;
         problem_for->request_id = req.request_id;
         Response r;
         r.deferred = [&writer, actor = req.Actor(), in = std::move(in),
                       problem_for](std::function<void(Response)> done) mutable {
           writer.Submit(actor, std::move(in),
                         [problem_for, done = std::move(done)](Result<AcceptedEvent> res) {
                           if (!res.ok()) {
                             done(http::Problem(res.status(), *problem_for));
                             return;
                           }
                           Response out = http::JsonResponse(res->replayed ? 200 : 202,
                                                             AcceptedEventToJson(*res));
                           if (res->replayed) out.SetHeader("Idempotent-Replayed", "true");
                           done(std::move(out));
                         });
         };
         return r;
       },
       "messaging",
       "Record an event for a customer (or a device). Stored durably before the answer; "
       "triggers turn it into messages asynchronously. Idempotent on idempotency_key (or the "
       "Idempotency-Key header): a repeat answers 200 with the first event's id and "
       "replayed: true",
       Schema(kEventInputSchema), Schema(kAcceptedSchema), 202});
  router.Add(
      {"GET",
       "/v1/events",
       Access::Read(kMsg),
       [&db](Request& req) -> Result<Response> {
         RETURN_IF_ERROR(http::OnlyQueryParams(req, {"type", "customer", "cursor", "limit"}));
         EventFilter f;
         ASSIGN_OR_RETURN(f.before_id, http::CursorParam(req));
         ASSIGN_OR_RETURN(f.limit, http::LimitParam(req, 50, 500));
         f.type = req.Query("type");
         f.customer = req.Query("customer");
         ASSIGN_OR_RETURN(std::vector<Event> list, ListEvents(db, f));
         json::array items;
         for (const Event& e : list) items.push_back(EventToJson(e));
         std::optional<int64_t> next;
         if (static_cast<int>(list.size()) == f.limit && !list.empty()) next = list.back().id;
         return http::PageResponse(std::move(items), next);
       },
       "messaging",
       "Recorded events, newest first",
       nullptr,
       http::PageSchema(),
       200,
       {{"type", "event type"},
        {"customer", "customer external_id"},
        {"cursor", "next_cursor of the previous page"},
        {"limit", "1-500", "integer"}}});
  router.Add(
      {"GET", "/v1/events/{id}", Access::Read(kMsg),
       [&db, &outbox](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "event"));
         ASSIGN_OR_RETURN(auto e, GetEvent(db, id));
         if (!e) return Status::NotFound("no event " + std::to_string(id));
         json::object o = EventToJson(*e);
         ASSIGN_OR_RETURN(auto outcomes, EventOutcomes(db, id));
         json::array oa, messages;
         for (const EventOutcome& x : outcomes) {
           oa.push_back({{"trigger", x.trigger_key},
                         {"outcome", x.outcome},
                         {"message_id", x.message_id ? json::value(std::to_string(*x.message_id))
                                                     : json::value(nullptr)},
                         {"detail", NullOr(x.detail)},
                         {"at", FormatRfc3339(x.at)}});
           if (x.message_id) {
             ASSIGN_OR_RETURN(auto m, outbox.Get(*x.message_id));
             if (m) {
               json::object mj = MessageToJson(*m);
               mj["trigger"] = x.trigger_key;
               messages.push_back(std::move(mj));
             }
           }
         }
         o["outcomes"] = std::move(oa);
         o["messages"] = std::move(messages);
         return http::JsonResponse(200, o);
       },
       "messaging", "One event with what its triggers did and the messages it caused", nullptr,
       Schema(kEventSchema)});
  router.Add({"GET", "/v1/triggers", Access::Read(kMsg),
              [&triggers](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {}));
                ASSIGN_OR_RETURN(auto list, triggers.List());
                return http::ItemsResponse(list, TriggerToJson);
              },
              "messaging", "Every trigger", nullptr,
              Schema(R"({"type":"object","properties":{"items":{"type":"array"}}})")});
  router.Add({"GET", "/v1/triggers/{key}", Access::Read(kMsg),
              [&triggers](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string key, TriggerKey(req));
                ASSIGN_OR_RETURN(Trigger t, triggers.Get(key));
                Response r = http::JsonResponse(200, TriggerToJson(t));
                r.SetHeader("ETag", "\"" + std::to_string(t.version) + "\"");
                return r;
              },
              "messaging", "One trigger", nullptr, Schema(kTriggerSchema)});
  router.Add({"PUT", "/v1/triggers/{key}", Access::Write(kMsg),
              [&triggers](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string key, TriggerKey(req));
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
                ASSIGN_OR_RETURN(auto saved, triggers.Put(req.Actor(), key, body, if_match));
                Response r =
                    http::JsonResponse(saved.second ? 201 : 200, TriggerToJson(saved.first));
                r.SetHeader("ETag", "\"" + std::to_string(saved.first.version) + "\"");
                return r;
              },
              "messaging",
              "Create or update a trigger (If-Match honoured): the condition must compile and a "
              "template must exist for every channel",
              Schema(kTriggerInputSchema), Schema(kTriggerSchema)});
  router.Add({"DELETE", "/v1/triggers/{key}", Access::Write(kMsg),
              [&triggers](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string key, TriggerKey(req));
                RETURN_IF_ERROR(triggers.Delete(req.Actor(), key));
                return http::NoContent();
              },
              "messaging", "Delete a trigger", nullptr, nullptr, 204});
}

}  // namespace kontor::messaging
