#include "messaging/campaign_api.h"

#include "http/params.h"

namespace kontor::messaging {
namespace {

using http::Access;
using http::Request;
using http::Response;

const char* kInputSchema = R"({"type":"object","additionalProperties":false,
  "required":["name","channel","audience"],"properties":{
  "name":{"type":"string","maxLength":200},"channel":{"enum":["email","sms","push"]},
  "template_key":{"type":["string","null"],"description":"required unless variants are given"},
  "topic":{"type":["string","null"],"description":"preference topic; opted-out customers are suppressed"},
  "audience":{"type":"object","additionalProperties":false,"description":"exactly one",
    "properties":{"list_id":{"type":"integer"},"segment_id":{"type":"integer"}}},
  "send_at":{"type":["string","null"],"description":"RFC 3339, a whole minute; null: when scheduled"},
  "local_time":{"type":"boolean","description":"send at send_at's wall-clock time in each recipient's time zone"},
  "variants":{"type":"array","items":{"type":"object","required":["key","template_key","percent"],
    "properties":{"key":{"type":"string"},"template_key":{"type":"string"},"percent":{"type":"integer"}}},
    "description":"A/B split, percents add up to 100; each customer's variant is fixed by a hash"},
  "rate_limit_per_minute":{"type":["integer","null"],"minimum":1},
  "data":{"type":"object","description":"the templates' {{campaign.*}} variables"}}})";
const char* kCampaignSchema = R"({"type":"object","properties":{
  "id":{"type":"integer"},"name":{"type":"string"},"channel":{"type":"string"},
  "template_key":{"type":["string","null"]},"topic":{"type":["string","null"]},"audience":{"type":"object"},
  "send_at":{"type":["string","null"]},"local_time":{"type":"boolean"},"variants":{"type":"array"},
  "rate_limit_per_minute":{"type":["integer","null"]},"data":{"type":"object"},
  "state":{"enum":["draft","scheduled","sending","paused","completed","cancelled"]},
  "counts":{"type":"object","properties":{"audience":{"type":"integer"},"queued":{"type":"integer"},
    "sent":{"type":"integer"},"delivered":{"type":"integer"},"failed":{"type":"integer"},
    "suppressed":{"type":"integer"},"cancelled":{"type":"integer"}}},
  "version":{"type":"integer"},"created_by":{"type":"string"},"created_at":{"type":"string"},
  "updated_at":{"type":"string"},"started_at":{"type":["string","null"]},"completed_at":{"type":["string","null"]}}})";

Response WithEtag(int status, const Campaign& c) {
  Response r = http::JsonResponse(status, CampaignToJson(c));
  r.SetHeader("ETag", "\"" + std::to_string(c.version) + "\"");
  return r;
}

}  // namespace

void RegisterCampaignRoutes(http::Router& router, CampaignService& campaigns) {
  const auto kMsg = auth::Component::kMessaging;
  const json::value campaign_schema = json::parse(kCampaignSchema);
  router.Add({"POST", "/v1/campaigns", Access::Write(kMsg),
              [&campaigns](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(Campaign c, campaigns.Create(req.Actor(), body));
                return WithEtag(201, c);
              },
              "messaging", "Create a campaign (a draft)", json::parse(kInputSchema),
              campaign_schema, 201});
  router.Add({"GET",
              "/v1/campaigns",
              Access::Read(kMsg),
              [&campaigns](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"state", "limit", "cursor"}));
                std::optional<std::string> state;
                if (auto v = req.Query("state")) {
                  static const char* kStates[] = {"draft",  "scheduled", "sending",
                                                  "paused", "completed", "cancelled"};
                  if (std::none_of(std::begin(kStates), std::end(kStates),
                                   [&](const char* s) { return *v == s; }))
                    return Status::BadParameter(
                        "state",
                        "must be one of draft, scheduled, sending, paused, completed, cancelled");
                  state = *v;
                }
                ASSIGN_OR_RETURN(auto before, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 200));
                ASSIGN_OR_RETURN(CampaignService::Page page, campaigns.List(state, before, limit));
                json::array items;
                for (const Campaign& c : page.items) items.push_back(CampaignToJson(c));
                return http::PageResponse(std::move(items), page.next);
              },
              "messaging",
              "Campaigns, newest first, with live counts",
              nullptr,
              http::PageSchema(),
              200,
              {{"state", "draft, scheduled, sending, paused, completed or cancelled"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-200", "integer"}}});
  router.Add({"GET", "/v1/campaigns/{id}", Access::Read(kMsg),
              [&campaigns](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "campaign"));
                ASSIGN_OR_RETURN(Campaign c, campaigns.Get(id));
                return WithEtag(200, c);
              },
              "messaging", "One campaign with its live counts", nullptr, campaign_schema});
  router.Add({"PATCH", "/v1/campaigns/{id}", Access::Write(kMsg),
              [&campaigns](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "campaign"));
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
                ASSIGN_OR_RETURN(Campaign c, campaigns.Update(req.Actor(), id, body, if_match));
                return WithEtag(200, c);
              },
              "messaging",
              "Change a draft or scheduled campaign (If-Match: its version); the fields given "
              "replace the campaign's",
              json::parse(kInputSchema), campaign_schema});
  router.Add({"DELETE", "/v1/campaigns/{id}", Access::Write(kMsg),
              [&campaigns](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "campaign"));
                RETURN_IF_ERROR(campaigns.Delete(req.Actor(), id));
                return http::NoContent();
              },
              "messaging", "Delete a draft campaign", nullptr, nullptr, 204});
  struct Action {
    const char* path;
    const char* summary;
    Result<Campaign> (CampaignService::*fn)(const audit::Actor&, int64_t);
  };
  for (const Action& a :
       {Action{"/v1/campaigns/{id}/schedule",
               "Schedule a draft: it starts at send_at (or now), its audience snapshotted then",
               &CampaignService::Schedule},
        Action{"/v1/campaigns/{id}/pause",
               "Pause a sending campaign: its queued messages stop being sent",
               &CampaignService::Pause},
        Action{"/v1/campaigns/{id}/resume", "Resume a paused campaign", &CampaignService::Resume},
        Action{"/v1/campaigns/{id}/cancel",
               "Cancel a campaign that has not completed: its queued messages are cancelled",
               &CampaignService::Cancel}}) {
    auto fn = a.fn;
    http::Route route{"POST",
                      a.path,
                      Access::Write(kMsg),
                      [&campaigns, fn](Request& req) -> Result<Response> {
                        ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "campaign"));
                        if (!req.body.empty()) {
                          ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                          if (!body.empty())
                            return Status::Validation(
                                {{body.begin()->key(), "unknown field; this takes no body"}});
                        }
                        ASSIGN_OR_RETURN(Campaign c, (campaigns.*fn)(req.Actor(), id));
                        return WithEtag(200, c);
                      },
                      "messaging",
                      a.summary,
                      nullptr,
                      campaign_schema};
    // Pausing and cancelling touch every queued message of the campaign.
    route.blocking = true;
    router.Add(std::move(route));
  }
}

}  // namespace kontor::messaging
