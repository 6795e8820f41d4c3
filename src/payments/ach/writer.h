// Writing NACHA files: a File model back to text (record for record), and a
// streaming writer that computes batch and file controls and block padding.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "payments/ach/reader.h"

namespace kontor::payments::ach {

// The file's records as read, then all-9 padding to a multiple of 10 records;
// lines end in "\n".
std::string Write(const File& file);

// Writes records as they come, computing each batch control when the batch
// ends and the file control and padding when the file ends. Records are
// 94-character strings; controls may be given as templates whose non-computed
// fields (message authentication code, ACH operator data) are kept.
class StreamWriter {
 public:
  explicit StreamWriter(std::ostream& out);
  ~StreamWriter();
  void FileHeader(std::string_view record);
  void BatchHeader(std::string_view record);
  void Entry(std::string_view record);
  void Addenda(std::string_view record);
  void EndBatch(std::string_view control_template = {});
  void EndFile(std::string_view control_template = {});
  int64_t entries() const { return entries_; }

 private:
  void Put(std::string_view record);
  void Flush();
  std::ostream& out_;
  std::string buf_;
  std::string batch_header_;
  bool adv_file_ = false, first_batch_ = true;
  int64_t lines_ = 0, entries_ = 0, batches_ = 0;
  uint64_t b_count_ = 0, b_hash_ = 0, b_debit_ = 0, b_credit_ = 0;
  uint64_t f_count_ = 0, f_hash_ = 0, f_debit_ = 0, f_credit_ = 0;
};

// Writes `value` right-aligned with zero fill (numeric) or left-aligned with
// space fill into the field's columns of `record` (94 characters).
void SetField(std::string& record, const Field& field, uint64_t value);
void SetField(std::string& record, const Field& field, std::string_view value);

}  // namespace kontor::payments::ach
