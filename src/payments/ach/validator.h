// One-pass reader and validator for NACHA files. The scanner is fed one line
// at a time (without its line terminator), checks every record as it goes and
// hands records and errors to a Handler; it keeps no more than one entry's
// worth of state, so memory stays constant whatever the file size.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "payments/ach/record.h"

namespace kontor::payments::ach {

struct Error {
  int64_t line = 0;         // 1-based line number
  char record_type = 0;     // '1'..'9'; 0 when the line has no known type
  const char* record = "";  // "entry detail", "batch control", ...
  const char* field = "";   // camelCase field name; "" when the error is about the record
  int start = 0, end = 0;   // 1-based columns of the field; 0 when no field
  const char* kind = "";    // fixed description of the rule that failed
  std::string detail;       // the values involved; may be empty
  // "<record>: <kind>[ (<detail>)]"
  std::string Message() const;
};

struct RecordView {
  const Layout* layout;   // nullptr for padding and unrecognised lines
  std::string_view text;  // the 94 characters (fewer or more when the length is wrong)
  int64_t line;
  bool padding;  // an all-9 block-filling line after the file control
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Every line in file order once it has been checked.
  virtual void OnRecord(const RecordView& record) {}
  virtual void OnError(const Error& error) {}
};

class Scanner {
 public:
  explicit Scanner(Handler& handler);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  void Line(std::string_view line);  // the next line, without CR/LF
  void Finish();                     // end of input: structural checks

  int64_t lines() const;
  int64_t entries() const;
  int64_t errors() const;

 private:
  struct State;
  State* s_;
};

// The whole buffer through a Scanner: lines split on LF, CRLF or CR, a final
// line terminator optional; a buffer without any line terminator is cut into
// 94-character records.
void ScanBuffer(std::string_view data, Handler& handler);

// Hands the complete lines of data[*start..] to `emit`, without terminators:
// lines end with LF, CRLF or a lone CR (a CR inside a 94-character line is
// data, reported by the validator). Advances *start past what it consumed.
// Unless `final`, an unterminated tail (and a CR that may be the first half
// of a CRLF) is left for the next call; when `final` it is the last line.
// A tail longer than `max_line` is emitted as is, so memory stays bounded.
void SplitLines(std::string_view data, size_t* start, bool final, size_t max_line,
                const std::function<void(std::string_view)>& emit);

}  // namespace kontor::payments::ach
