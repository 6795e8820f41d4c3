#include "payments/api.h"

#include "core/validation.h"
#include "http/params.h"
#include "payments/ach/json.h"
#include "payments/ach/reader.h"
#include "payments/calendar.h"

namespace kontor::payments {
namespace {

using http::Access;
using http::Request;
using http::Response;

constexpr uint64_t kMaxCsvBytes = 32u << 20;
constexpr uint64_t kMaxReturnFileBytes = 16u << 20;

const char* kOriginatorSchema = R"({"type":"object","additionalProperties":false,"properties":{
  "name":{"type":"string","maxLength":16,"description":"company name in batch headers"},
  "company_id":{"type":"string","minLength":10,"maxLength":10},
  "entry_description":{"type":"string","maxLength":10},
  "odfi_routing":{"type":"string","pattern":"^[0-9]{9}$"},
  "immediate_destination":{"type":"string","pattern":"^[0-9]{9}$"},
  "immediate_destination_name":{"type":"string","maxLength":23},
  "immediate_origin":{"type":"string","minLength":10,"maxLength":10},
  "immediate_origin_name":{"type":"string","maxLength":23},
  "time_zone":{"type":"string"},"same_day_cutoff":{"type":["string","null"],"pattern":"^[0-2][0-9]:[0-5][0-9]$"},
  "next_day_cutoff":{"type":"string"},"same_day_limit_cents":{"type":"integer"},
  "allow_same_day_split":{"type":"boolean"},
  "allowed_sec_codes":{"type":"array","items":{"enum":["PPD","CCD","CTX","WEB","TEL"]}},
  "offset":{"type":["object","null"],"properties":{"routing_number":{"type":"string"},
    "account_number":{"type":"string"},"account_type":{"enum":["checking","savings","general_ledger"]}}},
  "sftp":{"type":["object","null"],"properties":{"host":{"type":"string"},"port":{"type":"integer"},
    "username":{"type":"string"},"private_key":{"type":"string","writeOnly":true},
    "host_key_sha256":{"type":"string"},"upload_dir":{"type":"string"},"inbox_dir":{"type":"string"}}},
  "pgp_public_key":{"type":["string","null"],"description":"the bank's ASCII-armored OpenPGP key"},
  "status":{"enum":["active","disabled"]}}})";
const char* kCounterpartySchema = R"({"type":"object","additionalProperties":false,"properties":{
  "name":{"type":"string","maxLength":22},"kind":{"enum":["individual","company"]},
  "receiver_id":{"type":"string","maxLength":15},"email":{"type":["string","null"]},
  "routing_number":{"type":"string","pattern":"^[0-9]{9}$"},
  "account_number":{"type":"string","maxLength":17},
  "account_type":{"enum":["checking","savings","general_ledger","loan"]},
  "prenote":{"type":"boolean","description":"verify the account with a zero-dollar prenote first"},
  "status":{"enum":["active","disabled"]}}})";
const char* kTemplateSchema = R"({"type":"object","additionalProperties":false,"properties":{
  "name":{"type":"string"},"originator_id":{"type":"string"},"counterparty_id":{"type":"string"},
  "direction":{"enum":["credit","debit"]},"amount_cents":{"type":["integer","null"]},
  "sec_code":{"enum":["PPD","CCD","CTX","WEB","TEL"]},"entry_description":{"type":["string","null"]},
  "addenda":{"type":["string","null"]},"payment_type_code":{"type":["string","null"]},
  "same_day":{"type":"boolean"}}})";
const char* kPaymentInputSchema = R"({"type":"object","additionalProperties":false,
  "required":["originator_id","counterparty_id","direction","amount_cents","sec_code"],"properties":{
  "originator_id":{"type":"string"},"counterparty_id":{"type":"string"},
  "direction":{"enum":["credit","debit"]},"amount_cents":{"type":"integer","minimum":0},
  "sec_code":{"enum":["PPD","CCD","CTX","WEB","TEL"]},"prenote":{"type":"boolean"},
  "effective_date":{"type":"string","format":"date"},"same_day":{"type":"boolean"},
  "entry_description":{"type":"string","maxLength":10},"addenda":{"type":"string"},
  "payment_type_code":{"enum":["R","S"]},
  "individual_id":{"type":"string","maxLength":15,"description":"the receiver's id in this entry , default: the counterparty's receiver_id"},
  "idempotency_key":{"type":"string","maxLength":255,"description":"or the Idempotency-Key header"}}})";
const char* kPaymentSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"status":{"enum":["pending","scheduled","in_file","submitted","settled",
  "returned","failed","cancelled"]},"amount_cents":{"type":"integer"},"effective_date":{"type":"string"},
  "window":{"enum":["same_day","next_day"]},"window_at":{"type":"string"},
  "entries":{"type":"array"},"events":{"type":"array"}}})";
const char* kFileSchema = R"({"type":"object","properties":{"id":{"type":"string"},
  "name":{"type":"string"},"sha256":{"type":"string"},"status":{"enum":["built","delivered","failed"]},
  "entry_count":{"type":"integer"},"debit_total_cents":{"type":"integer"},
  "credit_total_cents":{"type":"integer"}}})";
const char* kUploadSchema = R"({"type":"object","properties":{"id":{"type":"string"},
  "status":{"enum":["validated","submitted","discarded"]},"total_rows":{"type":"integer"},
  "valid_rows":{"type":"integer"},"error_rows":{"type":"integer"},
  "errors":{"type":"array","items":{"type":"object","properties":{"row":{"type":"integer"},
  "column":{"type":"string"},"message":{"type":"string"}}}}}})";

json::value Schema(const char* s) { return json::parse(s); }

std::optional<std::string> IdempotencyHeader(const Request& req) {
  std::string_view h = req.Header("idempotency-key");
  if (h.empty()) return std::nullopt;
  return std::string(h);
}

Result<std::optional<int64_t>> IdQuery(const Request& req, const char* name) {
  auto v = req.Query(name);
  if (!v) return std::optional<int64_t>();
  std::optional<int64_t> id = ParseId(*v);
  if (!id) return Status::BadParameter(name, "must be an id");
  return id;
}

Result<std::optional<std::string>> DateQuery(const Request& req, const char* name) {
  auto v = req.Query(name);
  if (!v) return std::optional<std::string>();
  auto d = ParseDate(*v, name);
  if (!d.ok()) return Status::BadParameter(name, "must be a date YYYY-MM-DD");
  return std::optional<std::string>(*v);
}

template <typename T, typename F>
Response PageOf(const Page<T>& page, F to_json) {
  json::array items;
  for (const auto& x : page.first) items.push_back(to_json(x));
  return http::PageResponse(std::move(items), page.second);
}

Response PaymentAnswer(const CreateOutcome& out) {
  Response r = http::JsonResponse(out.replayed ? 200 : 201, PaymentToJson(out.payment, true));
  if (out.replayed) r.SetHeader("Idempotent-Replayed", "true");
  return r;
}

}  // namespace

void RegisterRoutes(http::Router& router, Services s) {
  const auto kPay = auth::Component::kPayments;
  const std::vector<http::QueryParam> kPaging = {{"cursor", "next_cursor of the previous page"},
                                                 {"limit", "1-500", "integer"}};

  // ---- originators
  router.Add({"GET", "/v1/originators", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit"}));
                ASSIGN_OR_RETURN(auto cursor, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(auto page, s.registry.ListOriginators(cursor, limit));
                return PageOf(page, OriginatorToJson);
              },
              "payments", "Originators: the companies whose payments Kontor sends", nullptr,
              http::PageSchema(), 200, kPaging});
  router.Add(http::Blocking({"POST", "/v1/originators", Access::Write(kPay),
                             [s](Request& req) -> Result<Response> {
                               ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                               ASSIGN_OR_RETURN(Originator o,
                                                s.registry.CreateOriginator(req.Actor(), body));
                               return http::JsonResponse(201, OriginatorToJson(o));
                             },
                             "payments",
                             "Create an originator (bank file settings, cutoff windows, SFTP "
                             "profile, PGP key)",
                             Schema(kOriginatorSchema), Schema(kOriginatorSchema), 201}));
  router.Add({"GET", "/v1/originators/{id}", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "originator"));
                ASSIGN_OR_RETURN(Originator o, s.registry.GetOriginator(id));
                return http::JsonResponse(200, OriginatorToJson(o));
              },
              "payments", "One originator (never its SFTP private key)", nullptr,
              Schema(kOriginatorSchema)});
  router.Add(http::Blocking({"PATCH", "/v1/originators/{id}", Access::Write(kPay),
                             [s](Request& req) -> Result<Response> {
                               ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "originator"));
                               ASSIGN_OR_RETURN(auto if_match, http::IfMatchVersion(req));
                               ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                               ASSIGN_OR_RETURN(Originator o, s.registry.UpdateOriginator(
                                                                  req.Actor(), id, body, if_match));
                               return http::JsonResponse(200, OriginatorToJson(o));
                             },
                             "payments", "Change an originator (If-Match honoured)",
                             Schema(kOriginatorSchema), Schema(kOriginatorSchema)}));

  // ---- counterparties
  router.Add({"GET",
              "/v1/counterparties",
              Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit", "q"}));
                ASSIGN_OR_RETURN(auto cursor, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(auto page,
                                 s.registry.ListCounterparties(req.Query("q"), cursor, limit));
                return PageOf(page, [](const Counterparty& c) { return CounterpartyToJson(c); });
              },
              "payments",
              "Counterparties and their bank accounts (account numbers masked)",
              nullptr,
              http::PageSchema(),
              200,
              {{"q", "name or account digits"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});
  router.Add({"POST", "/v1/counterparties", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(Counterparty c, s.registry.CreateCounterparty(req.Actor(), body));
                return http::JsonResponse(201, CounterpartyToJson(c));
              },
              "payments", "Create a counterparty (routing number check digit verified)",
              Schema(kCounterpartySchema), Schema(kCounterpartySchema), 201});
  router.Add({"GET", "/v1/counterparties/{id}", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "counterparty"));
                ASSIGN_OR_RETURN(Counterparty c, s.registry.GetCounterparty(id));
                return http::JsonResponse(200, CounterpartyToJson(c));
              },
              "payments", "One counterparty", nullptr, Schema(kCounterpartySchema)});
  router.Add({"PATCH", "/v1/counterparties/{id}", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "counterparty"));
                ASSIGN_OR_RETURN(auto if_match, http::IfMatchVersion(req));
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(Counterparty c,
                                 s.registry.UpdateCounterparty(req.Actor(), id, body, if_match));
                return http::JsonResponse(200, CounterpartyToJson(c));
              },
              "payments",
              "Change a counterparty; a new account is prenoted again when it uses prenotes",
              Schema(kCounterpartySchema), Schema(kCounterpartySchema)});

  // ---- templates
  router.Add({"GET", "/v1/payment-templates", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit"}));
                ASSIGN_OR_RETURN(auto cursor, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(auto page, s.registry.ListTemplates(cursor, limit));
                return PageOf(page, TemplateToJson);
              },
              "payments", "Payment templates", nullptr, http::PageSchema(), 200, kPaging});
  router.Add({"POST", "/v1/payment-templates", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(PaymentTemplate t, s.registry.CreateTemplate(req.Actor(), body));
                return http::JsonResponse(201, TemplateToJson(t));
              },
              "payments", "Create a payment template", Schema(kTemplateSchema),
              Schema(kTemplateSchema), 201});
  router.Add({"GET", "/v1/payment-templates/{id}", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment template"));
                ASSIGN_OR_RETURN(PaymentTemplate t, s.registry.GetTemplate(id));
                return http::JsonResponse(200, TemplateToJson(t));
              },
              "payments", "One payment template", nullptr, Schema(kTemplateSchema)});
  router.Add({"PATCH", "/v1/payment-templates/{id}", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment template"));
                ASSIGN_OR_RETURN(auto if_match, http::IfMatchVersion(req));
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(PaymentTemplate t,
                                 s.registry.UpdateTemplate(req.Actor(), id, body, if_match));
                return http::JsonResponse(200, TemplateToJson(t));
              },
              "payments", "Change a payment template", Schema(kTemplateSchema),
              Schema(kTemplateSchema)});
  router.Add({"DELETE", "/v1/payment-templates/{id}", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment template"));
                RETURN_IF_ERROR(s.registry.DeleteTemplate(req.Actor(), id));
                return http::NoContent();
              },
              "payments", "Delete a payment template (its payments stay)", nullptr, nullptr, 204});
  router.Add({"POST", "/v1/payment-templates/{id}/payments", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment template"));
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(
                    CreateOutcome out,
                    s.payments.CreateFromTemplate(req.Actor(), id, body, IdempotencyHeader(req)));
                return PaymentAnswer(out);
              },
              "payments",
              "Make a payment from a template (amount_cents, effective_date, same_day, "
              "entry_description, addenda, idempotency_key may be given)",
              Schema(R"({"type":"object","additionalProperties":false,"properties":{
                "amount_cents":{"type":"integer"},"effective_date":{"type":"string"},
                "same_day":{"type":"boolean"},"entry_description":{"type":"string"},
                "addenda":{"type":"string"},"idempotency_key":{"type":"string"}}})"),
              Schema(kPaymentSchema), 201});

  // ---- payments
  router.Add(
      {"GET",
       "/v1/payments",
       Access::Read(kPay),
       [s](Request& req) -> Result<Response> {
         RETURN_IF_ERROR(http::OnlyQueryParams(
             req, {"cursor", "limit", "status", "originator_id", "counterparty_id", "file_id",
                   "upload_id", "effective_from", "effective_to"}));
         PaymentFilter f;
         ASSIGN_OR_RETURN(f.before_id, http::CursorParam(req));
         ASSIGN_OR_RETURN(f.limit, http::LimitParam(req, 50, 500));
         if (auto st = req.Query("status")) {
           static const char* kStatuses[] = {"pending", "scheduled", "in_file", "submitted",
                                             "settled", "returned",  "failed",  "cancelled"};
           bool ok = false;
           for (const char* k : kStatuses) ok = ok || *st == k;
           if (!ok) return Status::BadParameter("status", "unknown payment status");
           f.status = *st;
         }
         ASSIGN_OR_RETURN(f.originator_id, IdQuery(req, "originator_id"));
         ASSIGN_OR_RETURN(f.counterparty_id, IdQuery(req, "counterparty_id"));
         ASSIGN_OR_RETURN(f.file_id, IdQuery(req, "file_id"));
         ASSIGN_OR_RETURN(f.upload_id, IdQuery(req, "upload_id"));
         ASSIGN_OR_RETURN(f.effective_from, DateQuery(req, "effective_from"));
         ASSIGN_OR_RETURN(f.effective_to, DateQuery(req, "effective_to"));
         ASSIGN_OR_RETURN(auto page, s.payments.List(f));
         return PageOf(page, [](const Payment& p) { return PaymentToJson(p); });
       },
       "payments",
       "Payments, newest first, with filters",
       nullptr,
       http::PageSchema(),
       200,
       {{"status", "pending, scheduled, in_file, submitted, settled, returned, failed, cancelled"},
        {"originator_id", "id"},
        {"counterparty_id", "id"},
        {"file_id", "id"},
        {"upload_id", "id"},
        {"effective_from", "YYYY-MM-DD"},
        {"effective_to", "YYYY-MM-DD"},
        {"cursor", "next_cursor of the previous page"},
        {"limit", "1-500", "integer"}}});
  router.Add({"POST", "/v1/payments", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(CreateOutcome out,
                                 s.payments.Create(req.Actor(), body, IdempotencyHeader(req)));
                return PaymentAnswer(out);
              },
              "payments",
              "Make a payment. Idempotent on idempotency_key (or the Idempotency-Key header): a "
              "repeat answers 200 with the first payment",
              Schema(kPaymentInputSchema), Schema(kPaymentSchema), 201});
  router.Add({"GET", "/v1/payments/{id}", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment"));
                ASSIGN_OR_RETURN(Payment p, s.payments.Get(id));
                json::object o = PaymentToJson(p, true);
                ASSIGN_OR_RETURN(o["events"], s.payments.Events(id));
                return http::JsonResponse(200, o);
              },
              "payments", "One payment with its entries (split parts) and status timeline", nullptr,
              Schema(kPaymentSchema)});
  router.Add(
      {"POST", "/v1/payments/{id}/cancel", Access::Write(kPay),
       [s](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment"));
         std::string reason;
         if (!req.body.empty()) {
           ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
           JsonReader r(body);
           reason = r.String("reason", false, 500).value_or("");
           RETURN_IF_ERROR(r.Finish());
         }
         ASSIGN_OR_RETURN(Payment p, s.payments.Cancel(req.Actor(), id, reason));
         return http::JsonResponse(200, PaymentToJson(p, true));
       },
       "payments", "Cancel a payment that is not in a file yet",
       Schema(
           R"({"type":"object","additionalProperties":false,"properties":{"reason":{"type":"string"}}})"),
       Schema(kPaymentSchema)});

  // ---- uploads
  http::Route upload{
      "POST",
      "/v1/payment-uploads",
      Access::Write(kPay),
      [s](Request& req) -> Result<Response> {
        RETURN_IF_ERROR(http::OnlyQueryParams(req, {"originator_id", "filename"}));
        ASSIGN_OR_RETURN(auto originator, IdQuery(req, "originator_id"));
        if (!originator) {
          return Status::BadParameter("originator_id", "is required");
        }
        if (req.body.empty()) {
          return Status::Validation({{"file", "is empty: send the CSV as the body"}});
        }
        ASSIGN_OR_RETURN(
            Upload u, s.uploads.Create(req.Actor(), *originator,
                                       req.Query("filename").value_or("payments.csv"), req.body));
        return http::JsonResponse(201, UploadToJson(u, true));
      },
      "payments",
      "Upload a payments CSV: every row is validated and reported by row and "
      "column; nothing is queued until the upload is submitted",
      nullptr,
      Schema(kUploadSchema),
      201,
      {{"originator_id", "the originator the payments are for"},
       {"filename", "the file's name, for the list"}}};
  upload.max_body_bytes = kMaxCsvBytes;
  upload.raw_body = "text/csv";
  router.Add(http::Blocking(std::move(upload)));
  router.Add({"GET", "/v1/payment-uploads", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit"}));
                ASSIGN_OR_RETURN(auto cursor, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 20, 100));
                ASSIGN_OR_RETURN(auto page, s.uploads.List(cursor, limit));
                return PageOf(page, [](const Upload& u) { return UploadToJson(u, false); });
              },
              "payments", "Payment uploads, newest first", nullptr, http::PageSchema(), 200,
              kPaging});
  router.Add({"GET", "/v1/payment-uploads/{id}", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment upload"));
                ASSIGN_OR_RETURN(Upload u, s.uploads.Get(id));
                return http::JsonResponse(200, UploadToJson(u, true));
              },
              "payments", "One upload with its row errors", nullptr, Schema(kUploadSchema)});
  {
    http::Route r{"GET",
                  "/v1/payment-uploads/{id}/errors.csv",
                  Access::Read(kPay),
                  [s](Request& req) -> Result<Response> {
                    ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment upload"));
                    ASSIGN_OR_RETURN(std::string csv, s.uploads.ErrorsCsv(id));
                    return http::FileResponse(
                        std::move(csv), "text/csv; charset=utf-8",
                        "payment-upload-" + std::to_string(id) + "-errors.csv");
                  },
                  "payments",
                  "The upload's error report as CSV (row, column, message)"};
    r.content_type = "text/csv";
    router.Add(std::move(r));
  }
  router.Add(
      {"POST", "/v1/payment-uploads/{id}/submit", Access::Write(kPay),
       [s](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment upload"));
         bool only_valid = false;
         if (!req.body.empty()) {
           ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
           JsonReader r(body);
           only_valid = r.Bool("only_valid", false).value_or(false);
           RETURN_IF_ERROR(r.Finish());
         }
         ASSIGN_OR_RETURN(Upload u, s.uploads.Submit(req.Actor(), id, only_valid));
         return http::JsonResponse(200, UploadToJson(u, false));
       },
       "payments",
       "Queue the upload's payments, all or none; with errors only when only_valid is true",
       Schema(
           R"({"type":"object","additionalProperties":false,"properties":{"only_valid":{"type":"boolean"}}})"),
       Schema(kUploadSchema)});
  router.Add({"POST", "/v1/payment-uploads/{id}/discard", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "payment upload"));
                ASSIGN_OR_RETURN(Upload u, s.uploads.Discard(req.Actor(), id));
                return http::JsonResponse(200, UploadToJson(u, false));
              },
              "payments", "Drop an upload without queueing anything", nullptr,
              Schema(kUploadSchema)});

  // ---- files
  router.Add({"GET",
              "/v1/ach-files",
              Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(
                    http::OnlyQueryParams(req, {"cursor", "limit", "originator_id", "status"}));
                ASSIGN_OR_RETURN(auto cursor, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(auto originator, IdQuery(req, "originator_id"));
                ASSIGN_OR_RETURN(auto page,
                                 s.files.List(originator, req.Query("status"), cursor, limit));
                return PageOf(page, AchFileToJson);
              },
              "payments",
              "ACH files built, newest first",
              nullptr,
              http::PageSchema(),
              200,
              {{"originator_id", "id"},
               {"status", "built, delivered or failed"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});
  router.Add(http::Blocking(
      {"POST", "/v1/ach-files", Access::Write(kPay),
       [s](Request& req) -> Result<Response> {
         std::optional<int64_t> originator, through;
         if (!req.body.empty()) {
           ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
           JsonReader r(body);
           originator = r.Id("originator_id", false);
           if (auto v = r.String("through", false, 40, 1)) {
             auto t = ParseRfc3339(*v);
             if (!t.ok())
               r.AddError("through", "must be an RFC 3339 time");
             else
               through = *t;
           }
           RETURN_IF_ERROR(r.Finish());
         }
         if (originator) RETURN_IF_ERROR(s.registry.GetOriginator(*originator).status());
         ASSIGN_OR_RETURN(auto files, s.files.BuildDue(req.Actor(), originator, through));
         json::array items;
         for (const auto& f : files) items.push_back(AchFileToJson(f));
         return http::JsonResponse(200, json::object{{"items", std::move(items)}});
       },
       "payments",
       "Build files now from the payments whose window is at or before `through` (default: now); "
       "the cutoff job does this at every cutoff",
       Schema(R"({"type":"object","additionalProperties":false,"properties":{
         "originator_id":{"type":"string"},"through":{"type":"string","format":"date-time"}}})"),
       http::PageSchema()}));
  router.Add({"GET", "/v1/ach-files/{id}", Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "ACH file"));
                ASSIGN_OR_RETURN(AchFile f, s.files.Get(id));
                return http::JsonResponse(200, AchFileToJson(f));
              },
              "payments", "One ACH file", nullptr, Schema(kFileSchema)});
  {
    http::Route r{"GET",
                  "/v1/ach-files/{id}/content",
                  Access::Read(kPay),
                  [s](Request& req) -> Result<Response> {
                    ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "ACH file"));
                    ASSIGN_OR_RETURN(AchFile f, s.files.Get(id));
                    ASSIGN_OR_RETURN(std::string content, s.files.Content(id));
                    return http::FileResponse(std::move(content), "text/plain; charset=us-ascii",
                                              f.name);
                  },
                  "payments",
                  "Download the NACHA file as built (unencrypted)"};
    r.content_type = "text/plain";
    router.Add(std::move(r));
  }
  router.Add(http::Blocking({"GET", "/v1/ach-files/{id}/parsed", Access::Read(kPay),
                             [s](Request& req) -> Result<Response> {
                               ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "ACH file"));
                               ASSIGN_OR_RETURN(std::string content, s.files.Content(id));
                               Response r;
                               r.status = 200;
                               r.content_type = "application/json";
                               r.body = ach::FileToJson(ach::Read(content));
                               return r;
                             },
                             "payments", "The file's records as JSON (the `kontor ach json` shape)",
                             nullptr, Schema(R"({"type":"object"})")}));
  router.Add({"POST", "/v1/ach-files/{id}/redeliver", Access::Write(kPay),
              [s](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "ACH file"));
                ASSIGN_OR_RETURN(AchFile f, s.files.Redeliver(req.Actor(), id));
                return http::JsonResponse(202, AchFileToJson(f));
              },
              "payments",
              "Queue a file for delivery now: a failed one again, or one waiting for its retry",
              nullptr, Schema(kFileSchema), 202});

  // ---- returns
  router.Add({"GET",
              "/v1/payment-returns",
              Access::Read(kPay),
              [s](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit", "payment_id"}));
                ASSIGN_OR_RETURN(auto cursor, http::CursorParam(req));
                ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
                ASSIGN_OR_RETURN(auto payment, IdQuery(req, "payment_id"));
                std::optional<int64_t> next;
                ASSIGN_OR_RETURN(json::array items, s.returns.List(payment, cursor, limit, &next));
                return http::PageResponse(std::move(items), next);
              },
              "payments",
              "Returns and notifications of change received, newest first",
              nullptr,
              http::PageSchema(),
              200,
              {{"payment_id", "id"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-500", "integer"}}});
  http::Route ret{
      "POST",
      "/v1/payment-returns",
      Access::Write(kPay),
      [s](Request& req) -> Result<Response> {
        RETURN_IF_ERROR(http::OnlyQueryParams(req, {"originator_id", "filename"}));
        ASSIGN_OR_RETURN(auto originator, IdQuery(req, "originator_id"));
        if (!originator) return Status::BadParameter("originator_id", "is required");
        if (req.body.empty()) {
          return Status::Validation({{"file", "is empty: send the return file as the body"}});
        }
        ASSIGN_OR_RETURN(
            InboxResult r,
            s.returns.Process(req.Actor(), *originator,
                              req.Query("filename").value_or("returns.ach"), req.body));
        return http::JsonResponse(r.already_processed ? 200 : 201,
                                  json::object{{"inbox_file_id", std::to_string(r.inbox_file_id)},
                                               {"already_processed", r.already_processed},
                                               {"entries", r.entries},
                                               {"matched", r.matched},
                                               {"items", r.items}});
      },
      "payments",
      "Process a return / NOC file by hand (the bank's inbox is fetched by a job)",
      nullptr,
      Schema(R"({"type":"object"})"),
      201,
      {{"originator_id", "id"}, {"filename", "the file's name"}}};
  ret.max_body_bytes = kMaxReturnFileBytes;
  ret.raw_body = "text/plain";
  router.Add(http::Blocking(std::move(ret)));

  router.Add(
      {"GET",
       "/v1/banking-calendar",
       Access::Read(kPay),
       [](Request& req) -> Result<Response> {
         RETURN_IF_ERROR(http::OnlyQueryParams(req, {"year"}));
         int year = static_cast<int>(
             date::year_month_day(date::floor<date::days>(std::chrono::system_clock::now()))
                 .year());
         if (auto y = req.Query("year")) {
           char* end = nullptr;
           long v = std::strtol(y->c_str(), &end, 10);
           if (y->empty() || *end != '\0' || v < 1990 || v > 2200) {
             return Status::BadParameter("year", "must be a year 1990-2200");
           }
           year = static_cast<int>(v);
         }
         json::array items;
         for (const auto& h : FederalReserveHolidays(year)) {
           items.push_back(
               {{"date", FormatDate(h.date)}, {"name", h.name}, {"actual", FormatDate(h.actual)}});
         }
         return http::JsonResponse(200, json::object{{"year", year}, {"items", std::move(items)}});
       },
       "payments",
       "Federal Reserve holidays of a year (the days ACH does not settle)",
       nullptr,
       http::PageSchema(),
       200,
       {{"year", "1990-2200", "integer"}}});
}

}  // namespace kontor::payments
