#include "messaging/preferences_api.h"

#include <set>

#include "core/validation.h"
#include "http/params.h"
#include "http/problem.h"

namespace kontor::messaging {
namespace {

using http::Access;
using http::Request;
using http::Response;

json::value Schema(const char* s) { return json::parse(s); }

const char* kPreferencesSchema = R"({"type":"object","additionalProperties":false,
  "required":["topics"],"properties":{"topics":{"type":"object",
  "description":"topic → {email, sms, push: allowed}; channels not named keep their setting",
  "additionalProperties":{"type":"object","additionalProperties":false,"properties":{
  "email":{"type":"boolean"},"sms":{"type":"boolean"},"push":{"type":"boolean"}}}}}})";
const char* kSuppressionInputSchema = R"({"type":"object","additionalProperties":false,
  "required":["channel","recipient"],"properties":{"channel":{"enum":["email","sms","push"]},
  "recipient":{"type":"string","description":"email address, E.164 number or push token"},
  "reason":{"type":"string","maxLength":500}}})";
const char* kSuppressionSchema = R"({"type":"object","properties":{"id":{"type":"string"},
  "channel":{"type":"string"},"recipient":{"type":"string"},"reason":{"type":"string"},
  "created_by":{"type":"string"},"created_at":{"type":"string"}}})";

Result<int64_t> CustomerId(store::Database& db, const std::string& external_id) {
  ASSIGN_OR_RETURN(auto row, db.QueryRow("SELECT id, status FROM customers WHERE external_id = ?",
                                         {external_id}));
  if (!row) return Status::NotFound("no customer " + external_id);
  return row->Int(0);
}

Result<TopicPreferences> LoadFor(store::Database& db, int64_t customer_id) {
  TopicPreferences p;
  RETURN_IF_ERROR(db.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(p, LoadPreferences(c, customer_id));
    return Status::Ok();
  }));
  return p;
}

// The topics a customer can choose about: those of triggers, and the
// customer's own settings. Every channel is listed; unset means allowed.
Result<json::object> TopicsView(store::Database& db, int64_t customer_id) {
  ASSIGN_OR_RETURN(TopicPreferences p, LoadFor(db, customer_id));
  ASSIGN_OR_RETURN(auto rows, db.Execute("SELECT definition FROM triggers"));
  for (const auto& r : rows.rows) {
    auto d = ParseJsonObject(r.Str(0));
    if (!d.ok()) continue;
    if (const json::value* t = d->if_contains("topic"); t && t->is_string())
      p[std::string(t->get_string())];
  }
  for (auto& [topic, channels] : p)
    for (const char* ch : {"email", "sms", "push"}) channels.try_emplace(ch, true);
  return PreferencesToJson(p);
}

// The signed link's customer, or the problem to answer with (403, 410).
Result<int64_t> LinkCustomer(const Request& req, Response* problem) {
  const PreferenceLinks* links = ProcessPreferenceLinks();
  if (!links) return Status::Unavailable("preference links are not set up");
  Result<int64_t> id = links->Verify(req.PathParam("token"), req.now_ms);
  if (!id.ok() && id.status().code() == StatusCode::kFailedPrecondition) {
    *problem = http::Problem(410, "link expired",
                             "this link has expired; use the link in a newer message", req);
  }
  return id;
}

audit::Actor LinkActor(const Request& req, int64_t customer_id) {
  audit::Actor a = req.Actor();
  a.type = "customer";
  a.id = std::to_string(customer_id);
  a.label = "customer " + std::to_string(customer_id) + " (signed link)";
  return a;
}

}  // namespace

void RegisterPreferenceRoutes(http::Router& router, store::Database& db,
                              clients::CustomerService& customers) {
  const auto kCust = auth::Component::kCustomers;
  const auto kMsg = auth::Component::kMessaging;
  router.Add({"GET", "/v1/customers/{external_id}/preferences", Access::Read(kCust),
              [&db](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {}));
                ASSIGN_OR_RETURN(int64_t id, CustomerId(db, req.PathParam("external_id")));
                ASSIGN_OR_RETURN(TopicPreferences p, LoadFor(db, id));
                return http::JsonResponse(200, PreferencesToJson(p));
              },
              "customers", "A customer's messaging preferences per topic and channel", nullptr,
              Schema(kPreferencesSchema)});
  router.Add({"PUT", "/v1/customers/{external_id}/preferences", Access::Write(kCust),
              [&db](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(TopicPreferences in, PreferencesFromJson(body));
                ASSIGN_OR_RETURN(int64_t id, CustomerId(db, req.PathParam("external_id")));
                TopicPreferences after;
                RETURN_IF_ERROR(db.Transact([&](store::Connection& c) -> Status {
                  RETURN_IF_ERROR(SavePreferences(c, req.Actor(), id, in));
                  ASSIGN_OR_RETURN(after, LoadPreferences(c, id));
                  return Status::Ok();
                }));
                return http::JsonResponse(200, PreferencesToJson(after));
              },
              "customers",
              "Set a customer's preferences for the topics named (others keep theirs); an "
              "opt-out is enforced when messages are queued",
              Schema(kPreferencesSchema), Schema(kPreferencesSchema)});
  router.Add(
      {"GET",
       "/v1/suppressions",
       Access::Read(kMsg),
       [&db](Request& req) -> Result<Response> {
         RETURN_IF_ERROR(http::OnlyQueryParams(req, {"channel", "q", "cursor", "limit"}));
         ASSIGN_OR_RETURN(auto before, http::CursorParam(req));
         ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
         std::string sql =
             "SELECT id, channel, recipient, reason, created_by, created_at FROM suppressions "
             "WHERE 1 = 1";
         store::Params p;
         if (auto ch = req.Query("channel")) {
           if (*ch != "email" && *ch != "sms" && *ch != "push")
             return Status::BadParameter("channel", "must be email, sms or push");
           sql += " AND channel = ?";
           p.emplace_back(*ch);
         }
         if (auto q = req.Query("q")) {
           if (q->size() > 320) return Status::BadParameter("q", "at most 320 characters");
           // A prefix; the query's own % and _ are escaped.
           std::string pattern;
           for (char ch : NormalizeRecipient("email", *q)) {
             if (ch == '%' || ch == '_' || ch == '!') pattern += '!';
             pattern += ch;
           }
           sql += " AND (recipient = ? OR recipient LIKE ? ESCAPE '!')";
           p.emplace_back(*q);
           p.emplace_back(pattern + "%");
         }
         if (before) {
           sql += " AND id < ?";
           p.emplace_back(*before);
         }
         sql += " ORDER BY id DESC LIMIT ?";
         p.emplace_back(limit);
         ASSIGN_OR_RETURN(auto rows, db.Execute(sql, p));
         json::array items;
         for (const auto& r : rows.rows)
           items.push_back(
               SuppressionToJson({r.Int(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Int(5)}));
         std::optional<int64_t> next;
         if (static_cast<int>(rows.rows.size()) == limit) next = rows.rows.back().Int(0);
         return http::PageResponse(std::move(items), next);
       },
       "messaging",
       "The suppression list, newest first (q: the recipient or its prefix)",
       nullptr,
       http::PageSchema(),
       200,
       {{"channel", "email, sms or push"},
        {"q", "recipient, or the start of it"},
        {"cursor", "next_cursor of the previous page"},
        {"limit", "1-500", "integer"}}});
  router.Add(
      {"POST", "/v1/suppressions", Access::Write(kMsg),
       [&db](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         JsonReader r(body);
         std::string channel = r.Enum("channel", true, {"email", "sms", "push"}).value_or("");
         std::string recipient = r.String("recipient", true, 4096, 1).value_or("");
         std::string reason = r.String("reason", false, 500).value_or("");
         if (channel == "email" && !recipient.empty() && !LooksLikeEmail(recipient))
           r.AddError("recipient", "must be an email address");
         if (channel == "sms" && !recipient.empty() && !IsE164(recipient))
           r.AddError("recipient", "must be an E.164 number like +4930123456");
         RETURN_IF_ERROR(r.Finish());
         recipient = NormalizeRecipient(channel, recipient);
         const audit::Actor actor = req.Actor();
         Suppression s{0, channel, recipient, reason, actor.label, actor.now_ms};
         RETURN_IF_ERROR(db.Transact([&](store::Connection& c) -> Status {
           auto ins = c.QueryRow(
               "INSERT INTO suppressions (channel, recipient, reason, created_by, "
               "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
               {channel, recipient, reason, actor.label, actor.now_ms});
           if (!ins.ok() && ins.status().code() == StatusCode::kConflict)
             return Status::Conflict(recipient + " is already on the " + channel +
                                     " suppression list");
           RETURN_IF_ERROR(ins.status());
           s.id = (*ins)->Int(0);
           return audit::Record(c, actor,
                                {"suppression.create", "suppression", std::to_string(s.id),
                                 std::nullopt, json::value(SuppressionToJson(s))});
         }));
         return http::JsonResponse(201, SuppressionToJson(s));
       },
       "messaging",
       "Put a recipient on the suppression list: nothing is sent to it on that channel",
       Schema(kSuppressionInputSchema), Schema(kSuppressionSchema), 201});
  router.Add(
      {"DELETE", "/v1/suppressions/{id}", Access::Write(kMsg),
       [&db](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "suppression"));
         RETURN_IF_ERROR(db.Transact([&](store::Connection& c) -> Status {
           ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT id, channel, recipient, reason, "
                                                 "created_by, created_at FROM suppressions WHERE "
                                                 "id = ?",
                                                 {id}));
           if (!row) return Status::NotFound("no suppression " + std::to_string(id));
           Suppression s{row->Int(0), row->Str(1), row->Str(2),
                         row->Str(3), row->Str(4), row->Int(5)};
           RETURN_IF_ERROR(c.Execute("DELETE FROM suppressions WHERE id = ?", {id}).status());
           return audit::Record(c, req.Actor(),
                                {"suppression.delete", "suppression", std::to_string(id),
                                 json::value(SuppressionToJson(s)), std::nullopt});
         }));
         return http::NoContent();
       },
       "messaging", "Take a recipient off the suppression list", nullptr, nullptr, 204});

  router.Add({"GET", "/v1/preferences/{token}", Access::Public(),
              [&db](Request& req) -> Result<Response> {
                Response problem;
                Result<int64_t> id = LinkCustomer(req, &problem);
                if (problem.status != 200) return problem;
                if (!id.ok()) return id.status();
                ASSIGN_OR_RETURN(json::object view, TopicsView(db, *id));
                return http::JsonResponse(200, view);
              },
              "messaging",
              "A customer's preferences, through the signed link in their messages (403: "
              "invalid link, 410: expired)",
              nullptr, Schema(kPreferencesSchema)});
  router.Add({"POST", "/v1/preferences/{token}", Access::Public(),
              [&db](Request& req) -> Result<Response> {
                Response problem;
                Result<int64_t> id = LinkCustomer(req, &problem);
                if (problem.status != 200) return problem;
                if (!id.ok()) return id.status();
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(TopicPreferences in, PreferencesFromJson(body));
                RETURN_IF_ERROR(db.Transact([&](store::Connection& c) -> Status {
                  return SavePreferences(c, LinkActor(req, *id), *id, in);
                }));
                ASSIGN_OR_RETURN(json::object view, TopicsView(db, *id));
                return http::JsonResponse(200, view);
              },
              "messaging", "Change preferences through the signed link (403, 410 as GET)",
              Schema(kPreferencesSchema), Schema(kPreferencesSchema)});
  http::Route unsubscribe{
      "POST",
      "/v1/unsubscribe/{token}",
      Access::Public(),
      [&db, &customers](Request& req) -> Result<Response> {
        Response problem;
        Result<int64_t> id = LinkCustomer(req, &problem);
        if (problem.status != 200) return problem;
        if (!id.ok()) return id.status();
        // RFC 8058: the mail client POSTs exactly this form field.
        std::string_view body = req.body;
        while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
        if (body != "List-Unsubscribe=One-Click")
          return Status::Validation({{"body", "must be List-Unsubscribe=One-Click (RFC 8058)"}});
        ASSIGN_OR_RETURN(auto row,
                         db.QueryRow("SELECT external_id FROM customers WHERE id = ?", {*id}));
        if (!row) return Status::NotFound("the customer no longer exists");
        ASSIGN_OR_RETURN(clients::Customer cu, customers.Get(row->Str(0)));
        if (cu.erased_at) return http::JsonResponse(200, json::object{{"unsubscribed", true}});
        auto it = cu.data.consent.find("email");
        if (it == cu.data.consent.end() || it->second.status != "withdrawn") {
          // Through the customer service, so the change is versioned, audited
          // and in the change feed like any other consent change.
          cu.data.consent["email"] = {"withdrawn", "unsubscribe_link", req.now_ms};
          RETURN_IF_ERROR(customers.Upsert(LinkActor(req, *id), cu.data, std::nullopt).status());
        }
        return http::JsonResponse(200, json::object{{"unsubscribed", true}});
      },
      "messaging",
      "RFC 8058 one-click unsubscribe (body List-Unsubscribe=One-Click): withdraws the "
      "customer's email consent, so no more marketing email",
      nullptr,
      Schema(R"({"type":"object","properties":{"unsubscribed":{"type":"boolean"}}})")};
  unsubscribe.raw_body = "application/x-www-form-urlencoded";
  router.Add(std::move(unsubscribe));
}

}  // namespace kontor::messaging
