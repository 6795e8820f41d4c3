#include "clients/csv_reader.h"

#include <csv.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <unordered_set>
#include <utility>

namespace kontor::clients {
namespace {

// Input is pushed into libcsv in slices of this size: rows become available to Next after the
// first slice, and a field that outgrows max_field_bytes is caught (and its buffer cut back)
// after at most one slice, which bounds libcsv's buffer to max_field_bytes + kChunkBytes.
constexpr size_t kChunkBytes = 64u << 10;
// libcsv grows its field buffer linearly by this much (its default of 128 costs hundreds of
// reallocs for one long field).
constexpr size_t kParserBlockBytes = 4096;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Offset of the first byte that starts an invalid UTF-8 sequence, or npos. Strict (RFC 3629):
// overlong forms, UTF-16 surrogates and code points above U+10FFFF are invalid.
size_t FindInvalidUtf8(const unsigned char* s, size_t n) {
  // Most import data is ASCII: one pass the compiler vectorises settles that.
  unsigned char any = 0;
  for (size_t k = 0; k < n; ++k) any |= s[k];
  if (any < 0x80) return std::string_view::npos;
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0xC2) {
      return i;  // stray continuation byte, or C0/C1 (always overlong)
    } else if (c < 0xE0) {
      need = 1;
    } else if (c < 0xF0) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates D800-DFFF
    } else if (c < 0xF5) {
      need = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (need >= n - i) return i;  // truncated sequence
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k <= need; ++k) {
      if (!IsContinuation(s[i + k])) return i;
    }
    i += need + 1;
  }
  return std::string_view::npos;
}

// ',' unless the first non-blank line has more ';' than ',' outside quotes (the German Excel
// default is ';', since ',' is the decimal separator there).
char SniffDelimiter(std::string_view data) {
  size_t i = data.find_first_not_of("\r\n");
  if (i == std::string_view::npos) return ',';
  size_t commas = 0, semicolons = 0;
  bool quoted = false;
  for (; i < data.size(); ++i) {
    char c = data[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (!quoted) {
      if (c == '\r' || c == '\n') break;
      if (c == ',') ++commas;
      if (c == ';') ++semicolons;
    }
  }
  return semicolons > commas ? ';' : ',';
}

Status FileError(std::string message) { return Status::Validation({{"file", std::move(message)}}); }

}  // namespace

struct CsvReader::Impl {
  // A parsed record. Slots (and the strings in them) are reused: Next swaps a usable record's
  // fields with the caller's vector, so a caller that reuses its CsvRow hands the storage back.
  struct Record {
    int64_t number = 0;
    std::vector<std::string> fields;
    std::optional<CsvError> error;
  };
  struct Problem {
    std::string column;
    std::string message;
  };

  Impl(std::string_view data, CsvOptions options, char delimiter)
      : data_(data), options_(options), delimiter_(delimiter), queue_(1) {
    InitParser();
  }
  ~Impl() { csv_free(&parser_); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void InitParser() {
    // CSV_STRICT: a quote inside an unquoted field or text after a closing quote is an error
    // rather than being guessed at; lenient parsing of `"a"b,c` would keep the field open and
    // silently swallow the following records. CSV_STRICT_FINI reports an unterminated quote.
    // libcsv's default whitespace handling stays on: spaces and tabs around unquoted fields and
    // around quotes are dropped (quoted content is kept), which also makes lines of only
    // spaces blank. That departs from RFC 4180's letter but is what an importer wants, and
    // AppendCsvRecord quotes such fields so round trips still hold.
    csv_init(&parser_, CSV_STRICT | CSV_STRICT_FINI);
    csv_set_delim(&parser_, static_cast<unsigned char>(delimiter_));
    csv_set_blk_size(&parser_, kParserBlockBytes);
  }

  static void OnField(void* s, size_t len, void* self) {
    static_cast<Impl*>(self)->AddField(static_cast<const char*>(s), len);
  }
  static void OnRecord(int, void* self) { static_cast<Impl*>(self)->EndRecord(nullptr); }

  const std::string& ColumnName(size_t index) const {
    static const std::string kNone;
    return index < header_.size() ? header_[index] : kNone;
  }

  Problem MakeProblem(size_t index, std::string message) const {
    // Header names are not known yet while the header itself is read; number the column.
    if (in_header_) return {"", "column " + std::to_string(index + 1) + " " + message};
    return {ColumnName(index), std::move(message)};
  }

  void AddField(const char* s, size_t len) {
    if (stopped_) return;
    size_t index = cur_count_++;
    bool oversized = field_oversized_ || len > options_.max_field_bytes;
    field_oversized_ = false;
    if (!storing_) return;
    if (index >= (in_header_ ? options_.max_columns : header_.size())) {
      storing_ = false;  // ragged (or too many header names): reported at the end of the record
      return;
    }
    if (oversized) {
      field_problem_ = MakeProblem(
          index, "is longer than " + std::to_string(options_.max_field_bytes) + " bytes");
      storing_ = false;
      return;
    }
    size_t bad = FindInvalidUtf8(reinterpret_cast<const unsigned char*>(s), len);
    if (bad != std::string_view::npos) {
      char detail[96];
      std::snprintf(detail, sizeof(detail),
                    "is not valid UTF-8 (byte 0x%02X at offset %zu); save the file as UTF-8",
                    static_cast<unsigned char>(s[bad]), bad);
      field_problem_ = MakeProblem(index, detail);
      storing_ = false;
      return;
    }
    std::vector<std::string>& fields = queue_[tail_].fields;
    if (index < fields.size()) {
      // resize + memcpy: assign() goes through the general _M_replace, a measurable share of
      // the per-field cost.
      std::string& field = fields[index];
      field.resize(len);
      if (len > 0) std::memcpy(field.data(), s, len);
    } else {
      fields.emplace_back(s, len);
    }
  }

  void StartRecord() {
    cur_count_ = 0;
    storing_ = true;
    field_oversized_ = false;
    field_problem_.reset();
  }

  // `structural` is a quoting problem that makes the field count meaningless.
  void EndRecord(const Problem* structural) {
    if (stopped_) return;
    if (in_header_) {
      TakeHeader(structural);
      StartRecord();
      return;
    }
    Record& record = queue_[tail_];
    record.number = ++records_;
    record.error.reset();
    if (static_cast<uint64_t>(record.number) > options_.max_rows) {
      record.error = CsvError{record.number, "",
                              "file has more than " + std::to_string(options_.max_rows) + " rows"};
      stopped_ = true;
    } else if (structural) {
      record.error = CsvError{record.number, structural->column, structural->message};
    } else if (cur_count_ != header_.size()) {
      record.error =
          CsvError{record.number, "",
                   "has " + std::to_string(cur_count_) + (cur_count_ == 1 ? " field" : " fields") +
                       ", the header has " + std::to_string(header_.size())};
    } else if (field_problem_) {
      record.error = CsvError{record.number, std::move(field_problem_->column),
                              std::move(field_problem_->message)};
    } else {
      // Only shrinks when the slot holds a longer vector handed back by the caller.
      record.fields.resize(cur_count_);
    }
    if (++tail_ == queue_.size()) queue_.emplace_back();
    StartRecord();
  }

  void TakeHeader(const Problem* structural) {
    in_header_ = false;
    have_header_ = true;
    if (structural) {
      header_error_ = "header " + structural->message;
    } else if (field_problem_) {
      header_error_ = "header " + field_problem_->message;
    } else if (cur_count_ > options_.max_columns) {
      header_error_ = "header has " + std::to_string(cur_count_) + " columns, at most " +
                      std::to_string(options_.max_columns) + " are allowed";
    }
    if (header_error_) return;
    const std::vector<std::string>& names = queue_[tail_].fields;
    std::unordered_set<std::string_view> seen;
    for (size_t i = 0; i < cur_count_; ++i) header_.emplace_back(Trim(names[i]));
    for (size_t i = 0; i < header_.size(); ++i) {
      if (header_[i].empty()) {
        header_error_ = "header column " + std::to_string(i + 1) + " has no name";
        break;
      }
      if (!seen.insert(header_[i]).second) {
        header_error_ = "header names \"" + header_[i] + "\" more than once";
        break;
      }
    }
  }

  // Parses one more slice of input (or finishes it); callbacks queue the records.
  void Step() {
    if (pos_ >= data_.size()) {
      Finish();
      return;
    }
    size_t n = std::min(kChunkBytes, data_.size() - pos_);
    size_t used = csv_parse(&parser_, data_.data() + pos_, n, OnField, OnRecord, this);
    if (stopped_) {
      done_ = true;
      return;
    }
    if (used == n) {
      pos_ += n;
      if (parser_.entry_pos > options_.max_field_bytes) {
        // The field is already too long to be used: discard what libcsv has buffered so a
        // runaway field (typically an unbalanced quote) cannot grow it to the whole file.
        // libcsv later removes trailing spaces (and a closing quote) by moving entry_pos back
        // by spaces (+ 1), so that many bytes stay.
        field_oversized_ = true;
        parser_.entry_pos = std::min(parser_.entry_pos, parser_.spaces + 1);
      }
      return;
    }
    if (csv_error(&parser_) != CSV_EPARSE) throw std::bad_alloc();
    // A stray quote. Resynchronise at the next line end: the rest of this line cannot be
    // interpreted reliably, and libcsv cannot continue past a strict error.
    pos_ += used;
    Problem problem = MakeProblem(cur_count_,
                                  "has a stray quote: a field containing quotes must be enclosed "
                                  "in quotes, with each quote inside doubled");
    size_t eol = data_.find_first_of("\r\n", pos_);
    pos_ = eol == std::string_view::npos ? data_.size() : eol + 1;
    EndRecord(&problem);
    csv_free(&parser_);
    InitParser();
  }

  void Finish() {
    if (csv_fini(&parser_, OnField, OnRecord, this) != 0) {
      Problem problem = MakeProblem(
          cur_count_, "has a quoted field that is not closed before the end of the file");
      EndRecord(&problem);
    }
    done_ = true;
  }

  // True when a record is queued; parses further input as needed.
  bool Fill() {
    while (head_ == tail_) {
      // Everything queued has been handed out: the record still being parsed moves to the
      // front and the other slots are reused.
      if (tail_ > 0) {
        std::swap(queue_[0].fields, queue_[tail_].fields);
        head_ = tail_ = 0;
      }
      if (done_ || stopped_) return false;
      Step();
    }
    return true;
  }

  std::string_view data_;
  size_t pos_ = 0;  // next byte of data_ to hand to libcsv
  CsvOptions options_;
  char delimiter_;
  csv_parser parser_;
  bool done_ = false;     // all input parsed
  bool stopped_ = false;  // max_rows exceeded; ignore the rest

  bool in_header_ = true;
  bool have_header_ = false;
  std::optional<std::string> header_error_;
  std::vector<std::string> header_;

  // The record being parsed; its fields go to queue_[tail_].
  size_t cur_count_ = 0;  // fields seen, stored or not
  bool storing_ = true;
  bool field_oversized_ = false;  // the field in progress was cut back in Step
  std::optional<Problem> field_problem_;

  // Parsed records, handed out by Next from head_; queue_[tail_] is always present.
  std::vector<Record> queue_;
  size_t head_ = 0;
  size_t tail_ = 0;
  int64_t records_ = 0;    // data records parsed
  int64_t rows_read_ = 0;  // data records returned
};

CsvReader::CsvReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CsvReader::CsvReader(CsvReader&&) noexcept = default;
CsvReader& CsvReader::operator=(CsvReader&&) noexcept = default;
CsvReader::~CsvReader() = default;

Result<CsvReader> CsvReader::Open(std::string_view data, CsvOptions options) {
  if (data.size() > options.max_bytes) {
    return FileError("is larger than " + std::to_string(options.max_bytes) + " bytes");
  }
  if (data.starts_with(kUtf8Bom)) data.remove_prefix(kUtf8Bom.size());
  auto impl = std::make_unique<Impl>(data, options, SniffDelimiter(data));
  while (!impl->have_header_ && !impl->done_) impl->Step();
  if (!impl->have_header_) return FileError("is empty: the first line must name the columns");
  if (impl->header_error_) return FileError(*impl->header_error_);
  return CsvReader(std::move(impl));
}

char CsvReader::delimiter() const { return impl_->delimiter_; }

const std::vector<std::string>& CsvReader::header() const { return impl_->header_; }

int64_t CsvReader::rows_read() const { return impl_->rows_read_; }

bool CsvReader::Next(CsvRow* row, std::optional<CsvError>* error) {
  Impl& impl = *impl_;
  if (!impl.Fill()) return false;
  Impl::Record& record = impl.queue_[impl.head_++];
  impl.rows_read_ = record.number;
  row->number = record.number;
  if (record.error) {
    row->fields.clear();
    *error = std::move(record.error);
    return true;
  }
  error->reset();
  row->fields.swap(record.fields);
  return true;
}

namespace {

bool IsCsvSpace(char c) { return c == ' ' || c == '\t'; }

}  // namespace

void AppendCsvRecord(std::string* out, const std::vector<std::string>& fields, char delimiter) {
  if (fields.size() == 1 && fields[0].empty()) {
    out->append("\"\"\r\n");
    return;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(delimiter);
    const std::string& field = fields[i];
    // OWASP "CSV injection": spreadsheets evaluate cells starting with these as formulas.
    bool defuse = !field.empty() && (field[0] == '=' || field[0] == '+' || field[0] == '-' ||
                                     field[0] == '@' || field[0] == '\t');
    // Besides RFC 4180's cases, leading or trailing blanks are quoted: the reader keeps libcsv's
    // default of trimming them from unquoted fields.
    bool quote = !field.empty() && ((IsCsvSpace(field[0]) && !defuse) || IsCsvSpace(field.back()));
    for (size_t k = 0; k < field.size() && !quote; ++k) {
      char c = field[k];
      quote = c == delimiter || c == '"' || c == '\r' || c == '\n';
    }
    if (!quote) {
      if (defuse) out->push_back('\'');
      out->append(field);
      continue;
    }
    out->push_back('"');
    if (defuse) out->push_back('\'');
    for (char c : field) {
      if (c == '"') out->push_back('"');
      out->push_back(c);
    }
    out->push_back('"');
  }
  out->append("\r\n");
}

}  // namespace kontor::clients
