// The standing data payments refer to: originators (the companies whose
// money moves, with their bank's file settings, cutoff windows, SFTP profile
// and PGP key), counterparties with their bank accounts, and payment
// templates. Each is created, changed (with If-Match) and listed here, every
// change audited and versioned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "payments/delivery/sftp.h"
#include "payments/schedule.h"
#include "store/database.h"

namespace kontor::payments {

struct OffsetAccount {
  std::string routing_number;
  std::string account_number;
  std::string account_type = "checking";
};

struct Originator {
  int64_t id = 0;
  std::string name, company_id, entry_description;
  std::string odfi_routing, immediate_destination, immediate_destination_name;
  std::string immediate_origin, immediate_origin_name;
  Windows windows;
  int64_t same_day_limit_cents = 100000000;
  bool allow_same_day_split = false;
  std::vector<std::string> allowed_sec_codes;
  std::optional<OffsetAccount> offset;
  // The bank's SFTP server; the private key is write-only through the API and
  // an empty inbox_dir means returns are not fetched.
  std::optional<delivery::SftpProfile> sftp;
  std::optional<std::string> pgp_public_key, pgp_fingerprint;
  std::string status = "active";
  int64_t version = 1, created_at = 0, updated_at = 0;
};
json::object OriginatorToJson(const Originator& o);

struct Counterparty {
  int64_t id = 0;
  std::string name, kind = "individual", receiver_id;
  std::optional<std::string> email;
  std::string routing_number, account_number, account_type = "checking";
  std::string prenote_status = "none";
  std::optional<int64_t> prenote_payment_id;
  std::optional<std::string> prenote_settles_on;
  std::string status = "active";
  int64_t version = 1, created_at = 0, updated_at = 0;
};
// The account number is masked ("••••6789") unless `full`.
json::object CounterpartyToJson(const Counterparty& c, bool full = false);

struct PaymentTemplate {
  int64_t id = 0;
  std::string name;
  int64_t originator_id = 0, counterparty_id = 0;
  std::string direction, sec_code;
  std::optional<int64_t> amount_cents;
  std::optional<std::string> entry_description, addenda, payment_type_code;
  bool same_day = false;
  int64_t version = 1, created_at = 0, updated_at = 0;
};
json::object TemplateToJson(const PaymentTemplate& t);

template <typename T>
using Page = std::pair<std::vector<T>, std::optional<int64_t>>;  // items, next cursor

// Lists fetch limit + 1 rows to learn whether there is a next page: this
// drops the extra row and makes the last kept id the cursor.
template <typename T>
Page<T> MakePage(std::vector<T> items, int limit) {
  Page<T> page{std::move(items), std::nullopt};
  if (static_cast<int>(page.first.size()) > limit) {
    page.first.resize(limit);
    page.second = page.first.back().id;
  }
  return page;
}

class Registry {
 public:
  Registry(store::Database& db, const Clock& clock, int64_t default_same_day_limit_cents);

  // `body` is the JSON object of a create (required fields checked) or a
  // partial update; unknown fields, bad values → kValidation naming them.
  Result<Originator> CreateOriginator(const audit::Actor& a, const json::object& body);
  Result<Originator> UpdateOriginator(const audit::Actor& a, int64_t id, const json::object& body,
                                      std::optional<int64_t> if_match);
  Result<Originator> GetOriginator(int64_t id);
  Result<Originator> LoadOriginator(store::Connection& c, int64_t id);
  Result<Page<Originator>> ListOriginators(std::optional<int64_t> after, int limit);

  Result<Counterparty> CreateCounterparty(const audit::Actor& a, const json::object& body);
  Result<Counterparty> UpdateCounterparty(const audit::Actor& a, int64_t id,
                                          const json::object& body,
                                          std::optional<int64_t> if_match);
  Result<Counterparty> GetCounterparty(int64_t id);
  Result<Counterparty> LoadCounterparty(store::Connection& c, int64_t id);
  // `q` matches name (substring, case-insensitive) or the account's last digits.
  Result<Page<Counterparty>> ListCounterparties(const std::optional<std::string>& q,
                                                std::optional<int64_t> after, int limit);
  // Saves a counterparty changed by the payments side (prenote state, NOC
  // corrections) with its version bumped; audited by the caller.
  Status SaveCounterparty(store::Connection& c, Counterparty& cp, int64_t now_ms);

  Result<PaymentTemplate> CreateTemplate(const audit::Actor& a, const json::object& body);
  Result<PaymentTemplate> UpdateTemplate(const audit::Actor& a, int64_t id,
                                         const json::object& body, std::optional<int64_t> if_match);
  Result<PaymentTemplate> GetTemplate(int64_t id);
  Status DeleteTemplate(const audit::Actor& a, int64_t id);
  Result<Page<PaymentTemplate>> ListTemplates(std::optional<int64_t> after, int limit);

 private:
  Status ApplyOriginator(const json::object& body, bool create, Originator& o);
  Status ApplyCounterparty(const json::object& body, bool create, Counterparty& c);
  Status ApplyTemplate(store::Connection& c, const json::object& body, bool create,
                       PaymentTemplate& t);
  Status StoreOriginator(store::Connection& c, Originator& o, bool create);
  Status StoreCounterparty(store::Connection& c, Counterparty& cp, bool create);
  Status StoreTemplate(store::Connection& c, PaymentTemplate& t, bool create);

  store::Database& db_;
  const Clock& clock_;
  int64_t default_same_day_limit_;
};

// NACHA's alphanumeric character set check shared by registry and builder.
bool IsNachaText(std::string_view s);
// "••••6789": the last four characters.
std::string MaskAccount(const std::string& account);

}  // namespace kontor::payments
