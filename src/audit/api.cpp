#include "audit/api.h"

#include "audit/audit.h"
#include "http/params.h"

namespace kontor::audit {

void RegisterRoutes(http::Router& router, store::Database& db) {
  router.Add({"GET",
              "/v1/audit",
              http::Access::Read(auth::Component::kAdmin),
              [&db](http::Request& req) -> Result<http::Response> {
                RETURN_IF_ERROR(
                    http::OnlyQueryParams(req, {"actor", "action", "resource_type", "resource_id",
                                                "since", "until", "cursor", "limit"}));
                Filter f;
                f.actor = req.Query("actor");
                f.action = req.Query("action");
                f.resource_type = req.Query("resource_type");
                f.resource_id = req.Query("resource_id");
                ASSIGN_OR_RETURN(f.since_ms, http::TimeParam(req, "since"));
                ASSIGN_OR_RETURN(f.until_ms, http::TimeParam(req, "until"));
                ASSIGN_OR_RETURN(f.before_id, http::CursorParam(req));
                ASSIGN_OR_RETURN(f.limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(Page page, Query(db, f));
                return http::PageResponse(std::move(page.items), page.next_before_id);
              },
              "audit",
              "The audit log, newest first",
              nullptr,
              http::PageSchema(),
              200,
              {{"actor", "actor label (substring) or id"},
               {"action", "exact action, or a prefix ending in *"},
               {"resource_type", "e.g. user, token, role"},
               {"resource_id", "id of the resource"},
               {"since", "RFC 3339, inclusive", "string"},
               {"until", "RFC 3339, exclusive", "string"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});
}

}  // namespace kontor::audit
