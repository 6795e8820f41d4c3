// CSV upload of payment batches. Every row is checked exactly as an API
// payment would be (PaymentService::Check); the report names row and column,
// rows numbered as a spreadsheet shows them (the header is row 1).
// Nothing is queued at upload: the operator submits the upload afterwards,
// and one with bad rows only when they choose to submit just its valid rows.
// Row idempotency keys default to the file's hash and row number, so the
// same file submitted twice queues its payments once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "payments/payments.h"
#include "store/database.h"

namespace kontor::payments {

struct Upload {
  int64_t id = 0, originator_id = 0;
  std::string filename, sha256, status;
  int64_t total_rows = 0, valid_rows = 0, error_rows = 0, submitted_rows = 0;
  json::array errors;  // {"row","column","message"}
  std::string created_by;
  int64_t created_at = 0;
  std::optional<int64_t> submitted_at;
};
json::object UploadToJson(const Upload& u, bool with_errors);

class UploadService {
 public:
  UploadService(store::Database& db, const Clock& clock, PaymentService& payments);

  // Columns: counterparty_id, direction, amount (dollars, "1234.56") or
  // amount_cents, sec_code; optional effective_date, same_day,
  // entry_description, addenda, payment_type_code, idempotency_key.
  Result<Upload> Create(const audit::Actor& a, int64_t originator_id, const std::string& filename,
                        std::string_view csv);
  Result<Upload> Get(int64_t id);
  Result<Page<Upload>> List(std::optional<int64_t> before, int limit);
  // The report as CSV: row, column, message.
  Result<std::string> ErrorsCsv(int64_t id);
  // Queues the valid rows as payments, all or none. kFailedPrecondition when
  // the upload has bad rows and `only_valid` is false, or was submitted.
  Result<Upload> Submit(const audit::Actor& a, int64_t id, bool only_valid);
  Result<Upload> Discard(const audit::Actor& a, int64_t id);

 private:
  store::Database& db_;
  const Clock& clock_;
  PaymentService& payments_;
};

}  // namespace kontor::payments
