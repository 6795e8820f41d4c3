#include "clients/subscriptions.h"

#include "clients/changes.h"
#include "clients/customers.h"
#include "core/clock.h"

namespace kontor::clients {
namespace {

constexpr const char* kProductColumns = "id, code, name, kind, version, created_at, updated_at";
constexpr const char* kSubscriptionSelect =
    "SELECT s.id, s.external_id, c.external_id, p.code, s.status, s.starts_at, s.ends_at, s.source, "
    "p.kind, s.version, s.created_at, s.updated_at FROM subscriptions s "
    "JOIN customers c ON c.id = s.customer_id JOIN products p ON p.id = s.product_id";

Product RowToProduct(const store::Row& r) {
  return {r.Int(0), r.Str(1), r.Str(2), r.Str(3), r.Int(4), r.Int(5), r.Int(6)};
}

Subscription RowToSubscription(const store::Row& r) {
  Subscription s;
  s.id = r.Int(0);
  s.data.external_id = r.Str(1);
  s.data.customer = r.Str(2);
  s.data.product = r.Str(3);
  s.data.status = r.Str(4);
  s.data.starts_at = r.OptInt(5);
  s.data.ends_at = r.OptInt(6);
  s.data.source = r.Str(7);
  s.product_kind = r.Str(8);
  s.version = r.Int(9);
  s.created_at = r.Int(10);
  s.updated_at = r.Int(11);
  return s;
}

std::string ForUpdate(const store::Connection& c) {
  return c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : "";
}

Status CheckVersion(const char* what, const std::string& key, std::optional<int64_t> have,
                    std::optional<int64_t> if_match) {
  if (if_match && (!have || *have != *if_match)) {
    return Status::Conflict(std::string(what) + " " + key +
                            (have ? " is at version " + std::to_string(*have) : " does not exist"));
  }
  return Status::Ok();
}

}  // namespace

json::object ProductToJson(const Product& p) {
  return {{"code", p.code}, {"name", p.name}, {"kind", p.kind}, {"version", p.version},
          {"created_at", FormatRfc3339(p.created_at)}, {"updated_at", FormatRfc3339(p.updated_at)}};
}

json::object SubscriptionToJson(const Subscription& s) {
  return {{"external_id", s.data.external_id}, {"customer", s.data.customer}, {"product", s.data.product},
          {"product_kind", s.product_kind},    {"status", s.data.status},
          {"starts_at", TimeOrNull(s.data.starts_at)}, {"ends_at", TimeOrNull(s.data.ends_at)},
          {"source", s.data.source},           {"version", s.version},
          {"created_at", FormatRfc3339(s.created_at)}, {"updated_at", FormatRfc3339(s.updated_at)}};
}

Result<SubscriptionInput> ParseSubscription(const json::object& body, const std::string& external_id) {
  JsonReader r(body);
  SubscriptionInput in;
  in.external_id = external_id;
  in.customer = r.String("customer", true, 128, 1).value_or("");
  in.product = r.String("product", true, 64, 1).value_or("");
  in.status = r.Enum("status", false, {"active", "paused", "cancelled", "expired"}).value_or("active");
  for (auto [key, field] : {std::pair{"starts_at", &SubscriptionInput::starts_at},
                            std::pair{"ends_at", &SubscriptionInput::ends_at}}) {
    if (auto s = r.String(key, false, 40)) {
      auto t = ParseRfc3339(*s);
      if (t.ok()) in.*field = *t;
      else r.AddError(key, "must be an RFC 3339 time");
    }
  }
  if (in.starts_at && in.ends_at && *in.ends_at < *in.starts_at) r.AddError("ends_at", "is before starts_at");
  in.source = r.String("source", false, 100).value_or("");
  RETURN_IF_ERROR(r.Finish());
  return in;
}

Result<std::pair<Product, bool>> SubscriptionService::UpsertProduct(const audit::Actor& actor,
                                                                    const std::string& code,
                                                                    const std::string& name,
                                                                    const std::string& kind,
                                                                    std::optional<int64_t> if_match) {
  Result<std::pair<Product, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kProductColumns +
                                              " FROM products WHERE code = ?" + ForUpdate(c),
                                          {code}));
    std::optional<Product> before;
    if (row) before = RowToProduct(*row);
    RETURN_IF_ERROR(CheckVersion("product", code, before ? std::optional(before->version) : std::nullopt, if_match));
    if (before && before->name == name && before->kind == kind) {
      out = std::make_pair(*before, false);
      return Status::Ok();
    }
    if (before) {
      RETURN_IF_ERROR(c.Execute("UPDATE products SET name = ?, kind = ?, version = version + 1, updated_at = ? "
                                "WHERE id = ?",
                                {name, kind, actor.now_ms, before->id}).status());
    } else {
      auto ins = c.Execute("INSERT INTO products (code, name, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                           {code, name, kind, actor.now_ms, actor.now_ms});
      if (!ins.ok() && ins.status().code() == StatusCode::kConflict) return Status::Unavailable("concurrent create");
      RETURN_IF_ERROR(ins.status());
    }
    ASSIGN_OR_RETURN(auto now_row, c.QueryRow(std::string("SELECT ") + kProductColumns +
                                                  " FROM products WHERE code = ?",
                                              {code}));
    Product now = RowToProduct(*now_row);
    const char* op = before ? "update" : "create";
    RETURN_IF_ERROR(RecordChange(c, actor.now_ms, {"product", code, op, now.version, ProductToJson(now)}));
    RETURN_IF_ERROR(audit::Record(c, actor, {std::string("product.") + op, "product", code,
                                             before ? std::optional<json::value>(ProductToJson(*before)) : std::nullopt,
                                             json::value(ProductToJson(now))}));
    out = std::make_pair(now, true);
    return Status::Ok();
  }));
  return out;
}

Result<Product> SubscriptionService::GetProduct(const std::string& code) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string("SELECT ") + kProductColumns + " FROM products WHERE code = ?",
                                          {code}));
  if (!row) return Status::NotFound("no product " + code);
  return RowToProduct(*row);
}

Result<std::vector<Product>> SubscriptionService::ListProducts() {
  ASSIGN_OR_RETURN(auto r, db_.Execute(std::string("SELECT ") + kProductColumns + " FROM products ORDER BY code"));
  std::vector<Product> out;
  for (const auto& row : r.rows) out.push_back(RowToProduct(row));
  return out;
}

Result<std::pair<Subscription, bool>> SubscriptionService::Upsert(const audit::Actor& actor,
                                                                  const SubscriptionInput& in,
                                                                  std::optional<int64_t> if_match) {
  Result<std::pair<Subscription, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    out = Upsert(c, actor, in, if_match);
    return out.status();
  }));
  return out;
}

Result<std::pair<Subscription, bool>> SubscriptionService::Upsert(store::Connection& c, const audit::Actor& actor,
                                                                  const SubscriptionInput& in,
                                                                  std::optional<int64_t> if_match) {
  Result<std::pair<Subscription, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR([&]() -> Status {
    ASSIGN_OR_RETURN(auto cust, c.QueryRow("SELECT id, status FROM customers WHERE external_id = ?", {in.customer}));
    ASSIGN_OR_RETURN(auto prod, c.QueryRow("SELECT id FROM products WHERE code = ?", {in.product}));
    std::vector<FieldError> errors;
    if (!cust) errors.push_back({"customer", "no customer " + in.customer});
    else if (cust->Str(1) == "erased") errors.push_back({"customer", "the customer was erased"});
    if (!prod) errors.push_back({"product", "no product " + in.product});
    if (!errors.empty()) return Status::Validation(errors);
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kSubscriptionSelect) + " WHERE s.external_id = ?" +
                                              (c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE OF s" : ""),
                                          {in.external_id}));
    std::optional<Subscription> before;
    if (row) before = RowToSubscription(*row);
    RETURN_IF_ERROR(CheckVersion("subscription", in.external_id,
                                 before ? std::optional(before->version) : std::nullopt, if_match));
    if (before && before->data.customer == in.customer && before->data.product == in.product &&
        before->data.status == in.status && before->data.starts_at == in.starts_at &&
        before->data.ends_at == in.ends_at && before->data.source == in.source) {
      out = std::make_pair(*before, false);
      return Status::Ok();
    }
    if (before) {
      RETURN_IF_ERROR(c.Execute("UPDATE subscriptions SET customer_id = ?, product_id = ?, status = ?, starts_at = ?, "
                                "ends_at = ?, source = ?, version = version + 1, updated_at = ? WHERE id = ?",
                                {cust->Int(0), prod->Int(0), in.status, in.starts_at, in.ends_at, in.source,
                                 actor.now_ms, before->id}).status());
    } else {
      auto ins = c.Execute("INSERT INTO subscriptions (external_id, customer_id, product_id, status, starts_at, "
                           "ends_at, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           {in.external_id, cust->Int(0), prod->Int(0), in.status, in.starts_at, in.ends_at,
                            in.source, actor.now_ms, actor.now_ms});
      if (!ins.ok() && ins.status().code() == StatusCode::kConflict) return Status::Unavailable("concurrent create");
      RETURN_IF_ERROR(ins.status());
    }
    ASSIGN_OR_RETURN(auto now_row, c.QueryRow(std::string(kSubscriptionSelect) + " WHERE s.external_id = ?",
                                              {in.external_id}));
    Subscription now = RowToSubscription(*now_row);
    const char* op = before ? "update" : "create";
    RETURN_IF_ERROR(RecordChange(c, actor.now_ms, {"subscription", in.external_id, op, now.version,
                                                   SubscriptionToJson(now), in.customer}));
    RETURN_IF_ERROR(audit::Record(c, actor, {"subscription.changed", "subscription", in.external_id,
                                             before ? std::optional<json::value>(SubscriptionToJson(*before))
                                                    : std::nullopt,
                                             json::value(SubscriptionToJson(now))}));
    out = std::make_pair(now, true);
    return Status::Ok();
  }());
  return out;
}

Result<Subscription> SubscriptionService::Get(const std::string& external_id) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string(kSubscriptionSelect) + " WHERE s.external_id = ?",
                                          {external_id}));
  if (!row) return Status::NotFound("no subscription " + external_id);
  return RowToSubscription(*row);
}

Result<std::vector<Subscription>> SubscriptionService::ListForCustomer(const std::string& customer_external_id) {
  ASSIGN_OR_RETURN(auto r, db_.Execute(std::string(kSubscriptionSelect) + " WHERE c.external_id = ? ORDER BY s.id",
                                       {customer_external_id}));
  std::vector<Subscription> out;
  for (const auto& row : r.rows) out.push_back(RowToSubscription(row));
  return out;
}

}  // namespace kontor::clients
