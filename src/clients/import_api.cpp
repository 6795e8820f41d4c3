#include "clients/import_api.h"

#include "clients/api.h"
#include "clients/export.h"
#include "clients/segment.h"
#include "http/params.h"

namespace kontor::clients {
namespace {

using http::Access;
using http::Request;
using http::Response;

constexpr uint64_t kMaxUploadBytes = 100ull << 20;

const char* kImportSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"kind":{"enum":["customers","subscriptions"]},"filename":{"type":"string"},
  "size_bytes":{"type":"integer"},"sha256":{"type":"string"},
  "state":{"enum":["uploaded","queued","running","succeeded","failed","cancelled"]},
  "delimiter":{"enum":[",",";"]},"columns":{"type":"array","items":{"type":"string"}},
  "mapping":{"type":["object","null"]},"suggested_mapping":{"type":"object"},
  "preview":{"type":"array","items":{"type":"array","items":{"type":"string"}}},
  "fields":{"type":"array"},"job_id":{"type":["string","null"]},
  "progress":{"type":"object","properties":{"done":{"type":"integer"},"total":{"type":"integer"}}},
  "counts":{"type":"object"},"errors":{"type":"array","items":{"type":"object","properties":{
    "row":{"type":"integer"},"column":{"type":"string"},"field":{"type":"string"},"message":{"type":"string"}}}},
  "error":{"type":["string","null"]},"previous_import_id":{"type":["string","null"]},
  "created_by":{"type":"string"},"created_at":{"type":"string"},"started_at":{"type":["string","null"]},
  "finished_at":{"type":["string","null"]}}})";

Response CsvResponse(std::string body, const std::string& filename) {
  return http::FileResponse(std::move(body), "text/csv; charset=utf-8", filename);
}

json::object FilterToJson(const Request& req) {
  json::object o;
  for (const char* k : {"list", "segment", "q", "tag", "status", "updated_since"}) {
    if (auto v = req.Query(k)) o[k] = *v;
  }
  return o;
}

}  // namespace

void RegisterImportRoutes(http::Router& router, store::Database& db, ImportService& imports) {
  const auto kCustomers = auth::Component::kCustomers;

  // On the blocking pool: an export of a large list reads for a while and
  // must not hold up the event loop's other connections.
  router.Add(http::Blocking(
      {"GET",
       "/v1/customers/export.csv",
       Access::Read(kCustomers),
       [&db](Request& req) -> Result<Response> {
         RETURN_IF_ERROR(http::OnlyQueryParams(
             req, {"q", "tag", "status", "list", "segment", "updated_since"}));
         ASSIGN_OR_RETURN(CustomerService::Filter f, CustomerFilterFromQuery(db, req));
         ASSIGN_OR_RETURN(std::shared_ptr<http::SpoolFile> csv, http::SpoolFile::Create());
         ASSIGN_OR_RETURN(CustomerExport e,
                          ExportCustomersCsv(db, f, [&csv](std::string_view text) {
                            return csv->Append(text);
                          }));
         RETURN_IF_ERROR(csv->Flush());
         const audit::Actor actor = req.Actor();
         RETURN_IF_ERROR(db.Transact([&](store::Connection& c) {
           return audit::Record(
               c, actor,
               {"customers.export", "customer", "", std::nullopt,
                json::value(json::object{{"filter", FilterToJson(req)}, {"rows", e.rows}})});
         }));
         return http::FileResponse(std::move(csv), "text/csv; charset=utf-8", "customers.csv");
       },
       "customers",
       "The customers of a list, segment or search as CSV (UTF-8, ','), with one "
       "attributes.<name> column "
       "per attribute",
       nullptr,
       json::parse(R"({"type":"string"})"),
       200,
       {{"list", "members of this list (key), any kind"},
        {"segment", "matches this saved segment (key)"},
        {"q", "email, name, company or exact external id"},
        {"tag", "has this tag"},
        {"status", "active, inactive or erased"},
        {"updated_since", "RFC 3339"}},
       "text/csv"}));

  http::Route upload{
      "POST",
      "/v1/imports",
      Access::Write(kCustomers),
      [&imports](Request& req) -> Result<Response> {
        RETURN_IF_ERROR(http::OnlyQueryParams(req, {"kind", "filename"}));
        auto kind_name = req.Query("kind");
        std::optional<ImportKind> kind = ParseImportKind(kind_name.value_or(""));
        if (!kind) return Status::BadParameter("kind", "must be customers or subscriptions");
        if (req.body.empty())
          return Status::Validation({{"file", "is empty: send the CSV as the body"}});
        ASSIGN_OR_RETURN(Import m,
                         imports.Upload(req.Actor(), *kind,
                                        req.Query("filename").value_or("upload.csv"), req.body));
        return http::JsonResponse(201, ImportToJson(m));
      },
      "imports",
      "Upload a CSV file (UTF-8, ',' or ';', header row) to import: answers the columns, a "
      "suggested "
      "mapping and a preview",
      nullptr,
      json::parse(kImportSchema),
      201,
      {{"kind", "customers or subscriptions"}, {"filename", "the file's name, for the list"}}};
  upload.max_body_bytes = kMaxUploadBytes;
  upload.raw_body = "text/csv";
  router.Add(http::Blocking(std::move(upload)));

  router.Add({"GET",
              "/v1/imports",
              Access::Write(kCustomers),
              [&imports](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit"}));
                ASSIGN_OR_RETURN(std::optional<int64_t> before, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 20, 100));
                ASSIGN_OR_RETURN(auto page, imports.List(before, limit));
                json::array items;
                for (const auto& m : page.first) items.push_back(ImportToJson(m));
                return http::PageResponse(std::move(items), page.second);
              },
              "imports",
              "Imports, newest first",
              nullptr,
              http::PageSchema(),
              200,
              {{"cursor", "next_cursor of the previous page"}, {"limit", "1-100", "integer"}}});

  router.Add({"GET", "/v1/imports/{id}", Access::Write(kCustomers),
              [&imports](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "import"));
                ASSIGN_OR_RETURN(Import m, imports.Get(id));
                return http::JsonResponse(200, ImportToJson(m));
              },
              "imports", "An import with its state, progress, counts and first 50 errors", nullptr,
              json::parse(kImportSchema)});

  router.Add(
      {"POST", "/v1/imports/{id}/start", Access::Write(kCustomers),
       [&imports](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "import"));
         std::optional<json::object> mapping;
         if (!req.body.empty()) {
           ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
           JsonReader r(body);
           if (const json::object* m = r.Object("mapping", false)) mapping = *m;
           RETURN_IF_ERROR(r.Finish());
         }
         ASSIGN_OR_RETURN(Import m, imports.Start(req.Actor(), id, mapping ? &*mapping : nullptr));
         return http::JsonResponse(202, ImportToJson(m));
       },
       "imports", "Start an uploaded import with a column mapping (default: the suggested one)",
       json::parse(R"({"type":"object","additionalProperties":false,"properties":{
                "mapping":{"type":"object","additionalProperties":{"type":["string","null"]}}}})"),
       json::parse(kImportSchema), 202});

  router.Add({"POST", "/v1/imports/{id}/cancel", Access::Write(kCustomers),
              [&imports](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "import"));
                ASSIGN_OR_RETURN(Import m, imports.Cancel(req.Actor(), id));
                return http::JsonResponse(202, ImportToJson(m));
              },
              "imports", "Stop an import after the current chunk of rows (applied rows stay)",
              nullptr, json::parse(kImportSchema), 202});

  router.Add({"GET",
              "/v1/imports/{id}/errors.csv",
              Access::Write(kCustomers),
              [&imports](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "import"));
                ASSIGN_OR_RETURN(std::string csv, imports.ErrorsCsv(id));
                return CsvResponse(std::move(csv), "import-" + std::to_string(id) + "-errors.csv");
              },
              "imports",
              "Every error of an import as CSV: row,column,field,message",
              nullptr,
              json::parse(R"({"type":"string"})"),
              200,
              {},
              "text/csv"});
}

}  // namespace kontor::clients
