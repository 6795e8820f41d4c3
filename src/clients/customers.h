// Customers of the client hub: the real-time create-or-update path upstream
// systems use, reads, search, and erasure. Every change commits with its
// change-feed row and its audit row.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/audit.h"
#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct Consent {
  std::string status;  // granted | withdrawn
  std::string source;
  int64_t at = 0;
  bool operator==(const Consent&) const = default;
};

// The fields an upstream system sets. PUT replaces all of them; consent is
// merged per channel (a channel not named keeps its state).
struct CustomerInput {
  std::string external_id;
  std::string type = "individual";
  std::optional<std::string> salutation, first_name, last_name, company_name, email, phone,
      language, country, time_zone;
  std::string status = "active";
  json::object attributes;
  std::vector<std::string> tags;  // sorted, unique
  std::map<std::string, Consent> consent;
  bool operator==(const CustomerInput&) const = default;
};

struct Customer {
  int64_t id = 0;
  CustomerInput data;
  int64_t version = 0, created_at = 0, updated_at = 0;
  std::optional<int64_t> erased_at;
};

json::object CustomerToJson(const Customer& c);

// Parses and validates a PUT body (or one batch item). `external_id` comes
// from the path, or from the body for batch items. Errors name fields, under
// `prefix` ("items[3].").
Result<CustomerInput> ParseCustomer(const json::object& body,
                                    std::optional<std::string> external_id, int64_t now_ms,
                                    const std::string& prefix = "");
Status ValidateExternalId(const std::string& id, const std::string& field = "external_id");

struct UpsertResult {
  Customer customer;
  bool created = false;
  bool changed = false;  // false: the stored customer already matched
};

// A batch for CustomerService::UpsertMany(actor, items), worked out before its
// write transaction (see PrepareUpserts).
class PreparedUpserts {
 public:
  PreparedUpserts(PreparedUpserts&&) noexcept;
  PreparedUpserts& operator=(PreparedUpserts&&) noexcept;
  ~PreparedUpserts();

 private:
  friend class CustomerService;
  struct State;
  explicit PreparedUpserts(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class CustomerService {
 public:
  explicit CustomerService(store::Database& db) : db_(db) {}

  // Create-or-update by external id inside `c`'s transaction. `if_match`
  // (a version) must equal the stored version when given; a new customer
  // with If-Match is a conflict too.
  Result<UpsertResult> Upsert(store::Connection& c, const audit::Actor& actor,
                              const CustomerInput& in, std::optional<int64_t> if_match);
  Result<UpsertResult> Upsert(const audit::Actor& actor, const CustomerInput& in,
                              std::optional<int64_t> if_match);
  // The bulk form of Upsert (no If-Match) inside `c`'s transaction: a few
  // multi-row statements per table for all items instead of a dozen
  // statements per customer. A repeated external id is applied in order.
  // Each item gets its result or its own error (an erased customer:
  // kFailedPrecondition), which wrote nothing; a database error fails all.
  Result<std::vector<Result<UpsertResult>>> UpsertMany(store::Connection& c,
                                                       const audit::Actor& actor,
                                                       std::vector<CustomerInput> items);
  // The same in a transaction of its own, for bulk sync. The write
  // transaction is the part that cannot run in parallel (SQLite has one
  // writer), so the work per item is done before it: the stored customers
  // are read, and each item's outcome, row values, change-feed data and
  // audit entry are computed from them. Inside the transaction only their
  // versions are read again, and an item whose customer changed meanwhile
  // is worked out again there: the results are those UpsertMany(c, ...)
  // gives at that point. A batch that changes nothing takes no write
  // transaction; its results hold as of the read.
  Result<std::vector<Result<UpsertResult>>> UpsertMany(const audit::Actor& actor,
                                                       std::vector<CustomerInput> items);
  // The two halves of UpsertMany(actor, items), apart so tests can change
  // customers in between.
  Result<PreparedUpserts> PrepareUpserts(const audit::Actor& actor,
                                         std::vector<CustomerInput> items);
  Result<std::vector<Result<UpsertResult>>> ApplyUpserts(PreparedUpserts prepared);
  Result<Customer> Get(const std::string& external_id);
  // Anonymizes personal data, drops tags, consent and list memberships,
  // detaches devices; keeps the record (status "erased") and the audit trail.
  Result<Customer> Erase(const audit::Actor& actor, const std::string& external_id,
                         std::optional<int64_t> if_match);

  struct Filter {
    std::optional<std::string> q, tag, status;
    std::optional<int64_t> updated_since;
    std::optional<std::string> segment_where;  // compiled rule over alias c (lists, segments)
    store::Params segment_params;
    std::optional<int64_t> after_id;
    int limit = 50;
  };
  Result<std::pair<std::vector<Customer>, std::optional<int64_t>>> List(const Filter& f);

 private:
  Result<std::optional<Customer>> Load(store::Connection& c, const std::string& external_id,
                                       bool for_update);
  Status LoadDetails(store::Connection& c, Customer* cu);

  store::Database& db_;
};

}  // namespace kontor::clients
