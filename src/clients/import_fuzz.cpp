// libFuzzer target: raw bytes → the import's upload checks (InspectCsv) and, for every record,
// the row logic of both import kinds with the suggested mapping (and with every column mapped),
// merged onto nothing and onto a stored customer. No database: the same functions the import job
// calls before its upserts. Invariants: a rejected upload names "file"; a row either builds an
// input or reports at least one error, every error carries the row and a message, and a column
// it names is one of the header's.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/csv_reader.h"
#include "clients/import.h"

namespace {

using namespace kontor;
using namespace kontor::clients;

void CheckErrors(const std::vector<RowError>& errors, size_t before, int64_t row,
                 const std::vector<std::string>& columns) {
  for (size_t i = before; i < errors.size(); ++i) {
    const RowError& e = errors[i];
    if (e.row != row || e.message.empty()) std::abort();
    if (!e.column.empty() && std::find(columns.begin(), columns.end(), e.column) == columns.end())
      std::abort();
  }
}

void CheckRow(ImportKind kind, const std::vector<std::string>& columns,
              const ColumnMapping& mapping, const std::vector<std::string>& fields,
              int64_t row_no) {
  MappedRow row(columns, mapping, fields, row_no);
  std::vector<RowError> errors;
  if (kind == ImportKind::kCustomers) {
    CustomerInput stored;
    stored.external_id = "C-1";
    stored.email = "a@example.com";
    stored.attributes = {{"risk", 3}};
    stored.consent["email"] = {"granted", "web", 1};
    for (const std::optional<CustomerInput>& existing :
         {std::optional<CustomerInput>(), std::optional(stored)}) {
      const size_t before = errors.size();
      auto in = BuildCustomer(row, existing, 1'800'000'000'000, &errors);
      if (in.ok() != (errors.size() == before)) std::abort();
      CheckErrors(errors, before, row_no, columns);
    }
  } else {
    SubscriptionInput stored;
    stored.external_id = "S-1";
    stored.customer = "C-1";
    stored.product = "P";
    for (const std::optional<SubscriptionInput>& existing :
         {std::optional<SubscriptionInput>(), std::optional(stored)}) {
      const size_t before = errors.size();
      auto in = BuildSubscription(row, existing, &errors);
      if (in.ok() != (errors.size() == before)) std::abort();
      CheckErrors(errors, before, row_no, columns);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto inspection = InspectCsv(input);
  if (!inspection.ok()) {
    if (inspection.status().fields().empty() || inspection.status().fields()[0].field != "file")
      std::abort();
    return 0;
  }
  const std::vector<std::string>& columns = inspection->columns;
  auto reader = CsvReader::Open(input);
  if (!reader.ok() || reader->header() != columns) std::abort();
  std::vector<std::pair<ImportKind, ColumnMapping>> mappings;
  for (ImportKind kind : {ImportKind::kCustomers, ImportKind::kSubscriptions}) {
    // The suggestion, and every column mapped to a field in turn (attributes for the rest).
    mappings.emplace_back(kind, SuggestMapping(kind, columns));
    const auto& fields = ImportFields(kind);
    json::object all;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i < fields.size()) {
        all[columns[i]] = fields[i].name;
      } else if (kind == ImportKind::kCustomers) {
        all[columns[i]] = "attributes.c" + std::to_string(i);
      } else {
        all[columns[i]] = nullptr;
      }
    }
    auto parsed = ParseMapping(kind, columns, all);
    if (parsed.ok()) mappings.emplace_back(kind, *parsed);
  }
  CsvRow row;
  std::optional<CsvError> error;
  int64_t records = 0;
  while (reader->Next(&row, &error)) {
    ++records;
    if (error) continue;
    for (const auto& [kind, mapping] : mappings)
      CheckRow(kind, columns, mapping, row.fields, row.number + 1);
  }
  if (records != inspection->records) std::abort();
  return 0;
}
