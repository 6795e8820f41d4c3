// Returns and notifications of change coming back from the bank: fetched
// from the originator's SFTP inbox (or uploaded by an operator), parsed with
// the ACH reader, matched to the original entries by trace number. A return
// sets its payment's status and reason (and fails the account's prenote); a
// NOC corrects the counterparty's account for later payments. Each inbox
// file is processed once, in one transaction with everything it changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "payments/payments.h"
#include "payments/registry.h"
#include "store/database.h"

namespace kontor::payments {

struct InboxResult {
  int64_t inbox_file_id = 0;
  bool already_processed = false;
  int64_t entries = 0, matched = 0;
  json::array items;  // {"kind","code","trace","payment_id","applied"}
};

class ReturnService {
 public:
  ReturnService(store::Database& db, const Clock& clock, Registry& registry,
                PaymentService& payments);

  // Processes one return/NOC file. kValidation when it is not a valid NACHA
  // file (the errors name line and field); a file seen before (same name
  // and SHA-256) is not applied again.
  Result<InboxResult> Process(const audit::Actor& a, int64_t originator_id, const std::string& name,
                              const std::string& content);
  // Fetches new files from every originator's SFTP inbox and processes
  // them; returns how many were processed.
  Result<int> FetchAll(const audit::Actor& a);

  Result<json::array> List(std::optional<int64_t> payment_id, std::optional<int64_t> before,
                           int limit, std::optional<int64_t>* next);

 private:
  store::Database& db_;
  const Clock& clock_;
  Registry& registry_;
  PaymentService& payments_;
};

}  // namespace kontor::payments
