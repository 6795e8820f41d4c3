#include "jobs/api.h"

#include "audit/audit.h"
#include "http/params.h"

namespace kontor::jobs {
namespace {

using http::Access;
using http::Request;
using http::Response;

const char* kJobSchema =
    R"({"type":"object","properties":{"id":{"type":"string"},"kind":{"type":"string"},
  "state":{"enum":["queued","running","succeeded","failed","cancelled"]},"payload":{"type":"object"},
  "run_at":{"type":"string"},"attempts":{"type":"integer"},"max_attempts":{"type":"integer"},
  "progress":{"type":"object","properties":{"done":{"type":"integer"},"total":{"type":"integer"}}},
  "last_error":{"type":["string","null"]},"lease_owner":{"type":["string","null"]},
  "lease_expires_at":{"type":["string","null"]},"schedule":{"type":["string","null"]},
  "created_at":{"type":"string"},"updated_at":{"type":"string"},"finished_at":{"type":["string","null"]}}})";

}  // namespace

void RegisterRoutes(http::Router& router, store::Database& db, JobService& jobs) {
  const auto kAdmin = auth::Component::kAdmin;
  router.Add({"GET",
              "/v1/jobs",
              Access::Read(kAdmin),
              [&jobs](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"state", "kind", "cursor", "limit"}));
                JobFilter f;
                f.state = req.Query("state");
                if (f.state && *f.state != "queued" && *f.state != "running" &&
                    *f.state != "succeeded" && *f.state != "failed" && *f.state != "cancelled") {
                  return Status::BadParameter(
                      "state", "must be queued, running, succeeded, failed or cancelled");
                }
                f.kind = req.Query("kind");
                ASSIGN_OR_RETURN(f.before_id, http::CursorParam(req));
                ASSIGN_OR_RETURN(f.limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(JobPage page, jobs.List(f));
                json::array items;
                for (const auto& j : page.items) items.push_back(JobToJson(j));
                return http::PageResponse(std::move(items), page.next_before_id);
              },
              "jobs",
              "List jobs, newest first",
              nullptr,
              http::PageSchema(),
              200,
              {{"state", "queued, running, succeeded, failed, cancelled"},
               {"kind", "job kind"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});

  router.Add({"GET", "/v1/jobs/{id}", Access::Read(kAdmin),
              [&db, &jobs](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "job"));
                Result<Job> job = Status::Internal("unset");
                RETURN_IF_ERROR(db.WithConnection([&](store::Connection& c) {
                  job = jobs.Get(c, id);
                  return Status::Ok();
                }));
                if (!job.ok()) return job.status();
                return http::JsonResponse(200, JobToJson(*job));
              },
              "jobs", "Get one job with its progress", nullptr, json::parse(kJobSchema)});

  router.Add(
      {"POST", "/v1/jobs", Access::Write(kAdmin),
       [&db, &jobs](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         JsonReader r(body);
         EnqueueRequest e;
         auto kind = r.String("kind", true, 100, 1);
         if (kind && !jobs.HasKind(*kind))
           r.AddError("kind", "unknown job kind; see GET /v1/job-kinds");
         if (const json::object* p = r.Object("payload", false)) e.payload = *p;
         if (auto run_at = r.String("run_at", false, 40)) {
           auto t = ParseRfc3339(*run_at);
           if (t.ok())
             e.run_at = *t;
           else
             r.AddError("run_at", "must be an RFC 3339 time");
         }
         RETURN_IF_ERROR(r.Finish());
         e.kind = *kind;
         e.created_by = req.Actor().label;
         Result<Job> job = Status::Internal("unset");
         RETURN_IF_ERROR(db.Transact([&](store::Connection& c) -> Status {
           ASSIGN_OR_RETURN(int64_t id, jobs.Enqueue(c, e));
           ASSIGN_OR_RETURN(Job j, jobs.Get(c, id));
           RETURN_IF_ERROR(audit::Record(
               c, req.Actor(),
               {"job.create", "job", std::to_string(id), std::nullopt, json::value(JobToJson(j))}));
           job = std::move(j);
           return Status::Ok();
         }));
         return http::JsonResponse(201, JobToJson(*job));
       },
       "jobs", "Start a job of a registered kind, now or at run_at",
       json::parse(
           R"({"type":"object","required":["kind"],"additionalProperties":false,"properties":{
                "kind":{"type":"string"},"payload":{"type":"object"},"run_at":{"type":"string","format":"date-time"}}})"),
       json::parse(kJobSchema), 201});

  router.Add({"POST", "/v1/jobs/{id}/cancel", Access::Write(kAdmin),
              [&db, &jobs](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "job"));
                Result<Job> job = Status::Internal("unset");
                RETURN_IF_ERROR(db.Transact([&](store::Connection& c) -> Status {
                  ASSIGN_OR_RETURN(Job before, jobs.Get(c, id));
                  ASSIGN_OR_RETURN(Job after, jobs.RequestCancel(c, id));
                  RETURN_IF_ERROR(audit::Record(
                      c, req.Actor(),
                      {"job.cancel", "job", std::to_string(id), json::value(JobToJson(before)),
                       json::value(JobToJson(after))}));
                  job = std::move(after);
                  return Status::Ok();
                }));
                return http::JsonResponse(200, JobToJson(*job));
              },
              "jobs", "Cancel a queued job, or ask a running one to stop", nullptr,
              json::parse(kJobSchema)});

  router.Add({"GET", "/v1/job-kinds", Access::Read(kAdmin),
              [&jobs](Request&) -> Result<Response> {
                json::array items;
                for (const auto& [kind, description] : jobs.Kinds()) {
                  items.push_back({{"kind", kind}, {"description", description}});
                }
                return http::JsonResponse(200, json::object{{"items", std::move(items)}});
              },
              "jobs", "Job kinds this server can run", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});

  router.Add({"GET", "/v1/schedules", Access::Read(kAdmin),
              [&jobs](Request&) -> Result<Response> {
                ASSIGN_OR_RETURN(json::array items, jobs.ListSchedules());
                return http::JsonResponse(200, json::object{{"items", std::move(items)}});
              },
              "jobs", "Periodic job schedules", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});
}

}  // namespace kontor::jobs
