// Customers as CSV (UTF-8, ',', RFC 4180), for spreadsheets and for importing back.
//
// Columns: the customer import fields (ImportFields(kCustomers): external_id ... consent_push,
// tags joined with '|', consent as its status), then one "attributes.<name>" column for every
// attribute name any exported customer has, sorted. Those names come from one DISTINCT query
// over the same filter before the rows are read, so the header is known up front without
// holding rows in memory; an attribute added by a write between that query and the read of its
// row is not exported. Cells starting with = + - @ or tab get a leading ' (AppendCsvRecord) so
// spreadsheets do not run them as formulas; the importer strips it again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "clients/customers.h"
#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct CustomerExport {
  int64_t rows = 0;
  std::vector<std::string> attribute_names;
};

// Receives the CSV text a page of rows at a time.
using CsvSink = std::function<Status(std::string_view)>;

// The customers CustomerService::List would return for `filter` (q, tag, status, updated_since,
// segment_where; after_id and limit are ignored), all of them, in id order, written to `sink`.
// Rows are read in pages of `page_size` with their tags and consent fetched per page, so
// memory stays at a page however many customers there are. A sink error stops the export.
Result<CustomerExport> ExportCustomersCsv(store::Database& db,
                                          const CustomerService::Filter& filter,
                                          const CsvSink& sink, int page_size = 1000);

// An attribute value as one CSV cell: strings as they are, numbers in their shortest form,
// true/false, "" for null, JSON for arrays and objects.
std::string AttributeCellText(const json::value& v);

}  // namespace kontor::clients
