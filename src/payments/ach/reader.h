// Reading NACHA files: the whole file into a model, or streamed record by
// record through a Handler (see validator.h) in constant memory.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "payments/ach/validator.h"

namespace kontor::payments::ach {

struct Record {
  const Layout* layout = nullptr;  // nullptr for a line the reader could not place
  std::string text;                // the record's characters as read
  int64_t line = 0;
  std::string_view Get(const char* field) const;  // "" when the layout has no such field
};

struct Entry {
  Record record;
  std::vector<Record> addenda;
};

struct Batch {
  Record header;
  std::vector<Entry> entries;
  Record control;  // text empty when missing
};

struct File {
  Record header;
  std::vector<Batch> batches;
  Record control;
  int64_t padding = 0;  // all-9 lines after the file control
};

struct ReadResult {
  File file;
  std::vector<Error> errors;  // every error, in line order of detection
  int64_t entries = 0;
  bool ok() const { return errors.empty(); }
};

// Reads and validates a whole file held in memory.
ReadResult Read(std::string_view data);

// Streams `in` through a Scanner in fixed-size chunks. Returns false when the
// stream fails (the handler has seen the records read until then).
bool ScanStream(std::istream& in, Handler& handler, int64_t* entries = nullptr);

// Collects errors, keeping at most `limit` of them (the count goes on).
class ErrorCollector : public Handler {
 public:
  explicit ErrorCollector(size_t limit = 10000) : limit_(limit) {}
  void OnError(const Error& e) override {
    ++count_;
    if (errors_.size() < limit_) errors_.push_back(e);
  }
  const std::vector<Error>& errors() const { return errors_; }
  int64_t count() const { return count_; }

 private:
  size_t limit_;
  int64_t count_ = 0;
  std::vector<Error> errors_;
};

}  // namespace kontor::payments::ach
