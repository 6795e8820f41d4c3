#include "payments/ach/writer.h"

#include <cstring>

#include "payments/ach/codes.h"

namespace kontor::payments::ach {
namespace {
constexpr uint64_t kHashModulus = 10000000000ULL;
const std::string kPadding(kRecordLength, '9');

uint64_t Digits(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}
}  // namespace

void SetField(std::string& record, const Field& f, uint64_t value) {
  char* p = record.data() + f.start - 1;
  for (int i = f.length - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

void SetField(std::string& record, const Field& f, std::string_view value) {
  char* p = record.data() + f.start - 1;
  size_t n = std::min<size_t>(value.size(), f.length);
  bool numeric =
      f.kind == FieldKind::kNumeric || f.kind == FieldKind::kAmount || f.kind == FieldKind::kConst;
  if (numeric) {
    std::memset(p, '0', f.length);
    std::memcpy(p + f.length - n, value.data(), n);
  } else {
    std::memset(p, ' ', f.length);
    std::memcpy(p, value.data(), n);
  }
}

std::string Write(const File& file) {
  std::string out;
  size_t lines = 0;
  auto put = [&](const Record& r) {
    if (r.text.empty()) return;
    out += r.text;
    out += '\n';
    ++lines;
  };
  put(file.header);
  for (const Batch& b : file.batches) {
    put(b.header);
    for (const Entry& e : b.entries) {
      put(e.record);
      for (const Record& a : e.addenda) put(a);
    }
    put(b.control);
  }
  put(file.control);
  while (lines % kBlockingFactor != 0) {
    out += kPadding;
    out += '\n';
    ++lines;
  }
  return out;
}

StreamWriter::StreamWriter(std::ostream& out) : out_(out) { buf_.reserve(1 << 20); }
StreamWriter::~StreamWriter() { Flush(); }

void StreamWriter::Flush() {
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
}

void StreamWriter::Put(std::string_view record) {
  buf_.append(record);
  buf_ += '\n';
  ++lines_;
  if (buf_.size() >= (1 << 20)) Flush();
}

void StreamWriter::FileHeader(std::string_view record) { Put(record); }

void StreamWriter::BatchHeader(std::string_view record) {
  batch_header_.assign(record);
  batch_header_.resize(kRecordLength, ' ');
  bool adv = batch_header_.compare(50, 3, "ADV") == 0;
  if (first_batch_) adv_file_ = adv;
  first_batch_ = false;
  b_count_ = b_hash_ = b_debit_ = b_credit_ = 0;
  Put(record);
}

void StreamWriter::Entry(std::string_view record) {
  ++entries_;
  ++b_count_;
  if (record.size() >= 39) {
    b_hash_ += Digits(record.substr(3, 8));
    bool adv = batch_header_.compare(50, 3, "ADV") == 0;
    uint64_t amount = adv ? Digits(record.substr(27, 12)) : Digits(record.substr(29, 10));
    switch (ClassifyTransactionCode(record.substr(1, 2))) {
      case TxClass::kCredit:
      case TxClass::kAdvCredit:
        b_credit_ += amount;
        break;
      case TxClass::kDebit:
      case TxClass::kAdvDebit:
        b_debit_ += amount;
        break;
      default:
        break;
    }
  }
  Put(record);
}

void StreamWriter::Addenda(std::string_view record) {
  ++b_count_;
  Put(record);
}

void StreamWriter::EndBatch(std::string_view control_template) {
  bool adv = batch_header_.compare(50, 3, "ADV") == 0;
  bool iat = batch_header_.compare(50, 3, "IAT") == 0;
  const Layout& l = BatchControlLayout(adv);
  std::string c(control_template.empty() ? std::string(kRecordLength, ' ')
                                         : std::string(control_template));
  c.resize(kRecordLength, ' ');
  c[0] = '8';
  SetField(c, *l.Find("serviceClassCode"), std::string_view(batch_header_).substr(1, 3));
  SetField(c, *l.Find("entryAddendaCount"), b_count_);
  SetField(c, *l.Find("entryHash"), b_hash_ % kHashModulus);
  SetField(c, *l.Find("totalDebitEntryDollarAmount"), b_debit_);
  SetField(c, *l.Find("totalCreditEntryDollarAmount"), b_credit_);
  if (!adv && !iat && c.compare(44, 10, std::string(10, ' ')) == 0)
    SetField(c, *l.Find("companyIdentification"), std::string_view(batch_header_).substr(40, 10));
  SetField(c, *l.Find("odfiIdentification"), std::string_view(batch_header_).substr(79, 8));
  SetField(c, *l.Find("batchNumber"), std::string_view(batch_header_).substr(87, 7));
  Put(c);
  ++batches_;
  f_count_ += b_count_;
  f_hash_ += b_hash_;
  f_debit_ += b_debit_;
  f_credit_ += b_credit_;
}

void StreamWriter::EndFile(std::string_view control_template) {
  const Layout& l = FileControlLayout(adv_file_);
  std::string c(control_template.empty() ? std::string(kRecordLength, ' ')
                                         : std::string(control_template));
  c.resize(kRecordLength, ' ');
  c[0] = '9';
  int64_t total = lines_ + 1;
  uint64_t blocks = static_cast<uint64_t>((total + kBlockingFactor - 1) / kBlockingFactor);
  SetField(c, *l.Find("batchCount"), static_cast<uint64_t>(batches_));
  SetField(c, *l.Find("blockCount"), blocks);
  SetField(c, *l.Find("entryAddendaCount"), f_count_);
  SetField(c, *l.Find("entryHash"), f_hash_ % kHashModulus);
  SetField(c, *l.Find("totalDebitEntryDollarAmountInFile"), f_debit_);
  SetField(c, *l.Find("totalCreditEntryDollarAmountInFile"), f_credit_);
  Put(c);
  while (lines_ % kBlockingFactor != 0) Put(kPadding);
  Flush();
  out_.flush();
}

}  // namespace kontor::payments::ach
