// NACHA record layouts. One field table per record type drives the reader,
// writer, validator, JSON conversion and error positions.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace kontor::payments::ach {

inline constexpr int kRecordLength = 94;
inline constexpr int kBlockingFactor = 10;

enum class FieldKind : uint8_t {
  kNumeric,       // digits only
  kNumericBlank,  // digits, or all blanks (fields an operator fills in later)
  kAmount,        // digits; an integer number of cents in JSON
  kAlpha,         // printable ASCII 0x20-0x7E
  kConst,         // fixed value (record type code, sizes); digits
};

struct Field {
  const char* name;  // camelCase, used in JSON and error messages
  uint8_t start;     // 1-based first column
  uint8_t length;
  FieldKind kind;
  int end() const { return start + length - 1; }
  std::string_view In(std::string_view record) const { return record.substr(start - 1, length); }
};

enum class RecordKind : uint8_t {
  kFileHeader,
  kBatchHeader,
  kIatBatchHeader,
  kEntry,
  kCtxEntry,  // CTX and ATX: number of addenda and receiving company
  kIatEntry,
  kAdvEntry,
  kAddenda02,
  kAddenda05,
  kAddenda10,
  kAddenda11,
  kAddenda12,
  kAddenda13,
  kAddenda14,
  kAddenda15,
  kAddenda16,
  kAddenda17,
  kAddenda18,
  kAddenda98,
  kAddenda99,
  kAddenda99Dishonored,
  kAddenda99Contested,
  kBatchControl,
  kAdvBatchControl,
  kFileControl,
  kAdvFileControl,
  kCount,
};

struct Layout {
  RecordKind kind;
  char type;         // record type code, '1'..'9'
  const char* name;  // "entry detail", "addenda 98", ...
  std::span<const Field> fields;
  const Field* Find(std::string_view field_name) const;
};

const Layout& LayoutOf(RecordKind kind);

// Layout for an entry of the given SEC code, and for an addenda record of the
// given type code ("05", "99", ...) read under that SEC; nullptr for an unknown
// addenda type. The 99 variant depends on the return reason code.
const Layout& EntryLayout(std::string_view sec);
const Layout* AddendaLayout(std::string_view type_code, std::string_view record);
const Layout& BatchHeaderLayout(std::string_view sec);
const Layout& BatchControlLayout(bool adv);
const Layout& FileControlLayout(bool adv);

}  // namespace kontor::payments::ach
