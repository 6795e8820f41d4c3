// Products (subscription or single) and subscriptions (customer x product),
// synced from the subscription-management system by their upstream keys.
// A single-product purchase is a subscription of a `single` product.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct Product {
  int64_t id = 0;
  std::string code, name, kind;  // kind: subscription | single
  int64_t version = 0, created_at = 0, updated_at = 0;
};
json::object ProductToJson(const Product& p);

struct SubscriptionInput {
  std::string external_id;
  std::string customer;  // customer external id
  std::string product;   // product code
  std::string status = "active";  // active | paused | cancelled | expired
  std::optional<int64_t> starts_at, ends_at;
  std::string source;
};

struct Subscription {
  int64_t id = 0;
  SubscriptionInput data;
  std::string product_kind;
  int64_t version = 0, created_at = 0, updated_at = 0;
};
json::object SubscriptionToJson(const Subscription& s);

Result<SubscriptionInput> ParseSubscription(const json::object& body, const std::string& external_id);

class SubscriptionService {
 public:
  explicit SubscriptionService(store::Database& db) : db_(db) {}

  // Create-or-update; the bool says whether anything changed. If-Match as for customers.
  Result<std::pair<Product, bool>> UpsertProduct(const audit::Actor& actor, const std::string& code,
                                                 const std::string& name, const std::string& kind,
                                                 std::optional<int64_t> if_match);
  Result<Product> GetProduct(const std::string& code);
  Result<std::vector<Product>> ListProducts();

  // REQUIRES: the customer and product exist (else kValidation naming them).
  Result<std::pair<Subscription, bool>> Upsert(const audit::Actor& actor, const SubscriptionInput& in,
                                               std::optional<int64_t> if_match);
  // The same inside `c`'s transaction (imports apply many rows per transaction).
  Result<std::pair<Subscription, bool>> Upsert(store::Connection& c, const audit::Actor& actor,
                                               const SubscriptionInput& in, std::optional<int64_t> if_match);
  Result<Subscription> Get(const std::string& external_id);
  Result<std::vector<Subscription>> ListForCustomer(const std::string& customer_external_id);

 private:
  store::Database& db_;
};

}  // namespace kontor::clients
