#include "clients/api.h"

#include "clients/changes.h"
#include "clients/segment.h"
#include "http/params.h"

namespace kontor::clients {
namespace {

using http::Access;
using http::Request;
using http::Response;

constexpr size_t kMaxBatchItems = 10000;
constexpr uint64_t kMaxBatchBytes = 64ull << 20;

const char* kCustomerSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"external_id":{"type":"string"},
  "type":{"enum":["individual","sole_proprietor","company"]},"salutation":{"type":["string","null"]},
  "first_name":{"type":["string","null"]},"last_name":{"type":["string","null"]},
  "company_name":{"type":["string","null"]},"email":{"type":["string","null"],"format":"email"},
  "phone":{"type":["string","null"],"description":"E.164"},"language":{"type":["string","null"]},
  "country":{"type":["string","null"]},"time_zone":{"type":["string","null"]},
  "status":{"enum":["active","inactive","erased"]},"attributes":{"type":"object"},
  "tags":{"type":"array","items":{"type":"string"}},
  "consent":{"type":"object","additionalProperties":{"type":"object","properties":{
    "status":{"enum":["granted","withdrawn"]},"source":{"type":"string"},"at":{"type":"string"}}}},
  "version":{"type":"integer"},"created_at":{"type":"string"},"updated_at":{"type":"string"},
  "erased_at":{"type":["string","null"]}}})";

const char* kCustomerInputSchema = R"({"type":"object","additionalProperties":false,"properties":{
  "external_id":{"type":"string"},"type":{"enum":["individual","sole_proprietor","company"]},
  "salutation":{"type":["string","null"]},"first_name":{"type":["string","null"]},
  "last_name":{"type":["string","null"]},"company_name":{"type":["string","null"]},
  "email":{"type":["string","null"]},"phone":{"type":["string","null"]},
  "language":{"type":["string","null"]},"country":{"type":["string","null"]},
  "time_zone":{"type":["string","null"]},"status":{"enum":["active","inactive"]},
  "attributes":{"type":"object"},"tags":{"type":"array","items":{"type":"string"}},
  "consent":{"type":"object"}}})";

// Every synced record answers with its version as ETag, for If-Match.
Response Versioned(int status, const json::object& body, int64_t version) {
  Response r = http::JsonResponse(status, body);
  r.SetHeader("ETag", "\"" + std::to_string(version) + "\"");
  return r;
}

Response CustomerResponse(int status, const Customer& c) {
  return Versioned(status, CustomerToJson(c), c.version);
}

// The answer to a create-or-update: 201 when this call created the record
// (changed at version 1), else 200.
template <typename T, typename F>
Response UpsertResponse(const std::pair<T, bool>& up, F to_json) {
  const bool created = up.second && up.first.version == 1;
  return Versioned(created ? 201 : 200, to_json(up.first), up.first.version);
}

Result<std::string> PathExternalId(const Request& req) {
  const std::string& id = req.PathParam("external_id");
  if (!ValidateExternalId(id).ok()) return Status::NotFound("no customer " + id);
  return id;
}

// The items of a batch body: a JSON array, or NDJSON (one object a line).
Result<std::vector<json::value>> BatchItems(const Request& req) {
  std::vector<json::value> items;
  std::string_view ct = req.Header("content-type");
  const bool ndjson =
      ct.starts_with("application/x-ndjson") || ct.starts_with("application/ndjson");
  json::parse_options opt;
  opt.max_depth = 32;
  if (!ndjson) {
    std::error_code ec;
    json::value v = json::parse(req.body, ec, {}, opt);
    if (ec) return Status::InvalidArgument("malformed JSON: " + ec.message());
    if (!v.is_array()) return Status::Validation({{"body", "must be a JSON array of customers"}});
    for (auto& item : v.as_array()) items.push_back(std::move(item));
  } else {
    size_t line_no = 0, pos = 0;
    while (pos < req.body.size()) {
      size_t end = req.body.find('\n', pos);
      if (end == std::string::npos) end = req.body.size();
      std::string_view line(req.body.data() + pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      std::error_code ec;
      json::value v = json::parse(line, ec, {}, opt);
      if (ec) {
        // Kept as a string so its result can name the line.
        items.emplace_back(
            json::string("\x01line " + std::to_string(line_no) + ": " + ec.message()));
        continue;
      }
      items.push_back(std::move(v));
    }
  }
  if (items.size() > kMaxBatchItems) {
    return Status::Validation(
        {{"body", "at most " + std::to_string(kMaxBatchItems) + " customers per call"}});
  }
  return items;
}

Result<Response> Batch(CustomerService& svc, Request& req) {
  if (req.body.empty()) return Status::InvalidArgument("a JSON array or NDJSON body is required");
  ASSIGN_OR_RETURN(std::vector<json::value> items, BatchItems(req));
  const audit::Actor actor = req.Actor();
  json::array results(items.size());
  int64_t created = 0, updated = 0, unchanged = 0, failed = 0;
  auto fail = [&](size_t i, const std::string& prefix, const Status& st) {
    ++failed;
    json::array errors;
    for (const auto& f : st.fields())
      errors.push_back({{"field", f.field}, {"message", f.message}});
    if (errors.empty())
      errors.push_back({{"field", prefix.substr(0, prefix.size() - 1)}, {"message", st.message()}});
    json::object& result = results[i].as_object();
    result["status"] = "error";
    result["errors"] = std::move(errors);
  };
  // Bad items are answered before anything is written; the good ones go in
  // one transaction through the bulk path.
  std::vector<CustomerInput> good;
  std::vector<size_t> good_index;
  good.reserve(items.size());
  good_index.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string prefix = "items[" + std::to_string(i) + "].";
    results[i] = json::object{{"index", static_cast<int64_t>(i)}};
    const json::value& item = items[i];
    if (item.is_string() && item.get_string().starts_with("\x01")) {
      fail(i, prefix, Status::InvalidArgument(std::string(item.get_string().subview(1))));
    } else if (!item.is_object()) {
      fail(i, prefix,
           Status::Validation({{prefix.substr(0, prefix.size() - 1), "must be a JSON object"}}));
    } else if (auto in = ParseCustomer(item.get_object(), std::nullopt, actor.now_ms, prefix);
               !in.ok()) {
      fail(i, prefix, in.status());
    } else {
      results[i].as_object()["external_id"] = in->external_id;
      good.push_back(std::move(*in));
      good_index.push_back(i);
    }
  }
  ASSIGN_OR_RETURN(std::vector<Result<UpsertResult>> applied,
                   svc.UpsertMany(actor, std::move(good)));
  for (size_t k = 0; k < applied.size(); ++k) {
    const size_t i = good_index[k];
    const Result<UpsertResult>& up = applied[k];
    if (!up.ok()) {
      fail(i, "items[" + std::to_string(i) + "].", up.status());
      continue;
    }
    json::object& result = results[i].as_object();
    result["status"] = up->created ? "created" : up->changed ? "updated" : "unchanged";
    result["version"] = up->customer.version;
    ++(up->created ? created : up->changed ? updated : unchanged);
  }
  return http::JsonResponse(200, json::object{{"created", created},
                                              {"updated", updated},
                                              {"unchanged", unchanged},
                                              {"failed", failed},
                                              {"items", std::move(results)}});
}

}  // namespace

Result<CustomerService::Filter> CustomerFilterFromQuery(store::Database& db,
                                                        const http::Request& req) {
  CustomerService::Filter f;
  f.q = req.Query("q");
  f.tag = req.Query("tag");
  f.status = req.Query("status");
  if (f.status && *f.status != "active" && *f.status != "inactive" && *f.status != "erased") {
    return Status::BadParameter("status", "must be active, inactive or erased");
  }
  json::array conditions;
  if (auto list = req.Query("list")) conditions.push_back(json::object{{"member_of", *list}});
  if (auto seg = req.Query("segment")) conditions.push_back(json::object{{"segment", *seg}});
  if (!conditions.empty()) {
    Status compiled = db.WithConnection([&](store::Connection& c) -> Status {
      DbSegmentResolver resolver(c);
      ASSIGN_OR_RETURN(CompiledSegment s,
                       CompileSegment(json::value(json::object{{"all", conditions}}), c.dialect(),
                                      req.now_ms, resolver, "query"));
      f.segment_where = std::move(s.where);
      f.segment_params = std::move(s.params);
      return Status::Ok();
    });
    if (compiled.code() == StatusCode::kNotFound || compiled.code() == StatusCode::kValidation) {
      // The compiler's own message names the rule path; the caller knows a key.
      std::string why =
          compiled.fields().empty() ? compiled.message() : compiled.fields()[0].message;
      return Status::BadParameter(req.Query("list") ? "list" : "segment", why);
    }
    RETURN_IF_ERROR(compiled);
  }
  ASSIGN_OR_RETURN(f.updated_since, http::TimeParam(req, "updated_since"));
  return f;
}

void RegisterRoutes(http::Router& router, store::Database& db, CustomerService& svc,
                    SubscriptionService& subs, DeviceService& devices, ListService& lists,
                    SegmentService& segments) {
  const auto kCustomers = auth::Component::kCustomers;
  // Literal paths first: /v1/customers/batch must not be taken for an id.
  router.Add(
      {"POST",
       "/v1/customers/batch",
       Access::Write(kCustomers),
       [&svc](Request& req) { return Batch(svc, req); },
       "customers",
       "Create or update up to 10,000 customers (JSON array or NDJSON); per-item results",
       json::parse(R"({"type":"array","maxItems":10000,"items":{"type":"object"}})"),
       json::parse(
           R"({"type":"object","properties":{"created":{"type":"integer"},"updated":{"type":"integer"},
                "unchanged":{"type":"integer"},"failed":{"type":"integer"},"items":{"type":"array"}}})"),
       200,
       {},
       "application/json",
       /*blocking=*/true,  // hundreds of milliseconds of parsing and writing
       kMaxBatchBytes,
       true});

  router.Add({"GET",
              "/v1/customers",
              Access::Read(kCustomers),
              [&svc, &db](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {"q", "tag", "status", "list", "segment",
                                                            "updated_since", "cursor", "limit"}));
                ASSIGN_OR_RETURN(CustomerService::Filter f, CustomerFilterFromQuery(db, req));
                ASSIGN_OR_RETURN(f.after_id, http::CursorParam(req));
                ASSIGN_OR_RETURN(f.limit, http::LimitParam(req, 50, 1000));
                ASSIGN_OR_RETURN(auto page, svc.List(f));
                json::array items;
                for (const auto& c : page.first) items.push_back(CustomerToJson(c));
                return http::PageResponse(std::move(items), page.second);
              },
              "customers",
              "Search and page customers",
              nullptr,
              http::PageSchema(),
              200,
              {{"q", "email, name, company or exact external id"},
               {"tag", "has this tag"},
               {"status", "active, inactive or erased"},
               {"list", "member of this list (key), any kind"},
               {"segment", "matches this saved segment (key)"},
               {"updated_since", "RFC 3339"},
               {"cursor", "next_cursor of the previous page"},
               {"limit", "1-1000", "integer"}}});

  router.Add({"PUT", "/v1/customers/{external_id}", Access::Write(kCustomers),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string id, PathExternalId(req));
                ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
                ASSIGN_OR_RETURN(CustomerInput in, ParseCustomer(body, id, req.now_ms));
                ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
                ASSIGN_OR_RETURN(UpsertResult r, svc.Upsert(req.Actor(), in, if_match));
                return CustomerResponse(r.created ? 201 : 200, r.customer);
              },
              "customers", "Create or update a customer by the upstream system's id (idempotent)",
              json::parse(kCustomerInputSchema), json::parse(kCustomerSchema)});

  router.Add({"GET", "/v1/customers/{external_id}", Access::Read(kCustomers),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string id, PathExternalId(req));
                ASSIGN_OR_RETURN(Customer c, svc.Get(id));
                return CustomerResponse(200, c);
              },
              "customers", "Get a customer", nullptr, json::parse(kCustomerSchema)});

  router.Add({"DELETE", "/v1/customers/{external_id}", Access::Write(kCustomers),
              [&svc](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string id, PathExternalId(req));
                ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
                RETURN_IF_ERROR(svc.Erase(req.Actor(), id, if_match).status());
                return http::NoContent();
              },
              "customers",
              "Erase a customer: personal data anonymized, the record and audit trail kept",
              nullptr, nullptr, 204});

  router.Add({"GET", "/v1/customers/{external_id}/subscriptions", Access::Read(kCustomers),
              [&subs](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string id, PathExternalId(req));
                ASSIGN_OR_RETURN(auto list, subs.ListForCustomer(id));
                return http::ItemsResponse(list, SubscriptionToJson);
              },
              "subscriptions", "A customer's subscriptions and single purchases", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});

  router.Add(
      {"GET",
       "/v1/customers/{external_id}/timeline",
       Access::Read(kCustomers),
       [&db, &svc](Request& req) -> Result<Response> {
         RETURN_IF_ERROR(http::OnlyQueryParams(req, {"cursor", "limit"}));
         ASSIGN_OR_RETURN(std::string id, PathExternalId(req));
         ASSIGN_OR_RETURN(std::optional<int64_t> before, http::CursorParam(req));
         ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 50, 500));
         RETURN_IF_ERROR(svc.Get(id).status());  // 404 for an unknown customer
         ASSIGN_OR_RETURN(TimelinePage page, ReadCustomerTimeline(db, id, before, limit));
         return http::PageResponse(std::move(page.items), page.next_before);
       },
       "customers",
       "A customer's changes, newest first: the customer, its subscriptions, list memberships and "
       "devices",
       nullptr,
       http::PageSchema(),
       200,
       {{"cursor", "next_cursor of the previous page"}, {"limit", "1-500", "integer"}}});
  router.Add(
      {"GET", "/v1/customers/{external_id}/lists", Access::Read(kCustomers),
       [&lists](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(std::string id, PathExternalId(req));
         ASSIGN_OR_RETURN(auto of, lists.ListsOf(id, req.now_ms));
         return http::ItemsResponse(of, [](const DistributionList& l) {
           return json::object{{"key", l.data.key}, {"name", l.data.name}, {"kind", l.data.kind}};
         });
       },
       "lists", "Every list (any kind) the customer is a member of now", nullptr,
       json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});

  router.Add({"GET", "/v1/products", Access::Read(kCustomers),
              [&subs](Request&) -> Result<Response> {
                ASSIGN_OR_RETURN(auto list, subs.ListProducts());
                return http::ItemsResponse(list, ProductToJson);
              },
              "products", "List products", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});
  router.Add(
      {"PUT", "/v1/products/{code}", Access::Write(kCustomers),
       [&subs](Request& req) -> Result<Response> {
         const std::string& code = req.PathParam("code");
         if (!ValidateExternalId(code).ok() || code.size() > 64)
           return Status::NotFound("no product " + code);
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         JsonReader r(body);
         auto name = r.String("name", true, 200, 1);
         auto kind = r.Enum("kind", true, {"subscription", "single"});
         RETURN_IF_ERROR(r.Finish());
         ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
         ASSIGN_OR_RETURN(auto up, subs.UpsertProduct(req.Actor(), code, *name, *kind, if_match));
         return UpsertResponse(up, ProductToJson);
       },
       "products", "Create or update a product by code",
       json::parse(R"({"type":"object","required":["name","kind"],"additionalProperties":false,
                "properties":{"name":{"type":"string"},"kind":{"enum":["subscription","single"]}}})"),
       json::parse(R"({"type":"object"})")});
  router.Add({"GET", "/v1/products/{code}", Access::Read(kCustomers),
              [&subs](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(Product p, subs.GetProduct(req.PathParam("code")));
                return http::JsonResponse(200, ProductToJson(p));
              },
              "products", "Get a product", nullptr, json::parse(R"({"type":"object"})")});

  router.Add(
      {"PUT", "/v1/subscriptions/{external_id}", Access::Write(kCustomers),
       [&subs](Request& req) -> Result<Response> {
         const std::string& id = req.PathParam("external_id");
         if (!ValidateExternalId(id).ok()) return Status::NotFound("no subscription " + id);
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         ASSIGN_OR_RETURN(SubscriptionInput in, ParseSubscription(body, id));
         ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
         ASSIGN_OR_RETURN(auto up, subs.Upsert(req.Actor(), in, if_match));
         return UpsertResponse(up, SubscriptionToJson);
       },
       "subscriptions", "Create or update a subscription (customer x product) by its upstream id",
       json::parse(
           R"({"type":"object","required":["customer","product"],"additionalProperties":false,
                "properties":{"customer":{"type":"string"},"product":{"type":"string"},
                "status":{"enum":["active","paused","cancelled","expired"]},
                "starts_at":{"type":"string","format":"date-time"},"ends_at":{"type":"string","format":"date-time"},
                "source":{"type":"string"}}})"),
       json::parse(R"({"type":"object"})")});
  router.Add({"GET", "/v1/subscriptions/{external_id}", Access::Read(kCustomers),
              [&subs](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(Subscription s, subs.Get(req.PathParam("external_id")));
                return http::JsonResponse(200, SubscriptionToJson(s));
              },
              "subscriptions", "Get a subscription", nullptr, json::parse(R"({"type":"object"})")});

  // Before /v1/devices/{installation_id}: "stats" is no installation id.
  router.Add({"GET", "/v1/devices/stats", Access::Read(kCustomers),
              [&devices](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(http::OnlyQueryParams(req, {}));
                ASSIGN_OR_RETURN(auto stats, devices.Stats());
                return http::ItemsResponse(stats, [](const DeviceService::PlatformStats& p) {
                  return json::object{{"platform", p.platform},
                                      {"active", p.active},
                                      {"unregistered", p.unregistered},
                                      {"stale", p.stale}};
                });
              },
              "devices", "Push tokens per platform: active, unregistered and stale", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array","items":{
                "type":"object","properties":{"platform":{"type":"string"},
                "active":{"type":"integer"},"unregistered":{"type":"integer"},
                "stale":{"type":"integer"}}}}}})")});
  router.Add({"POST", "/v1/devices/{installation_id}/unregister", Access::Write(kCustomers),
              [&devices](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(Device d,
                                 devices.Unregister(req.Actor(), req.PathParam("installation_id")));
                return http::JsonResponse(200, DeviceToJson(d));
              },
              "devices",
              "The installation's push token is no longer valid: no more messages to it until "
              "a new token is registered",
              nullptr, json::parse(R"({"type":"object"})")});
  router.Add(
      {"PUT", "/v1/devices/{installation_id}", Access::Write(kCustomers),
       [&devices](Request& req) -> Result<Response> {
         const std::string& id = req.PathParam("installation_id");
         if (!ValidateExternalId(id).ok()) return Status::NotFound("no device " + id);
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         ASSIGN_OR_RETURN(DeviceInput in, ParseDevice(body, id));
         ASSIGN_OR_RETURN(auto up, devices.Upsert(req.Actor(), in));
         return UpsertResponse(up, DeviceToJson);
       },
       "devices",
       "Register or refresh an app installation and its push token; customer attaches, null "
       "detaches",
       json::parse(
           R"({"type":"object","required":["platform"],"additionalProperties":false,"properties":{
                "platform":{"enum":["android","ios","web"]},"token":{"type":"string"},"app_version":{"type":"string"},
                "locale":{"type":"string"},"customer":{"type":["string","null"]}}})"),
       json::parse(R"({"type":"object"})")});
  router.Add({"GET", "/v1/devices/{installation_id}", Access::Read(kCustomers),
              [&devices](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(Device d, devices.Get(req.PathParam("installation_id")));
                return http::JsonResponse(200, DeviceToJson(d));
              },
              "devices", "Get a device", nullptr, json::parse(R"({"type":"object"})")});
  router.Add({"GET", "/v1/customers/{external_id}/devices", Access::Read(kCustomers),
              [&devices](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(std::string id, PathExternalId(req));
                ASSIGN_OR_RETURN(auto list, devices.ListForCustomer(id));
                return http::ItemsResponse(list, DeviceToJson);
              },
              "devices", "A customer's devices", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});

  auto preview_json = [](const SegmentService::Preview& p) {
    json::array sample;
    for (const auto& id : p.sample) sample.emplace_back(id);
    return json::object{{"count", p.count}, {"sample", std::move(sample)}};
  };
  // Counting a segment reads every customer: off the event loop.
  router.Add(http::Blocking(
      {"POST", "/v1/segments/preview", Access::Read(kCustomers),
       [&segments, preview_json](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         JsonReader r(body);
         const json::value* rule = r.Raw("rule");
         if (!rule) r.AddError("rule", "is required (object)");
         int sample = static_cast<int>(r.Int("sample", false, 0, 100).value_or(20));
         RETURN_IF_ERROR(r.Finish());
         ASSIGN_OR_RETURN(auto p, segments.PreviewRule(*rule, req.now_ms, sample));
         return http::JsonResponse(200, preview_json(p));
       },
       "segments", "Count and sample the customers a rule matches, without saving it",
       json::parse(
           R"({"type":"object","required":["rule"],"additionalProperties":false,"properties":{
                "rule":{"type":"object"},"sample":{"type":"integer","minimum":0,"maximum":100}}})"),
       json::parse(
           R"({"type":"object","properties":{"count":{"type":"integer"},"sample":{"type":"array"}}})")}));
  router.Add({"GET", "/v1/segments", Access::Read(kCustomers),
              [&segments](Request&) -> Result<Response> {
                ASSIGN_OR_RETURN(auto all, segments.ListAll());
                return http::ItemsResponse(all, SavedSegmentToJson);
              },
              "segments", "Saved segments", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});
  router.Add(
      {"PUT", "/v1/segments/{key}", Access::Write(kCustomers),
       [&segments](Request& req) -> Result<Response> {
         const std::string& key = req.PathParam("key");
         if (!ValidateExternalId(key).ok()) return Status::NotFound("no segment " + key);
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         JsonReader r(body);
         auto name = r.String("name", true, 200, 1);
         const json::value* rule = r.Raw("rule");
         if (!rule) r.AddError("rule", "is required (object)");
         RETURN_IF_ERROR(r.Finish());
         ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
         ASSIGN_OR_RETURN(auto up, segments.Upsert(req.Actor(), key, *name, *rule, if_match));
         return UpsertResponse(up, SavedSegmentToJson);
       },
       "segments", "Save a segment (the rule is compiled and checked first)",
       json::parse(
           R"({"type":"object","required":["name","rule"],"additionalProperties":false,"properties":{
                "name":{"type":"string"},"rule":{"type":"object"}}})"),
       json::parse(R"({"type":"object"})")});
  router.Add({"GET", "/v1/segments/{key}", Access::Read(kCustomers),
              [&segments](Request& req) -> Result<Response> {
                ASSIGN_OR_RETURN(SavedSegment s, segments.Get(req.PathParam("key")));
                return http::JsonResponse(200, SavedSegmentToJson(s));
              },
              "segments", "A saved segment", nullptr, json::parse(R"({"type":"object"})")});
  router.Add(http::Blocking(
      {"GET", "/v1/segments/{key}/count", Access::Read(kCustomers),
       [&segments](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(auto p, segments.PreviewSaved(req.PathParam("key"), req.now_ms, 0));
         return http::JsonResponse(200, json::object{{"count", p.count}});
       },
       "segments", "How many customers the saved segment matches now", nullptr,
       json::parse(R"({"type":"object","properties":{"count":{"type":"integer"}}})")}));

  router.Add({"GET", "/v1/lists", Access::Read(kCustomers),
              [&lists](Request&) -> Result<Response> {
                ASSIGN_OR_RETURN(auto all, lists.ListAll());
                return http::ItemsResponse(all, ListToJson);
              },
              "lists", "Distribution lists", nullptr,
              json::parse(R"({"type":"object","properties":{"items":{"type":"array"}}})")});
  router.Add(
      {"PUT", "/v1/lists/{key}", Access::Write(kCustomers),
       [&lists](Request& req) -> Result<Response> {
         const std::string& key = req.PathParam("key");
         if (!ValidateExternalId(key).ok()) return Status::NotFound("no list " + key);
         ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
         ASSIGN_OR_RETURN(ListInput in, ParseList(body, key));
         ASSIGN_OR_RETURN(std::optional<int64_t> if_match, http::IfMatchVersion(req));
         ASSIGN_OR_RETURN(auto up, lists.Upsert(req.Actor(), in, if_match));
         return UpsertResponse(up, ListToJson);
       },
       "lists",
       "Create or update a list: static, every active subscriber of products, or a segment",
       json::parse(
           R"({"type":"object","required":["name"],"additionalProperties":false,"properties":{
                "name":{"type":"string"},"kind":{"enum":["static","products","segment"]},
                "product_codes":{"type":"array","items":{"type":"string"}},"segment":{"type":"string"}}})"),
       json::parse(R"({"type":"object"})")});
  router.Add(http::Blocking(
      {"GET", "/v1/lists/{key}", Access::Read(kCustomers),
       [&lists](Request& req) -> Result<Response> {
         ASSIGN_OR_RETURN(DistributionList l, lists.Get(req.PathParam("key")));
         ASSIGN_OR_RETURN(int64_t members, lists.CountMembers(l.data.key, req.now_ms));
         json::object o = ListToJson(l);
         o["members"] = members;
         return http::JsonResponse(200, o);
       },
       "lists", "A list with its member count now; members: GET /v1/customers?list=KEY", nullptr,
       json::parse(R"({"type":"object"})")}));
  router.Add({"PUT", "/v1/lists/{key}/members/{external_id}", Access::Write(kCustomers),
              [&lists](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(lists.AddMember(req.Actor(), req.PathParam("key"),
                                                req.PathParam("external_id")));
                return http::NoContent();
              },
              "lists", "Add a customer to a static list (idempotent)", nullptr, nullptr, 204});
  router.Add({"DELETE", "/v1/lists/{key}/members/{external_id}", Access::Write(kCustomers),
              [&lists](Request& req) -> Result<Response> {
                RETURN_IF_ERROR(lists.RemoveMember(req.Actor(), req.PathParam("key"),
                                                   req.PathParam("external_id")));
                return http::NoContent();
              },
              "lists", "Remove a customer from a static list (idempotent)", nullptr, nullptr, 204});

  router.Add(
      {"GET",
       "/v1/changes",
       Access::Read(kCustomers),
       [&db](Request& req) -> Result<Response> {
         RETURN_IF_ERROR(http::OnlyQueryParams(req, {"since", "limit"}));
         int64_t since = 0;
         if (auto s = req.Query("since"); s && !s->empty()) {
           char* end = nullptr;
           long long v = std::strtoll(s->c_str(), &end, 10);
           if (*end != '\0' || v < 0)
             return Status::BadParameter("since", "must be a cursor this API returned");
           since = v;
         }
         ASSIGN_OR_RETURN(int limit, http::LimitParam(req, 100, 1000));
         ASSIGN_OR_RETURN(ChangePage page, ReadChanges(db, since, limit));
         return http::JsonResponse(200,
                                   json::object{{"items", std::move(page.items)},
                                                {"next_cursor", std::to_string(page.next_cursor)}});
       },
       "changes",
       "The change feed since a cursor, oldest first",
       nullptr,
       json::parse(
           R"({"type":"object","properties":{"items":{"type":"array"},"next_cursor":{"type":"string"}}})"),
       200,
       {{"since", "next_cursor of the previous call; 0 or absent for the beginning"},
        {"limit", "1-1000", "integer"}}});
}

}  // namespace kontor::clients
