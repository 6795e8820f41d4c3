#include "messaging/api.h"

#include "core/clock.h"
#include "core/validation.h"
#include "http/params.h"

namespace kontor::messaging {
namespace {

using http::Access;
using http::Request;
using http::Response;

const char* kSendSchema = R"({"type":"object","additionalProperties":false,
  "required":["channel","to","content"],"properties":{
  "channel":{"enum":["email","sms","push"]},
  "to":{"type":"object","additionalProperties":false,"description":"exactly one recipient",
    "properties":{"customer":{"type":"string","description":"external_id; push goes to each active device"},
    "email":{"type":"string"},"phone":{"type":"string","description":"E.164"},
    "token":{"type":"string","description":"a push token"},
    "device":{"type":"string","description":"installation id"}}},
  "content":{"type":"object","description":"email: subject, html, text, attachments, reply_to, list_unsubscribe; sms: text; push: title, body, image, link, data"},
  "lane":{"enum":["alert","transactional"],"description":"alert: time-critical, never behind anything else"},
  "purpose":{"enum":["transactional","marketing"],"description":"marketing needs the customer's consent"},
  "idempotency_key":{"type":"string","maxLength":255,"description":"or the Idempotency-Key header"}}})";
const char* kMessageSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"lane":{"type":"string"},"purpose":{"type":"string"},
  "channel":{"type":"string"},"provider":{"type":"string"},
  "status":{"enum":["queued","sending","sent","delivered","failed","suppressed","cancelled"]},
  "recipient":{"type":"string"},"attempts":{"type":"integer"},"provider_message_id":{"type":["string","null"]},
  "error_code":{"type":["string","null"]},"error_message":{"type":["string","null"]},
  "created_at":{"type":"string"},"sent_at":{"type":["string","null"]},"content":{"type":"object"},
  "events":{"type":"array","items":{"type":"object","properties":{"at":{"type":"string"},
    "status":{"type":"string"},"attempt":{"type":["integer","null"]},"detail":{"type":"string"}}}}}})";

json::value Schema(const char* s) { return json::parse(s); }

Result<std::optional<int64_t>> TimeQuery(const Request& req, const char* name) {
  auto v = req.Query(name);
  if (!v) return std::optional<int64_t>();
  Result<int64_t> t = ParseRfc3339(*v);
  if (!t.ok()) return Status::BadParameter(name, "must be an RFC 3339 time");
  return std::optional<int64_t>(*t);
}

}  // namespace

void RegisterRoutes(http::Router& router, store::Database& db, MessageService& messages,
                    Outbox& outbox) {
  const auto kMsg = auth::Component::kMessaging;
  router.Add(
      {"POST", "/v1/messages", Access::Write(kMsg),
       [&messages](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         std::optional<std::string> header;
         if (std::string_view h = req.Header("idempotency-key"); !h.empty())
           header = std::string(h);
         ASSIGN_OR_RETURN(MessageService::Sent sent, messages.Send(req.Actor(), body, header));
         json::array items;
         for (const Message& m : sent.messages) items.push_back(MessageToJson(m));
         Response r = http::JsonResponse(sent.replayed ? 200 : 202,
                                         json::object{{"messages", std::move(items)}});
         if (sent.replayed) r.SetHeader("Idempotent-Replayed", "true");
         return r;
       },
       "messaging",
       "Send one message now: queued in the outbox and sent by the dispatcher. Idempotent on "
       "idempotency_key (or the Idempotency-Key header): a repeat answers 200 with the first "
       "messages",
       Schema(kSendSchema),
       Schema(R"({"type":"object","properties":{"messages":{"type":"array"}}})"), 202});
  router.Add({"GET",
              "/v1/messages",
              Access::Read(kMsg),
              [&db, &outbox](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(
                    http::OnlyQueryParams(req, {"campaign", "customer", "channel", "status", "lane",
                                                "provider", "since", "until", "cursor", "limit"}));
                Outbox::Filter f;
                ASSIGN_OR_RETURN(f.before_id, http::CursorParam(req));
                ASSIGN_OR_RETURN(f.limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(f.since_ms, TimeQuery(req, "since"));
                ASSIGN_OR_RETURN(f.until_ms, TimeQuery(req, "until"));
                if (auto v = req.Query("campaign")) {
                  f.campaign_id = ParseId(*v);
                  if (!f.campaign_id) return Status::BadParameter("campaign", "must be an id");
                }
                if (auto v = req.Query("customer")) {
                  ASSIGN_OR_RETURN(
                      auto row,
                      db.QueryRow("SELECT id FROM customers WHERE external_id = ?", {*v}));
                  // An unknown customer simply has no messages.
                  f.customer_id = row ? row->Int(0) : -1;
                }
                auto one_of = [&](const char* name, std::initializer_list<const char*> allowed,
                                  std::optional<std::string>* out) -> Status {
                  auto v = req.Query(name);
                  if (!v) return Status::Ok();
                  for (const char* a : allowed) {
                    if (*v == a) {
                      *out = *v;
                      return Status::Ok();
                    }
                  }
                  std::string list;
                  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
                  return Status::BadParameter(name, "must be one of " + list);
                };
                RETURN_IF_ERROR(one_of("channel", {"email", "sms", "push"}, &f.channel));
                RETURN_IF_ERROR(one_of(
                    "status",
                    {"queued", "sending", "sent", "delivered", "failed", "suppressed", "cancelled"},
                    &f.status));
                RETURN_IF_ERROR(one_of("lane", {"alert", "transactional", "bulk"}, &f.lane));
                if (auto v = req.Query("provider")) f.provider = *v;
                ASSIGN_OR_RETURN(std::vector<Message> list, outbox.List(f));
                json::array items;
                for (const Message& m : list) items.push_back(MessageToJson(m));
                std::optional<int64_t> next;
                if (static_cast<int>(list.size()) == f.limit && !list.empty())
                  next = list.back().id;
                return http::PageResponse(std::move(items), next);
              },
              "messaging",
              "The delivery log, newest first: every message with its status, provider and error",
              nullptr,
              http::PageSchema(),
              200,
              {{"campaign", "campaign id"},
               {"customer", "customer external_id"},
               {"channel", "email, sms or push"},
               {"status", "queued, sending, sent, delivered, failed, suppressed or cancelled"},
               {"lane", "alert, transactional or bulk"},
               {"provider", "provider name"},
               {"since", "created at or after (RFC 3339)"},
               {"until", "created before (RFC 3339)"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});
  router.Add({"GET", "/v1/messages/{id}", Access::Read(kMsg),
              [&outbox](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "message"));
                ASSIGN_OR_RETURN(auto m, outbox.Get(id));
                if (!m) return Status::NotFound("no message " + std::to_string(id));
                json::object o = MessageToJson(*m);
                ASSIGN_OR_RETURN(auto events, outbox.Events(id));
                json::array ev;
                for (const MessageEvent& e : events) {
                  ev.push_back({{"at", FormatRfc3339(e.at)},
                                {"status", e.status},
                                {"attempt", e.attempt ? json::value(*e.attempt) : nullptr},
                                {"detail", e.detail}});
                }
                o["events"] = std::move(ev);
                return http::JsonResponse(200, o);
              },
              "messaging", "One message with its status timeline (every attempt)", nullptr,
              Schema(kMessageSchema)});
}

}  // namespace kontor::messaging
