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
#include <string>
#include <vector>

#include "clients/customers.h"
#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct CustomerExport {
  std::string csv;
  int64_t rows = 0;
  std::vector<std::string> attribute_names;
};

// The customers CustomerService::List would return for `filter` (q, tag, status, updated_since,
// segment_where; after_id and limit are ignored), all of them, in id order. Rows are read in
// pages of `page_size` with their tags and consent fetched per page.
Result<CustomerExport> ExportCustomersCsv(store::Database& db,
                                          const CustomerService::Filter& filter,
                                          int page_size = 1000);

// An attribute value as one CSV cell: strings as they are, numbers in their shortest form,
// true/false, "" for null, JSON for arrays and objects.
std::string AttributeCellText(const json::value& v);

}  // namespace kontor::clients
