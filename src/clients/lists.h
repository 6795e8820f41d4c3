// Distribution lists: static membership managed through the API, or dynamic
// (every active subscriber of given products, or the customers of a segment),
// resolved when asked. Membership is countable at any moment.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct ListInput {
  std::string key, name;
  std::string kind = "static";  // static | products | segment
  std::vector<std::string> product_codes;
  std::optional<std::string> segment_key;
};

struct DistributionList {
  int64_t id = 0;
  ListInput data;
  int64_t version = 0, created_at = 0, updated_at = 0;
};
json::object ListToJson(const DistributionList& l);
Result<ListInput> ParseList(const json::object& body, const std::string& key);

class ListService {
 public:
  explicit ListService(store::Database& db) : db_(db) {}
  Result<std::pair<DistributionList, bool>> Upsert(const audit::Actor& actor, const ListInput& in,
                                                   std::optional<int64_t> if_match);
  Result<DistributionList> Get(const std::string& key);
  Result<std::vector<DistributionList>> ListAll();
  // Static lists only (kFailedPrecondition otherwise). Idempotent: adding a
  // member twice or removing a non-member changes nothing and records nothing.
  Status AddMember(const audit::Actor& actor, const std::string& key, const std::string& customer);
  Status RemoveMember(const audit::Actor& actor, const std::string& key, const std::string& customer);
  // Members of any kind of list, counted now: dynamic kinds are evaluated at
  // query time through the segment compiler ({"member_of": key}).
  Result<int64_t> CountMembers(const std::string& key, int64_t now_ms);
  // Every list (any kind) the customer is a member of now, by key.
  // kNotFound when there is no such customer.
  Result<std::vector<DistributionList>> ListsOf(const std::string& customer, int64_t now_ms);

 private:
  store::Database& db_;
};

}  // namespace kontor::clients
