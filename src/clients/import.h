// CSV imports of customers and subscriptions: upload (checked, stored, previewed), a column →
// field mapping, and the `clients.import` job that applies the rows.
//
// The row logic (mapping suggestion and validation, building a customer or subscription from a
// record merged onto what is stored) is free of the database so the fuzz target can drive it;
// ImportService adds storage, the job and the audit trail.
//
// Semantics a user relies on:
// - Only mapped columns are written; everything else an existing record has stays. An empty cell
//   clears a text field (salutation, email, ..., tags, an attribute, starts_at/ends_at, source);
//   an empty type, status, consent, customer or product cell keeps the stored value (or the
//   default for a new record).
// - Consent for a channel changes only when the status in the file differs from the stored one,
//   and an attribute only when its text differs, so importing the same file again changes
//   nothing (every row counts as unchanged, no change-feed entries).
// - A cell exported with the spreadsheet formula guard (a leading ' before = + - @ or tab, see
//   AppendCsvRecord) is read without the guard, so an export can be imported back.
// - Errors name the row (the header is row 1, the first record row 2: CSV records, which is the
//   spreadsheet row unless the file has blank lines), the CSV column and the import field.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "clients/customers.h"
#include "clients/subscriptions.h"
#include "core/clock.h"
#include "core/json.h"
#include "jobs/job_service.h"
#include "store/database.h"

namespace kontor::clients {

enum class ImportKind { kCustomers, kSubscriptions };

std::optional<ImportKind> ParseImportKind(std::string_view s);
const char* ImportKindName(ImportKind kind);

struct ImportField {
  std::string name;
  bool required;
  std::string description;
};
// The fields a column can be mapped to (for customers also any "attributes.<name>").
const std::vector<ImportField>& ImportFields(ImportKind kind);
json::array ImportFieldsJson(ImportKind kind);

// The field a header name most likely means (case, spaces, '_', '-' and '.' ignored; English
// and German aliases such as "E-Mail", "Mobile", "Vorname"), or nullopt.
std::optional<std::string> SuggestField(ImportKind kind, std::string_view column);
// One suggestion per column; a field is suggested for its first matching column only.
std::vector<std::optional<std::string>> SuggestMapping(ImportKind kind,
                                                       const std::vector<std::string>& columns);

// Per column index, the field it is mapped to (nullopt: ignored).
using ColumnMapping = std::vector<std::optional<std::string>>;

// Checks a {column: field|null} mapping against the header: known columns and fields, valid
// attribute names, no field mapped twice, required fields mapped. Errors are kValidation naming
// "mapping.<column>" (or "mapping" for a required field left unmapped).
Result<ColumnMapping> ParseMapping(ImportKind kind, const std::vector<std::string>& columns,
                                   const json::object& mapping);
json::object MappingToJson(const std::vector<std::string>& columns, const ColumnMapping& mapping);

// What an upload tells about a file before anything is applied.
struct CsvInspection {
  char delimiter = ',';
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> preview;  // the first 5 usable records
  int64_t records = 0;                            // data records, usable or not
};
// Rejects (kValidation naming "file") what is not a UTF-8 CSV with a header: UTF-16/32 (by BOM
// or NUL bytes), a file in a legacy 8-bit encoding (bytes that are not UTF-8 and no UTF-8
// sequence at all), an empty file or a bad header. Single records with invalid UTF-8 in an
// otherwise UTF-8 file are left to the import, as row errors.
Result<CsvInspection> InspectCsv(std::string_view data);

struct RowError {
  int64_t row = 0;
  std::string column;  // CSV column, "" when the problem is the whole record
  std::string field;   // import field, "" when none applies
  std::string message;
};

// The record's cells by mapped field, with the import's own cleanup (the formula guard undone).
class MappedRow {
 public:
  MappedRow(const std::vector<std::string>& columns, const ColumnMapping& mapping,
            const std::vector<std::string>& fields, int64_t row);
  // nullopt when `field` is not mapped.
  std::optional<std::string> Get(const std::string& field) const;
  // Mapped "attributes.<name>" fields: name, cell.
  const std::vector<std::pair<std::string, std::string>>& attributes() const { return attributes_; }
  // An error about `field`, naming the column it is mapped from.
  RowError Error(const std::string& field, std::string message) const;
  int64_t row() const { return row_; }

 private:
  std::vector<std::pair<std::string, std::string>> cells_;  // field, cell
  std::vector<std::pair<std::string, std::string>> attributes_;
  std::vector<std::pair<std::string, std::string>> columns_;  // field, column
  int64_t row_;
};

// The stored customer the row is merged onto (nullopt: a new one).
// Returns the merged input, or the row's errors (never empty on failure).
Result<CustomerInput> BuildCustomer(const MappedRow& row,
                                    const std::optional<CustomerInput>& existing, int64_t now_ms,
                                    std::vector<RowError>* errors);
Result<SubscriptionInput> BuildSubscription(const MappedRow& row,
                                            const std::optional<SubscriptionInput>& existing,
                                            std::vector<RowError>* errors);

struct ImportCounts {
  int64_t rows = 0, created = 0, updated = 0, unchanged = 0, failed = 0;
};

struct Import {
  int64_t id = 0;
  ImportKind kind = ImportKind::kCustomers;
  std::string filename;
  int64_t size_bytes = 0;
  std::string sha256;
  std::string state;  // uploaded | queued | running | succeeded | failed | cancelled
  char delimiter = ',';
  std::vector<std::string> columns;
  json::object suggested_mapping;
  std::optional<json::object> mapping;  // set by Start
  json::array preview;
  std::optional<int64_t> job_id;
  int64_t rows_total = 0;
  ImportCounts counts;  // counts.rows: records applied so far (the resume point)
  std::optional<std::string> error;
  std::optional<int64_t> previous_import_id;
  std::optional<json::object> actor;  // who started it
  std::string created_by;
  int64_t created_at = 0;
  std::optional<int64_t> started_at, finished_at;
  std::vector<RowError> first_errors;  // at most 50
};
json::object ImportToJson(const Import& imp);

struct ImportOptions {
  int chunk_rows = 500;  // records per transaction
};

class ImportService {
 public:
  ImportService(store::Database& db, const Clock& clock, CustomerService& customers,
                SubscriptionService& subscriptions, jobs::JobService& jobs,
                ImportOptions options = {});

  static constexpr const char* kJobKind = "clients.import";
  // The `clients.import` job kind, for JobService::RegisterKind.
  jobs::JobKind JobKind();

  // Checks and stores the file; the answer has the header, a suggested mapping and a preview.
  Result<Import> Upload(const audit::Actor& actor, ImportKind kind, const std::string& filename,
                        std::string_view data);
  // Sets the mapping (default: the suggested one) and enqueues the job in the same transaction.
  // Only an `uploaded` import can be started (else kFailedPrecondition).
  Result<Import> Start(const audit::Actor& actor, int64_t id, const json::object* mapping);
  // An uploaded import is cancelled at once; a queued or running one stops after the current
  // chunk (what was applied stays).
  Result<Import> Cancel(const audit::Actor& actor, int64_t id);
  Result<Import> Get(int64_t id);
  // Newest first.
  Result<std::pair<std::vector<Import>, std::optional<int64_t>>> List(
      std::optional<int64_t> before_id, int limit);
  // "row,column,field,message" and one line per error, in row order.
  Result<std::string> ErrorsCsv(int64_t id);

  // Applies the import's remaining records, chunk by chunk. `progress(done, total)` runs between
  // chunks; when it returns false the run stops there (cancelled, or the lease was lost) and
  // Run returns kFailedPrecondition "stopped". Safe to call again after any stop or crash: it
  // resumes after the last committed chunk, and a chunk commits only if no other run has
  // committed it meanwhile. REQUIRES: `job_id` is the import's job.
  Status Run(int64_t id, int64_t job_id, const std::function<bool(int64_t, int64_t)>& progress);

 private:
  Result<Import> Load(store::Connection& c, int64_t id, bool for_update);
  Status SetFinalState(int64_t id, const std::string& state,
                       const std::optional<std::string>& error);

  store::Database& db_;
  const Clock& clock_;
  CustomerService& customers_;
  SubscriptionService& subscriptions_;
  jobs::JobService& jobs_;
  ImportOptions options_;
};

}  // namespace kontor::clients
