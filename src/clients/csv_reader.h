// CSV reading and writing for the client-hub import and export.
//
// Parsing is RFC 4180 as implemented by libcsv in strict mode: quoted fields may contain the
// delimiter, doubled quotes and line breaks, and records may end in CR LF, LF or CR. Quoted
// content is kept byte for byte; spaces and tabs around unquoted fields are dropped (libcsv's
// default, unlike RFC 4180 section 2.4, because pasted spreadsheet data is full of them).
// Everything a spreadsheet user can get wrong in a single record (wrong field count, Latin-1
// bytes, stray quotes, huge fields) is reported per record so the import can show all problems
// in one pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kontor::clients {

struct CsvOptions {
  size_t max_bytes = 512u << 20;  // whole input
  size_t max_field_bytes = 64u << 10;
  size_t max_columns = 200;
  size_t max_rows = 5'000'000;
};

struct CsvError {
  int64_t row;         // 1-based data row; the header is row 0
  std::string column;  // header name, or "" when the problem is the whole row
  std::string message;
};

struct CsvRow {
  int64_t number = 0;  // 1-based data row (records, not lines: quoted fields may span lines)
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  // Sniffs the delimiter (',' or ';', whichever occurs more often outside quotes in the header
  // line; ',' on a tie), strips a UTF-8 BOM and reads the header (names trimmed of ASCII
  // whitespace; empty, duplicate or more than max_columns names are an error). Fails with
  // kValidation naming "file" when the input has no usable header or is larger than max_bytes.
  // `data` is parsed as Next asks for rows, so it must outlive the reader.
  static Result<CsvReader> Open(std::string_view data, CsvOptions options = {});

  CsvReader(CsvReader&&) noexcept;
  CsvReader& operator=(CsvReader&&) noexcept;
  ~CsvReader();

  char delimiter() const;
  const std::vector<std::string>& header() const;

  // Streams records; false at the end. Returns true with `*error` empty and `*row` filled for a
  // usable record, or with `*error` set (and `row->fields` cleared) for one that cannot be used:
  // ragged (field count differs from the header), a field that is not valid UTF-8 or is longer
  // than max_field_bytes, a stray or unescaped quote (reading resumes after that line), or an
  // unbalanced quote at the end of input. One bad record never stops the file; only exceeding
  // max_rows does (reported once as row max_rows + 1, then the end). Blank lines are skipped
  // and do not count as rows. Reusing the same CsvRow across calls avoids allocations.
  bool Next(CsvRow* row, std::optional<CsvError>* error);

  // Records returned by Next so far, usable or not (the number of the last one).
  int64_t rows_read() const;

 private:
  struct Impl;
  explicit CsvReader(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

// Appends one CSV record terminated by "\r\n". Fields containing the delimiter, a quote, CR or
// LF are quoted with quotes doubled (RFC 4180); a field starting with = + - @ or tab gets a
// leading ' so spreadsheets do not evaluate it as a formula. A record of a single empty field
// is written as "" so that it does not read back as a blank line.
void AppendCsvRecord(std::string* out, const std::vector<std::string>& fields,
                     char delimiter = ',');

}  // namespace kontor::clients
