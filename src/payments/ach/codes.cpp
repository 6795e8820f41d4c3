#include "payments/ach/codes.h"

#include <array>
#include <utility>

namespace kontor::payments::ach {
namespace {

constexpr std::string_view kSecCodes[] = {"ACK", "ADV", "ARC", "ATX", "BOC", "CCD", "CIE", "COR",
                                          "CTX", "DNE", "ENR", "IAT", "MTE", "POP", "POS", "PPD",
                                          "RCK", "SHR", "TEL", "TRC", "TRX", "WEB", "XCK"};

constexpr std::pair<std::string_view, const char*> kReturnCodes[] = {
    {"R01", "Insufficient funds"},
    {"R02", "Account closed"},
    {"R03", "No account/unable to locate account"},
    {"R04", "Invalid account number structure"},
    {"R05", "Unauthorized debit to consumer account using corporate SEC code"},
    {"R06", "Returned per ODFI's request"},
    {"R07", "Authorization revoked by customer"},
    {"R08", "Payment stopped"},
    {"R09", "Uncollected funds"},
    {"R10", "Customer advises originator is not known to receiver and/or not authorized"},
    {"R11", "Customer advises entry not in accordance with the terms of the authorization"},
    {"R12", "Account sold to another DFI"},
    {"R13", "Invalid ACH routing number"},
    {"R14", "Representative payee deceased or unable to continue in that capacity"},
    {"R15", "Beneficiary or account holder deceased"},
    {"R16", "Account frozen/entry returned per OFAC instruction"},
    {"R17",
     "File record edit criteria / entry with invalid account number initiated under questionable "
     "circumstances"},
    {"R18", "Improper effective entry date"},
    {"R19", "Amount field error"},
    {"R20", "Non-transaction account"},
    {"R21", "Invalid company identification"},
    {"R22", "Invalid individual ID number"},
    {"R23", "Credit entry refused by receiver"},
    {"R24", "Duplicate entry"},
    {"R25", "Addenda error"},
    {"R26", "Mandatory field error"},
    {"R27", "Trace number error"},
    {"R28", "Routing number check digit error"},
    {"R29", "Corporate customer advises not authorized"},
    {"R30", "RDFI not participant in check truncation program"},
    {"R31", "Permissible return entry (CCD and CTX only)"},
    {"R32", "RDFI non-settlement"},
    {"R33", "Return of XCK entry"},
    {"R34", "Limited participation DFI"},
    {"R35", "Return of improper debit entry"},
    {"R36", "Return of improper credit entry"},
    {"R37", "Source document presented for payment"},
    {"R38", "Stop payment on source document"},
    {"R39", "Improper source document/source document presented for payment"},
    {"R40", "Return of ENR entry by federal government agency"},
    {"R41", "Invalid transaction code (ENR)"},
    {"R42", "Routing number/check digit error (ENR)"},
    {"R43", "Invalid DFI account number (ENR)"},
    {"R44", "Invalid individual ID number/identification number (ENR)"},
    {"R45", "Invalid individual name/company name (ENR)"},
    {"R46", "Invalid representative payee indicator (ENR)"},
    {"R47", "Duplicate enrollment (ENR)"},
    {"R50", "State law affecting RCK acceptance"},
    {"R51", "Item related to RCK entry is ineligible or RCK entry is improper"},
    {"R52", "Stop payment on item related to RCK entry"},
    {"R53", "Item and RCK entry presented for payment"},
    {"R61", "Misrouted return"},
    {"R62", "Return of erroneous or reversing debit"},
    {"R67", "Duplicate return"},
    {"R68", "Untimely return"},
    {"R69", "Field error(s)"},
    {"R70", "Permissible return entry not accepted/return not requested by ODFI"},
    {"R71", "Misrouted dishonored return"},
    {"R72", "Untimely dishonored return"},
    {"R73", "Timely original return"},
    {"R74", "Corrected return"},
    {"R75", "Return not a duplicate"},
    {"R76", "No errors found"},
    {"R77", "Non-acceptance of R62 dishonored return"},
    {"R80", "IAT entry coding error"},
    {"R81", "Non-participant in IAT program"},
    {"R82", "Invalid foreign receiving DFI identification"},
    {"R83", "Foreign receiving DFI unable to settle"},
    {"R84", "Entry not processed by gateway"},
    {"R85", "Incorrectly coded outbound international payment"},
};

constexpr std::pair<std::string_view, const char*> kChangeCodes[] = {
    {"C01", "Incorrect DFI account number"},
    {"C02", "Incorrect routing number"},
    {"C03", "Incorrect routing number and incorrect DFI account number"},
    {"C04", "Incorrect individual name/receiving company name"},
    {"C05", "Incorrect transaction code"},
    {"C06", "Incorrect DFI account number and incorrect transaction code"},
    {"C07",
     "Incorrect routing number, incorrect DFI account number, and incorrect transaction code"},
    {"C08", "Incorrect receiving DFI identification (IAT only)"},
    {"C09", "Incorrect individual identification number/identification number"},
    {"C10", "Incorrect company name"},
    {"C11", "Incorrect company identification"},
    {"C12", "Incorrect company name and company identification"},
    {"C13", "Addenda format error"},
    {"C14", "Incorrect SEC code for outbound international payment"},
};

template <size_t N>
const char* Lookup(const std::pair<std::string_view, const char*> (&table)[N],
                   std::string_view code) {
  for (const auto& [k, v] : table)
    if (k == code) return v;
  return nullptr;
}

int TwoDigits(std::string_view code) {
  if (code.size() != 2) return -1;
  unsigned a = static_cast<unsigned char>(code[0]) - '0',
           b = static_cast<unsigned char>(code[1]) - '0';
  if (a > 9 || b > 9) return -1;
  return static_cast<int>(a * 10 + b);
}

}  // namespace

bool IsKnownSecCode(std::string_view sec) {
  for (auto s : kSecCodes)
    if (s == sec) return true;
  return false;
}

TxClass ClassifyTransactionCode(std::string_view code) {
  int c = TwoDigits(code);
  if (c < 0) return TxClass::kInvalid;
  if (c >= 81 && c <= 88) return c % 2 ? TxClass::kAdvCredit : TxClass::kAdvDebit;
  int tens = c / 10, units = c % 10;
  if (tens >= 2 && tens <= 4) {
    if (units >= 1 && units <= 4) return TxClass::kCredit;
    if (units >= 6 && units <= 9) return TxClass::kDebit;
    return TxClass::kInvalid;
  }
  if (tens == 5) {
    if (units >= 1 && units <= 4) return TxClass::kCredit;
    if (units == 5 || units == 6) return TxClass::kDebit;
  }
  return TxClass::kInvalid;
}

bool IsPrenoteCode(std::string_view code) {
  int c = TwoDigits(code);
  return c >= 20 && c < 60 && (c % 10 == 3 || c % 10 == 8);
}
bool IsZeroDollarCode(std::string_view code) {
  int c = TwoDigits(code);
  return (c >= 20 && c < 50 && (c % 10 == 4 || c % 10 == 9)) || c == 54;
}
bool IsReturnOrNocCode(std::string_view code) {
  int c = TwoDigits(code);
  return c >= 20 && c < 60 && (c % 10 == 1 || c % 10 == 6);
}

const char* ReturnCodeTitle(std::string_view code) { return Lookup(kReturnCodes, code); }
const char* ChangeCodeTitle(std::string_view code) { return Lookup(kChangeCodes, code); }
bool IsDishonoredReturnCode(std::string_view code) {
  return code == "R61" || code == "R62" || code == "R67" || code == "R68" || code == "R69" ||
         code == "R70";
}
bool IsContestedReturnCode(std::string_view code) {
  return code.size() == 3 && code[0] == 'R' && code[1] == '7' && code[2] >= '1' && code[2] <= '7';
}

}  // namespace kontor::payments::ach
