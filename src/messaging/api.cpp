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
  "template":{"type":"string","description":"a saved template's key, instead of content"},
  "data":{"type":"object","description":"the template's {{data.*}} variables"},
  "language":{"type":"string","description":"template language; default: the customer's"},
  "lane":{"enum":["alert","transactional"],"description":"alert: time-critical, never behind anything else"},
  "purpose":{"enum":["transactional","marketing"],"description":"marketing needs the customer's consent"},
  "topic":{"type":"string","maxLength":64,"description":"preferences topic: not sent to a customer who opted out of it on this channel"},
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

const char* kTemplateInputSchema = R"({"type":"object","additionalProperties":false,
  "required":["name","channel","default_language","languages"],"properties":{
  "name":{"type":"string"},"channel":{"enum":["email","sms","push"]},
  "default_language":{"type":"string","description":"BCP 47 tag, e.g. de"},
  "languages":{"type":"object","description":"tag → parts: email subject, html, text; sms text; push title, body, image, link, data"},
  "sample":{"type":"object","description":"variables to check the template with on save: SMS segments, push size"}}})";
const char* kTemplateSchema = R"({"type":"object","properties":{
  "key":{"type":"string"},"name":{"type":"string"},"channel":{"type":"string"},
  "default_language":{"type":"string"},"languages":{"type":"object"},"version":{"type":"integer"},
  "created_at":{"type":"string"},"updated_at":{"type":"string"},"check":{"type":"array"}}})";

json::array CheckToJson(const TemplateCheck& check) {
  json::array out;
  for (const LanguageCheck& l : check.languages) {
    json::object o{{"language", l.language}};
    if (!l.sms.encoding.empty()) {
      o["sms"] = {{"encoding", l.sms.encoding},
                  {"segments", l.sms.segments},
                  {"characters", l.sms.characters}};
    }
    if (l.push_payload_bytes > 0) o["push_payload_bytes"] = l.push_payload_bytes;
    json::array unknown;
    for (const auto& e : l.unknown_variables)
      unknown.push_back({{"field", e.field}, {"message", e.message}});
    o["unknown_variables"] = std::move(unknown);
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::string> TemplateKey(const Request& req) {
  const std::string& key = req.PathParam("key");
  if (key.empty() || key.size() > 100) return Status::BadParameter("key", "1 to 100 characters");
  return key;
}

Result<std::optional<int64_t>> TimeQuery(const Request& req, const char* name) {
  auto v = req.Query(name);
  if (!v) return std::optional<int64_t>();
  Result<int64_t> t = ParseRfc3339(*v);
  if (!t.ok()) return Status::BadParameter(name, "must be an RFC 3339 time");
  return std::optional<int64_t>(*t);
}

}  // namespace

void RegisterRoutes(http::Router& router, store::Database& db, MessageService& messages,
                    Outbox& outbox, TemplateStore& templates) {
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
                    http::OnlyQueryParams(req, {"campaign", "campaign_id", "customer", "channel", "status", "lane",
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
                if (auto v = req.Query("campaign_id")) {
                  f.campaign_id = ParseId(*v);
                  if (!f.campaign_id) return Status::BadParameter("campaign_id", "must be an id");
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
               {"campaign_id", "campaign id (the same as campaign)"},
               {"customer", "customer external_id"},
               {"channel", "email, sms or push"},
               {"status", "queued, sending, sent, delivered, failed, suppressed or cancelled"},
               {"lane", "alert, transactional or bulk"},
               {"provider", "provider name"},
               {"since", "created at or after (RFC 3339)"},
               {"until", "created before (RFC 3339)"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});
  router.Add({"GET", "/v1/templates", Access::Read(kMsg),
              [&templates](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {}));
                ASSIGN_OR_RETURN(auto list, templates.List());
                return http::ItemsResponse(list, SavedTemplateToJson);
              },
              "messaging", "Every saved message template", nullptr,
              Schema(R"({"type":"object","properties":{"items":{"type":"array"}}})")});
  router.Add({"GET", "/v1/templates/{key}", Access::Read(kMsg),
              [&templates](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string key, TemplateKey(req));
                ASSIGN_OR_RETURN(SavedTemplate t, templates.Get(key));
                return http::JsonResponse(200, SavedTemplateToJson(t));
              },
              "messaging", "One template", nullptr, Schema(kTemplateSchema)});
  router.Add(
      {"PUT", "/v1/templates/{key}", Access::Write(kMsg),
       [&templates](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(std::string key, TemplateKey(req));
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
         TemplateCheck check;
         ASSIGN_OR_RETURN(auto saved, templates.Put(req.Actor(), key, body, if_match, &check));
         json::object o = SavedTemplateToJson(saved.first);
         o["check"] = CheckToJson(check);
         Response r = http::JsonResponse(saved.first.version == 1 && saved.second ? 201 : 200, o);
         r.SetHeader("ETag", "\"" + std::to_string(saved.first.version) + "\"");
         return r;
       },
       "messaging",
       "Create or update a template (If-Match honoured). Every part must compile; an SMS must fit "
       "its segments and a push payload 4096 bytes with the sample variables",
       Schema(kTemplateInputSchema), Schema(kTemplateSchema)});
  router.Add({"DELETE", "/v1/templates/{key}", Access::Write(kMsg),
              [&templates](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string key, TemplateKey(req));
                RETURN_IF_ERROR(templates.Delete(req.Actor(), key));
                return http::NoContent();
              },
              "messaging", "Delete a template", nullptr, nullptr, 204});
  router.Add(
      {"POST", "/v1/templates/{key}/preview", Access::Read(kMsg),
       [&db, &templates](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(std::string key, TemplateKey(req));
         json::object body;
         if (!req.body.empty()) {
           ASSIGN_OR_RETURN(body, http::JsonBody(req));
         }
         JsonReader r(body);
         std::optional<std::string> customer = r.String("customer", false, 200, 1);
         std::optional<std::string> language = r.String("language", false, 35, 2);
         json::object data;
         if (const json::object* d = r.Object("data", false)) data = *d;
         // An unsaved edit (the PUT body) is previewed instead of the saved
         // version: the editor's live preview.
         std::optional<json::object> definition;
         if (const json::object* d = r.Object("definition", false)) definition = *d;
         RETURN_IF_ERROR(r.Finish());
         SavedTemplate t;
         if (definition) {
           // Read as PUT reads it (name and sample allowed, not needed).
           JsonReader d(*definition, "definition.");
           (void)d.String("name", false, 200, 0);
           (void)d.Object("sample", false);
           std::optional<MessageTemplate> def = ReadTemplate(d);
           RETURN_IF_ERROR(d.Finish());
           if (!def) return Status::Validation({{"definition", "is not a template"}});
           t.definition = std::move(*def);
           t.key = key;
         } else {
           ASSIGN_OR_RETURN(t, templates.Get(key));
         }
         json::object vars{{"data", data}};
         std::string lang = language.value_or("");
         if (customer) {
           RETURN_IF_ERROR(db.WithConnection([&](store::Connection& c) -> Status {
             ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT id, language FROM customers WHERE "
                                                   "external_id = ?",
                                                   {*customer}));
             if (!row) return Status::Validation({{"customer", "no customer " + *customer}});
             ASSIGN_OR_RETURN(vars["customer"], CustomerVariables(c, row->Int(0)));
             if (lang.empty()) lang = row->Str(1);
             return Status::Ok();
           }));
         }
         // Lenient: staff see what is missing instead of an error.
         RenderOptions o;
         o.strict = false;
         ASSIGN_OR_RETURN(RenderedMessage m, Render(t.definition, lang, vars, o));
         json::object out{{"language", m.language}, {"content", RenderedToContent(m)}};
         if (m.channel == "sms")
           out["sms"] = {{"encoding", m.sms.encoding},
                         {"segments", m.sms.segments},
                         {"characters", m.sms.characters}};
         if (m.channel == "push") out["push_payload_bytes"] = PushPayloadBytes(m);
         json::array unknown;
         for (const auto& e : m.unknown_variables)
           unknown.push_back({{"field", e.field}, {"message", e.message}});
         out["unknown_variables"] = std::move(unknown);
         return http::JsonResponse(200, out);
       },
       "messaging",
       "Render a template for a chosen customer and data, as it would be sent; unknown variables "
       "are listed, not refused. With `definition` (a PUT body), that unsaved edit is rendered "
       "instead of the saved version",
       Schema(R"({"type":"object","additionalProperties":false,"properties":{
         "customer":{"type":"string"},"language":{"type":"string"},"data":{"type":"object"},
         "definition":{"type":"object","description":"the body of PUT /v1/templates/{key}"}}})"),
       Schema(
           R"({"type":"object","properties":{"language":{"type":"string"},"content":{"type":"object"},
         "unknown_variables":{"type":"array"}}})")});
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
