// Validation rules for a payment, per SEC code. One table drives the checks,
// the API's error messages and docs/payments.md (a test keeps the document and
// the table in step), so every path a payment comes in by (API, template,
// CSV upload) applies exactly the same rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "payments/calendar.h"

namespace kontor::payments {

// SEC codes Kontor originates. Other codes are read and written by the ACH
// library but refused for new payments (rule ALL-…).
inline constexpr std::string_view kOriginatedSecCodes[] = {"PPD", "CCD", "CTX", "WEB", "TEL"};

// Everything the rules look at, gathered by the caller from the request, the
// counterparty, the originator and the clock. Strings are as the user gave
// them (not trimmed or upper-cased): the rules report what is wrong with them.
struct PaymentDraft {
  // The payment.
  std::string sec_code;                       // "PPD"
  std::string direction;                      // "credit" | "debit"
  int64_t amount_cents = 0;                   // money as integer minor units
  bool prenote = false;                       // zero-dollar prenotification
  std::optional<std::string> effective_date;  // "YYYY-MM-DD" as given; nullopt → next window
  bool same_day = false;                      // same-day ACH requested
  std::string entry_description;              // company entry description, ≤ 10 (batch header)
  std::optional<std::string> addenda;  // payment-related information (05 addenda), PPD/CCD/WEB: ≤
                                       // 80 chars; CTX: ANSI X12 text, ≤ 9,999 addenda of 80
  std::optional<std::string> payment_type_code;  // WEB and TEL: "R" recurring, "S" single
  std::string idempotency_key;                   // ≤ 255 printable ASCII, required
  std::string currency = "USD";
  // The receiver (counterparty).
  std::string receiver_name;   // individual or company name, ≤ 22 (CTX: ≤ 16)
  std::string receiver_id;     // individual identification / identification number, ≤ 15
  std::string receiver_kind;   // "individual" | "company"
  std::string routing_number;  // 9 digits with check digit
  std::string account_number;  // ≤ 17, digits, letters, '-', ' '
  std::string account_type;    // "checking" | "savings" | "general_ledger" | "loan"
  bool counterparty_active = true;
  std::string prenote_status = "none";  // none | pending | sent | verified | failed
  // The originator.
  bool originator_active = true;
  std::string company_name;                    // ≤ 16
  std::string company_id;                      // 10
  std::vector<std::string> allowed_sec_codes;  // empty = all of kOriginatedSecCodes
  bool same_day_enabled = true;                // has a same-day cutoff window
  int64_t same_day_limit_cents = 100000000;    // $1,000,000 per entry
  bool allow_same_day_split = false;
  int64_t entry_max_cents = 9999999999;      // the NACHA amount field's maximum
  int64_t payment_max_cents = 999999999999;  // one payment, split or not ($9.99bn)
};

struct RuleContext {
  Date today;                // in the originator's time zone
  int max_days_ahead = 365;  // how far an effective date may lie in the future
};

struct Violation {
  std::string rule;     // "PPD-03"
  std::string field;    // "amount_cents" — the API field the caller should fix
  std::string message;  // "must be at most 22 characters"
};

// All violations, in table order (empty when the draft is valid). A rule that
// cannot apply because its input is already reported bad is skipped, so one
// mistake yields one message.
std::vector<Violation> CheckPayment(const PaymentDraft& p, const RuleContext& ctx);

struct RuleInfo {
  std::string id;                      // "ALL-01", "PPD-01", "CTX-04", …
  std::vector<std::string> sec_codes;  // the codes it applies to
  std::string field;
  std::string description;  // one sentence for docs/payments.md
};
// The table, in the order CheckPayment applies it.
const std::vector<RuleInfo>& PaymentRules();
// How many rules apply to `sec` (the issue asks for ≥ 25 per payment type).
size_t RuleCount(std::string_view sec);

}  // namespace kontor::payments
