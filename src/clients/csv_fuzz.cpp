// libFuzzer target: raw bytes → CsvReader (libcsv plus our limits, UTF-8 checks and error
// recovery). Every usable row must satisfy the reader's promises, and must survive a round trip
// through AppendCsvRecord and a second reader unchanged apart from the formula-defusing quote.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/csv_reader.h"

namespace {

using kontor::clients::AppendCsvRecord;
using kontor::clients::CsvError;
using kontor::clients::CsvOptions;
using kontor::clients::CsvReader;
using kontor::clients::CsvRow;

std::string Defused(const std::string& field) {
  if (!field.empty() && std::string_view("=+-@\t").find(field[0]) != std::string_view::npos) {
    return "'" + field;
  }
  return field;
}

// Writes `fields` under a synthetic header (the original names may collide once defused) and
// checks that a fresh reader returns exactly the defused fields.
void CheckRoundTrip(const std::vector<std::string>& fields, char delimiter) {
  std::vector<std::string> header;
  for (size_t i = 0; i < fields.size(); ++i) header.push_back("c" + std::to_string(i));
  // A one-column header has no delimiter to sniff, so the reader assumes ','.
  if (fields.size() < 2) delimiter = ',';
  std::string out;
  AppendCsvRecord(&out, header, delimiter);
  AppendCsvRecord(&out, fields, delimiter);
  auto reader = CsvReader::Open(out);
  if (!reader.ok() || reader->delimiter() != delimiter || reader->header() != header) std::abort();
  CsvRow row;
  std::optional<CsvError> error;
  if (!reader->Next(&row, &error) || error || row.number != 1) std::abort();
  if (row.fields.size() != fields.size()) std::abort();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (row.fields[i] != Defused(fields[i])) std::abort();
  }
  if (reader->Next(&row, &error)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits so the fuzzer reaches the oversized-field, column and row limits.
  CsvOptions options;
  options.max_bytes = 1 << 20;
  options.max_field_bytes = 64;
  options.max_columns = 16;
  options.max_rows = 1000;
  auto reader =
      CsvReader::Open(std::string_view(reinterpret_cast<const char*>(data), size), options);
  if (!reader.ok()) return 0;
  const size_t columns = reader->header().size();
  if (columns == 0 || columns > options.max_columns) std::abort();
  CsvRow row;
  std::optional<CsvError> error;
  int64_t last = 0;
  while (reader->Next(&row, &error)) {
    // Rows are numbered 1, 2, 3, ... whether usable or not.
    if (row.number != last + 1 || reader->rows_read() != row.number) std::abort();
    last = row.number;
    if (error) {
      if (error->row != row.number || error->message.empty()) std::abort();
      continue;
    }
    if (row.fields.size() != columns) std::abort();
    for (const std::string& field : row.fields) {
      if (field.size() > options.max_field_bytes) std::abort();
    }
    CheckRoundTrip(row.fields, reader->delimiter());
  }
  if (static_cast<uint64_t>(last) > options.max_rows + 1) std::abort();
  return 0;
}
