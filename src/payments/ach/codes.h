// Nacha code tables: SEC codes, transaction codes, return and change codes.
#pragma once
#include <string_view>

namespace kontor::payments::ach {

// Standard Entry Class codes Nacha defines (ACK ... XCK).
bool IsKnownSecCode(std::string_view sec);

enum class TxClass { kInvalid, kCredit, kDebit, kAdvCredit, kAdvDebit };
// Classifies a two-digit transaction code; kInvalid for codes Nacha does not define.
TxClass ClassifyTransactionCode(std::string_view code);
// Prenotification (23, 28, 33, ...) and zero-dollar remittance (24, 29, ...) codes carry no money.
bool IsPrenoteCode(std::string_view code);
bool IsZeroDollarCode(std::string_view code);
// Automated return or NOC codes (21, 26, 31, 36, 41, 46, 51, 56), the only ones a COR entry may
// use.
bool IsReturnOrNocCode(std::string_view code);

// Return reason codes R01-R85 as Nacha documents them; the text is the short title.
const char* ReturnCodeTitle(std::string_view code);  // nullptr when unknown
bool IsDishonoredReturnCode(std::string_view code);  // R61, R62, R67-R70
bool IsContestedReturnCode(std::string_view code);   // R71-R77
// Notification of change codes C01-C14.
const char* ChangeCodeTitle(std::string_view code);  // nullptr when unknown

}  // namespace kontor::payments::ach
