// Payments: made by hand through the API, from a template or from a CSV
// upload — every path goes through Create, so each gets the same rules
// (rules.h), the same schedule (schedule.h) and the same idempotency. A
// payment's life: pending (held) → scheduled → in_file → submitted → settled,
// or returned, failed, cancelled; every step is an event in its timeline, a
// change in the feed (webhook `payment.status_changed`) and an audit row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "payments/registry.h"
#include "store/database.h"

namespace kontor::payments {

struct PaymentEntry {
  int64_t id = 0;
  int part = 1;
  int64_t amount_cents = 0;
  std::optional<int64_t> file_id;
  std::optional<std::string> trace_number;
};

struct Payment {
  int64_t id = 0;
  int64_t originator_id = 0, counterparty_id = 0;
  std::optional<int64_t> template_id, upload_id;
  std::optional<int64_t> upload_row;
  std::string idempotency_key;
  std::string direction;
  int64_t amount_cents = 0;
  std::string sec_code;
  bool prenote = false;
  std::string entry_description;
  std::optional<std::string> addenda, payment_type_code;
  bool same_day = false;
  std::optional<std::string> requested_effective_date;
  std::string effective_date, window_kind;
  int64_t window_at = 0;
  std::optional<std::string> schedule_note;
  std::string receiver_name, receiver_id, routing_number, account_number, account_type;
  std::string status;
  std::optional<std::string> status_reason, return_code;
  std::optional<int64_t> file_id;
  std::string created_by;
  int64_t version = 1, created_at = 0, updated_at = 0;
  std::vector<PaymentEntry> entries;  // filled by Get
};
// The `payment` shape; `detail` adds entries (the caller adds events).
json::object PaymentToJson(const Payment& p, bool detail = false);

struct PaymentFilter {
  std::optional<std::string> status;
  std::optional<int64_t> originator_id, counterparty_id, file_id, upload_id;
  std::optional<std::string> effective_from, effective_to;  // YYYY-MM-DD inclusive
  std::optional<int64_t> before_id;                         // cursor: newest first
  int limit = 50;
};

struct CreateOutcome {
  Payment payment;
  bool replayed = false;  // the idempotency key named an earlier, identical request
};

struct PaymentOptions {
  int64_t entry_max_cents = 9999999999;  // NACHA's 10-digit amount field
  int max_days_ahead = 365;
};

class PaymentService {
 public:
  PaymentService(store::Database& db, const Clock& clock, Registry& registry,
                 PaymentOptions options = {});

  // `body`: originator_id, counterparty_id, direction, amount_cents, sec_code
  // and the optional fields of docs/payments.md. `idempotency_key` comes from
  // the body or the Idempotency-Key header (they must agree). A repeat of the
  // same key with the same content returns the first payment (`replayed`);
  // with other content it is kConflict. Rule violations → kValidation with
  // one field error per violation, the rule id in the message.
  Result<CreateOutcome> Create(const audit::Actor& a, const json::object& body,
                               const std::optional<std::string>& header_key);
  // The template's fields, overridden by `body` (amount_cents, effective_date,
  // idempotency_key, …).
  Result<CreateOutcome> CreateFromTemplate(const audit::Actor& a, int64_t template_id,
                                           const json::object& body,
                                           const std::optional<std::string>& header_key);
  // The same inside the caller's transaction (CSV submission). `upload` ties
  // the payment to its upload row.
  Result<CreateOutcome> CreateIn(store::Connection& c, const audit::Actor& a,
                                 const json::object& body,
                                 const std::optional<std::string>& header_key,
                                 std::optional<std::pair<int64_t, int64_t>> upload = {});
  // Checks `body` as Create would, without writing (CSV validation). Field
  // errors are returned in the status.
  Status Check(store::Connection& c, const json::object& body);

  Result<Payment> Get(int64_t id);
  Result<json::array> Events(int64_t id);
  Result<Page<Payment>> List(const PaymentFilter& f);
  // Possible until the payment is in a file; kFailedPrecondition after.
  Result<Payment> Cancel(const audit::Actor& a, int64_t id, const std::string& reason);

  // Moves a payment to `status` with its event, change and audit row.
  // REQUIRES: inside the transaction that makes the change.
  Status Transition(store::Connection& c, const audit::Actor& a, Payment& p,
                    const std::string& status, const std::optional<std::string>& reason);
  static Result<Payment> Load(store::Connection& c, int64_t id);

  Registry& registry() { return registry_; }
  const Clock& clock() const { return clock_; }

 private:
  // CreateIn's work; a dry run checks everything and writes nothing (no
  // idempotency lookup, no prenote), for Check.
  Result<CreateOutcome> Make(store::Connection& c, const audit::Actor& a, const json::object& body,
                             const std::optional<std::string>& header_key,
                             std::optional<std::pair<int64_t, int64_t>> upload, bool dry_run);

  store::Database& db_;
  const Clock& clock_;
  Registry& registry_;
  PaymentOptions options_;
};

}  // namespace kontor::payments
