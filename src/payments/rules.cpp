#include "payments/rules.h"

#include <algorithm>
#include <functional>
#include <set>

#include "payments/ach/codes.h"
#include "payments/ach/routing.h"

namespace kontor::payments {
namespace {

using Message = std::optional<std::string>;  // nullopt: the rule holds

// What every check sees: the draft, the context and the inputs several rules
// share, worked out once.
struct Env {
  const PaymentDraft& p;
  const RuleContext& ctx;
  std::optional<Date> effective;  // the parsed effective date, when it parses
  bool sec_ok;                    // an originated code the originator may use
};

struct Rule {
  const char* id;
  const char* field;
  const char* description;
  // Rules whose failure makes this one meaningless (its input is already
  // reported bad). Code-specific rules also need ALL-01 and ALL-02.
  std::vector<std::string_view> needs;
  std::function<Message(const Env&)> check;
};

constexpr const char* kSupported = "PPD, CCD, CTX, WEB, TEL";
constexpr size_t kMaxAddendaRecords = 9999;
constexpr size_t kAddendaChars = 80;  // payment related information of one 05 addenda
constexpr size_t kIsaLength = 106;    // the ISA segment is fixed-length

// Nacha's alphanumeric fields take every character above hex 1F (ASCII); the
// ACH validator (src/payments/ach/validator.cpp) checks printable ASCII
// 0x20-0x7E, and the rules use the same class so a payment that passes them
// produces a file that validates. Lower-case letters are allowed there too.
bool Printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool Blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' '; });
}

std::string Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

bool Given(const std::optional<std::string>& s) { return s.has_value() && !s->empty(); }

bool IsOriginated(std::string_view sec) {
  return std::find(std::begin(kOriginatedSecCodes), std::end(kOriginatedSecCodes), sec) !=
         std::end(kOriginatedSecCodes);
}

bool AllowedByOriginator(const PaymentDraft& p) {
  const auto& a = p.allowed_sec_codes;
  return a.empty() || std::find(a.begin(), a.end(), p.sec_code) != a.end();
}

// "$1,000,000.00": limits read better in dollars than in cents.
std::string Money(int64_t cents) {
  std::string whole = std::to_string(cents / 100);
  for (int i = static_cast<int>(whole.size()) - 3; i > 0; i -= 3) whole.insert(i, ",");
  int64_t rest = cents % 100;
  return "$" + whole + "." + (rest < 10 ? "0" : "") + std::to_string(rest);
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

Message NotPrintable(std::string_view s) {
  if (Printable(s)) return std::nullopt;
  return "must be printable ASCII: letters, digits, space and ! \" # $ % & ' ( ) * + , - . / : ; "
         "< = > ? @ [ \\ ] ^ _ ` { | } ~ (no control characters, line breaks or non-ASCII)";
}

Message TooLong(std::string_view s, size_t max, const char* what) {
  if (s.size() <= max) return std::nullopt;
  return "must be at most " + std::to_string(max) + " characters (" + what + "), not " +
         std::to_string(s.size());
}

// The 05 addenda of PPD, CCD and WEB: one record, 80 characters.
Message OneAddenda(const Env& e) {
  if (!Given(e.p.addenda)) return std::nullopt;
  if (e.p.addenda->size() > kAddendaChars)
    return "must be at most 80 characters (the payment related information of the one 05 "
           "addenda record " +
           e.p.sec_code + " allows), not " + std::to_string(e.p.addenda->size());
  return NotPrintable(*e.p.addenda);
}

Message NoPaymentTypeCode(const Env& e) {
  if (!Given(e.p.payment_type_code)) return std::nullopt;
  return e.p.sec_code +
         " entries have no payment type code (columns 77-78 are discretionary data); "
         "it is for WEB and TEL only";
}

Message PaymentTypeCodeValue(const Env& e) {
  if (!Given(e.p.payment_type_code)) return std::nullopt;
  const std::string& v = *e.p.payment_type_code;
  if (v == "R" || v == "S") return std::nullopt;
  return "must be \"R\" (recurring) or \"S\" (single-entry), not " + Quote(v);
}

Message ConsumerAccount(const Env& e) {
  if (e.p.account_type == "checking" || e.p.account_type == "savings") return std::nullopt;
  return e.p.sec_code + " receivers are consumers: the account is checking or savings (" +
         e.p.account_type + " accounts take CCD or CTX)";
}

Message LoanCreditsOnly(const Env& e) {
  if (e.p.account_type != "loan" || e.p.direction != "debit") return std::nullopt;
  return "a loan account takes credits only: Nacha's loan debit (transaction code 55) is for "
         "reversals";
}

Message ReceiverIs(const Env& e, std::string_view kind, const char* why) {
  if (e.p.receiver_kind == kind) return std::nullopt;
  return "the receiver must be " + std::string(kind == "company" ? "a company" : "an individual") +
         " for " + e.p.sec_code + ": " + why;
}

bool IsHealthCareClaim(const PaymentDraft& p) {
  return Upper(Trim(p.entry_description)) == "HCCLAIMPMT";
}

// Nacha's reserved Company Entry Descriptions, each meaning a kind of entry
// Kontor does not create as an ordinary payment.
constexpr std::pair<std::string_view, const char*> kReserved[] = {
    {"REVERSAL", "reversing entries"},
    {"RECLAIM", "reclamation entries"},
    {"NONSETTLED", "entries reinitiated after a non-settlement"},
    {"RETRY PMT", "entries reinitiated after an R01 or R09 return"},
    {"RETURN FEE", "return fee entries"},
    {"AUTOENROLL", "automated enrollment (ENR) entries"},
    {"REDEPCHECK", "re-presented check (RCK) entries"},
};

const std::vector<Rule>& Table() {
  static const std::vector<Rule> kRules = {
      // sec_code
      {"ALL-01",
       "sec_code",
       "Is one of the SEC codes Kontor originates: PPD, CCD, CTX, WEB or TEL (IAT and the other "
       "Nacha codes are refused).",
       {},
       [](const Env& e) -> Message {
         const std::string& s = e.p.sec_code;
         if (IsOriginated(s)) return std::nullopt;
         if (s.empty()) return std::string("is required; Kontor originates ") + kSupported;
         if (IsOriginated(Upper(s))) return "SEC codes are upper case: " + Quote(Upper(s));
         if (s == "IAT")
           return std::string(
                      "IAT (international) entries are not originated by Kontor; supported: ") +
                  kSupported;
         if (ach::IsKnownSecCode(s))
           return s + " entries are not originated by Kontor; supported: " + kSupported;
         return Quote(s) + " is not a Nacha SEC code; supported: " + kSupported;
       }},
      {"ALL-02",
       "sec_code",
       "Is enabled for the originator (its allowed SEC codes; none listed means all five).",
       {"ALL-01"},
       [](const Env& e) -> Message {
         if (AllowedByOriginator(e.p)) return std::nullopt;
         std::string allowed;
         for (const auto& c : e.p.allowed_sec_codes) allowed += (allowed.empty() ? "" : ", ") + c;
         return "the originator is not enabled for " + e.p.sec_code + "; it may send " + allowed;
       }},

      // direction
      {"ALL-03",
       "direction",
       "Is \"credit\" or \"debit\".",
       {},
       [](const Env& e) -> Message {
         if (e.p.direction == "credit" || e.p.direction == "debit") return std::nullopt;
         return "must be \"credit\" or \"debit\", not " + Quote(e.p.direction);
       }},
      {"TEL-01",
       "direction",
       "Is \"debit\": TEL entries debit a consumer's account on an oral authorization given by "
       "telephone.",
       {"ALL-03"},
       [](const Env& e) -> Message {
         if (e.p.direction == "debit") return std::nullopt;
         return std::string("TEL entries are debits only; send a credit as PPD");
       }},

      // amount_cents
      {"ALL-04",
       "amount_cents",
       "Is greater than zero for a live payment (integer cents).",
       {},
       [](const Env& e) -> Message {
         if (e.p.prenote || e.p.amount_cents > 0) return std::nullopt;
         return "must be greater than zero (in cents); a zero-dollar entry is a prenote";
       }},
      {"ALL-05",
       "amount_cents",
       "Is exactly 0 for a prenote: prenotifications carry no money.",
       {},
       [](const Env& e) -> Message {
         if (!e.p.prenote || e.p.amount_cents == 0) return std::nullopt;
         return std::string("must be 0 for a prenote");
       }},
      {"ALL-06",
       "amount_cents",
       "Is at most the originator's payment maximum (`payment_max_cents`); larger amounts than one "
       "entry holds are split.",
       {"ALL-04", "ALL-05"},
       [](const Env& e) -> Message {
         if (e.p.amount_cents <= e.p.payment_max_cents) return std::nullopt;
         return "must be at most " + Money(e.p.payment_max_cents) +
                " (the originator's payment maximum)";
       }},

      // currency
      {"ALL-07",
       "currency",
       "Is \"USD\": ACH entries settle in US dollars only.",
       {},
       [](const Env& e) -> Message {
         if (e.p.currency == "USD") return std::nullopt;
         return "must be \"USD\" (ACH settles in US dollars only), not " + Quote(e.p.currency);
       }},

      // same_day
      {"ALL-08",
       "same_day",
       "Is only requested when the originator has a same-day window.",
       {},
       [](const Env& e) -> Message {
         if (!e.p.same_day || e.p.same_day_enabled) return std::nullopt;
         return std::string("the originator has no same-day window; send the payment next-day");
       }},
      {"ALL-09",
       "same_day",
       "Is only requested for amounts within the same-day limit (`same_day_limit_cents`; Nacha's "
       "is "
       "$1,000,000 per entry) unless the originator splits same-day payments.",
       {"ALL-04", "ALL-05", "ALL-06", "ALL-08"},
       [](const Env& e) -> Message {
         if (!e.p.same_day || e.p.allow_same_day_split ||
             e.p.amount_cents <= e.p.same_day_limit_cents)
           return std::nullopt;
         return "same-day entries are limited to " + Money(e.p.same_day_limit_cents) +
                " and this originator does not split same-day payments; send it next-day or "
                "lower the amount";
       }},
      {"CTX-01",
       "amount_cents",
       "Fits one entry (`entry_max_cents`, and the same-day limit when same-day): a CTX payment is "
       "never split, because its X12 remittance states one amount.",
       {"ALL-04", "ALL-05", "ALL-06", "ALL-09"},
       [](const Env& e) -> Message {
         int64_t max = e.p.entry_max_cents;
         if (e.p.same_day) max = std::min(max, e.p.same_day_limit_cents);
         if (e.p.amount_cents <= max) return std::nullopt;
         return "must be at most " + Money(max) + (e.p.same_day ? " for same-day" : "") +
                ": a CTX payment is one entry, as its X12 remittance states one amount";
       }},

      // effective_date
      {"ALL-10",
       "effective_date",
       "Is a date as YYYY-MM-DD when given (omitted: the next settlement window).",
       {},
       [](const Env& e) -> Message {
         if (!e.p.effective_date) return std::nullopt;
         auto d = ParseDate(*e.p.effective_date, "effective_date");
         if (d.ok()) return std::nullopt;
         return d.status().fields().front().message;
       }},
      {"ALL-11",
       "effective_date",
       "Is not in the past.",
       {"ALL-10"},
       [](const Env& e) -> Message {
         if (!e.effective || *e.effective >= e.ctx.today) return std::nullopt;
         return "is in the past (today is " + FormatDate(e.ctx.today) + ")";
       }},
      {"ALL-12",
       "effective_date",
       "Is at most `max_days_ahead` days after today (365 unless configured).",
       {"ALL-10"},
       [](const Env& e) -> Message {
         if (!e.effective) return std::nullopt;
         Date last{date::sys_days{e.ctx.today} + date::days{e.ctx.max_days_ahead}};
         if (*e.effective <= last) return std::nullopt;
         return "must be at most " + std::to_string(e.ctx.max_days_ahead) + " days ahead (until " +
                FormatDate(last) + ")";
       }},
      // entry_description
      {"ALL-13",
       "entry_description",
       "Is required: the Company Entry Description the receiver sees on the statement.",
       {},
       [](const Env& e) -> Message {
         if (!Blank(e.p.entry_description)) return std::nullopt;
         return std::string("is required (e.g. PAYROLL, INVOICE)");
       }},
      {"ALL-14",
       "entry_description",
       "Is at most 10 characters.",
       {"ALL-13"},
       [](const Env& e) -> Message {
         return TooLong(e.p.entry_description, 10, "the Company Entry Description field");
       }},
      {"ALL-15",
       "entry_description",
       "Is printable ASCII (Nacha alphanumeric).",
       {"ALL-13"},
       [](const Env& e) -> Message { return NotPrintable(e.p.entry_description); }},
      {"ALL-16",
       "entry_description",
       "Is not a description Nacha reserves for other entries: REVERSAL, RECLAIM, NONSETTLED, "
       "RETRY PMT, RETURN FEE, AUTOENROLL, REDEPCHECK, and HCCLAIMPMT except on CCD.",
       {"ALL-13", "ALL-14", "ALL-15"},
       [](const Env& e) -> Message {
         std::string d = Upper(Trim(e.p.entry_description));
         for (const auto& [word, meaning] : kReserved)
           if (d == word)
             return Quote(word) + " is reserved by Nacha for " + meaning +
                    ", not ordinary payments";
         if (d == "HCCLAIMPMT" && e.sec_ok && e.p.sec_code != "CCD")
           return std::string(
               "\"HCCLAIMPMT\" is reserved for health care claim payments, which are CCD");
         return std::nullopt;
       }},
      {"CCD-01",
       "direction",
       "Is \"credit\" when the entry description is `HCCLAIMPMT`: health care claim payments go "
       "from the health plan to the provider.",
       {"ALL-03", "ALL-16"},
       [](const Env& e) -> Message {
         if (!IsHealthCareClaim(e.p) || e.p.direction == "credit") return std::nullopt;
         return std::string("a HCCLAIMPMT (health care claim) payment is a credit");
       }},

      // addenda
      {"PPD-01",
       "addenda",
       "Is at most 80 printable ASCII characters: the payment related information of the one 05 "
       "addenda record PPD allows.",
       {},
       OneAddenda},
      {"CCD-02",
       "addenda",
       "Is at most 80 printable ASCII characters: the payment related information of the one 05 "
       "addenda record CCD allows (CCD+).",
       {},
       OneAddenda},
      {"WEB-01",
       "addenda",
       "Is at most 80 printable ASCII characters: the payment related information of the one 05 "
       "addenda record WEB allows.",
       {},
       OneAddenda},
      {"TEL-02",
       "addenda",
       "Is absent: TEL entries carry no addenda record.",
       {},
       [](const Env& e) -> Message {
         if (!Given(e.p.addenda)) return std::nullopt;
         return std::string("TEL entries carry no addenda record");
       }},
      {"CTX-02",
       "addenda",
       "Is given for a live CTX payment: carrying ANSI ASC X12 remittance is what CTX is for (a "
       "payment without it is a CCD). Prenotes may omit it.",
       {},
       [](const Env& e) -> Message {
         if (e.p.prenote || Given(e.p.addenda)) return std::nullopt;
         return std::string(
             "is required for CTX: the ANSI ASC X12 remittance (send a CCD when there is none)");
       }},
      {"CTX-03",
       "addenda",
       "Is at most 799,920 printable ASCII characters: 9,999 addenda records of 80 (no line "
       "breaks; segments end with their terminator).",
       {},
       [](const Env& e) -> Message {
         if (!Given(e.p.addenda)) return std::nullopt;
         if (auto m = TooLong(*e.p.addenda, kMaxAddendaRecords * kAddendaChars,
                              "9,999 addenda records of 80");
             m)
           return m;
         return NotPrintable(*e.p.addenda);
       }},
      {"CTX-04",
       "addenda",
       "Starts with an ANSI ASC X12 segment: an `ISA` interchange header (106 characters) or an "
       "`ST*` transaction set header.",
       {"CTX-03"},
       [](const Env& e) -> Message {
         if (!Given(e.p.addenda)) return std::nullopt;
         std::string_view a = *e.p.addenda;
         if (a.starts_with("ISA")) {
           if (a.size() >= kIsaLength) return std::nullopt;
           return std::string("starts an ISA segment but is shorter than its 106 characters");
         }
         if (a.starts_with("ST*")) return std::nullopt;
         return std::string(
             "must be ANSI ASC X12 starting with an ISA or ST* segment (e.g. ST*820*0001~)");
       }},
      {"CTX-05",
       "addenda",
       "Ends with the X12 segment terminator: the `ISA` segment's 106th character, else `~` or "
       "`\\`.",
       {"CTX-03", "CTX-04"},
       [](const Env& e) -> Message {
         if (!Given(e.p.addenda)) return std::nullopt;
         std::string_view a = *e.p.addenda;
         if (a.starts_with("ISA")) {
           char t = a[kIsaLength - 1];
           if (a.back() == t) return std::nullopt;
           return "must end with the segment terminator the ISA segment declares (" +
                  std::string(1, t) + ")";
         }
         if (a.back() == '~' || a.back() == '\\') return std::nullopt;
         return std::string("must end with an X12 segment terminator (~ or \\)");
       }},
      {"CCD-03",
       "addenda",
       "Starts with the X12 835 reassociation segment `TRN*1*` when the entry description is "
       "`HCCLAIMPMT` (the Health Care EFT Standard's CCD+).",
       {"CCD-02", "ALL-16"},
       [](const Env& e) -> Message {
         if (!IsHealthCareClaim(e.p)) return std::nullopt;
         if (Given(e.p.addenda) && e.p.addenda->starts_with("TRN*1*")) return std::nullopt;
         return std::string(
             "a HCCLAIMPMT payment carries the X12 835 TRN reassociation segment, e.g. "
             "TRN*1*12345*1512345678\\");
       }},

      // payment_type_code
      {"PPD-02",
       "payment_type_code",
       "Is absent: PPD entries have no payment type code (columns 77-78 are discretionary data).",
       {},
       NoPaymentTypeCode},
      {"CCD-04",
       "payment_type_code",
       "Is absent: CCD entries have no payment type code (columns 77-78 are discretionary data).",
       {},
       NoPaymentTypeCode},
      {"CTX-06",
       "payment_type_code",
       "Is absent: CTX entries have no payment type code (columns 77-78 are discretionary data).",
       {},
       NoPaymentTypeCode},
      {"WEB-02",
       "payment_type_code",
       "Is given for a WEB debit: \"R\" for a recurring authorization, \"S\" for a single entry.",
       {"ALL-03"},
       [](const Env& e) -> Message {
         if (e.p.direction != "debit" || Given(e.p.payment_type_code)) return std::nullopt;
         return std::string("is required for a WEB debit: \"R\" (recurring) or \"S\" (single)");
       }},
      {"WEB-03", "payment_type_code", "Is \"R\" or \"S\" when given.", {}, PaymentTypeCodeValue},
      {"TEL-03",
       "payment_type_code",
       "Is given: \"R\" for a recurring authorization, \"S\" for a single entry.",
       {},
       [](const Env& e) -> Message {
         if (Given(e.p.payment_type_code)) return std::nullopt;
         return std::string("is required for TEL: \"R\" (recurring) or \"S\" (single)");
       }},
      {"TEL-04", "payment_type_code", "Is \"R\" or \"S\".", {"TEL-03"}, PaymentTypeCodeValue},

      // counterparty.name
      {"ALL-17",
       "counterparty.name",
       "Is required.",
       {},
       [](const Env& e) -> Message {
         if (!Blank(e.p.receiver_name)) return std::nullopt;
         return std::string("is required");
       }},
      {"PPD-03",
       "counterparty.name",
       "Is at most 22 characters (the Individual Name field).",
       {"ALL-17"},
       [](const Env& e) -> Message {
         return TooLong(e.p.receiver_name, 22, "the Individual Name field");
       }},
      {"CCD-05",
       "counterparty.name",
       "Is at most 22 characters (the Receiving Company Name field).",
       {"ALL-17"},
       [](const Env& e) -> Message {
         return TooLong(e.p.receiver_name, 22, "the Receiving Company Name field");
       }},
      {"CTX-07",
       "counterparty.name",
       "Is at most 16 characters: a CTX entry gives four of the name's columns to the number of "
       "addenda records and two to a reserved field.",
       {"ALL-17"},
       [](const Env& e) -> Message {
         return TooLong(e.p.receiver_name, 16, "the CTX Receiving Company Name field");
       }},
      {"WEB-04",
       "counterparty.name",
       "Is at most 22 characters (the Individual Name field).",
       {"ALL-17"},
       [](const Env& e) -> Message {
         return TooLong(e.p.receiver_name, 22, "the Individual Name field");
       }},
      {"TEL-05",
       "counterparty.name",
       "Is at most 22 characters (the Individual Name field).",
       {"ALL-17"},
       [](const Env& e) -> Message {
         return TooLong(e.p.receiver_name, 22, "the Individual Name field");
       }},
      {"ALL-18",
       "counterparty.name",
       "Is printable ASCII (Nacha alphanumeric).",
       {"ALL-17"},
       [](const Env& e) -> Message { return NotPrintable(e.p.receiver_name); }},

      // counterparty.receiver_id
      {"ALL-19",
       "counterparty.receiver_id",
       "Is at most 15 characters (the Individual Identification Number / Identification Number "
       "field); optional.",
       {},
       [](const Env& e) -> Message {
         return TooLong(e.p.receiver_id, 15, "the Identification Number field");
       }},
      {"ALL-20",
       "counterparty.receiver_id",
       "Is printable ASCII (Nacha alphanumeric).",
       {},
       [](const Env& e) -> Message { return NotPrintable(e.p.receiver_id); }},

      // counterparty.routing_number
      {"ALL-21",
       "counterparty.routing_number",
       "Is 9 digits.",
       {},
       [](const Env& e) -> Message {
         const std::string& r = e.p.routing_number;
         if (r.size() == 9 &&
             std::all_of(r.begin(), r.end(), [](char c) { return c >= '0' && c <= '9'; }))
           return std::nullopt;
         return std::string("must be 9 digits (the ABA routing number of the receiver's bank)");
       }},
      {"ALL-22",
       "counterparty.routing_number",
       "Has a valid ABA check digit (weights 3, 7, 1 over the first eight digits).",
       {"ALL-21"},
       [](const Env& e) -> Message {
         const std::string& r = e.p.routing_number;
         if (ach::ValidRoutingNumber(r)) return std::nullopt;
         return "has a wrong check digit: the ninth digit must be " +
                std::to_string(ach::RoutingCheckDigit(std::string_view(r).substr(0, 8))) +
                "; check the number for a typo";
       }},
      {"ALL-23",
       "counterparty.routing_number",
       "Starts with a Federal Reserve routing symbol an ACH receiver can have: 01-12, 21-32 or "
       "61-72 (so never all zeros; 00 is the U.S. Government, 80 traveler's checks).",
       {"ALL-21", "ALL-22"},
       [](const Env& e) -> Message {
         int prefix = (e.p.routing_number[0] - '0') * 10 + (e.p.routing_number[1] - '0');
         if ((prefix >= 1 && prefix <= 12) || (prefix >= 21 && prefix <= 32) ||
             (prefix >= 61 && prefix <= 72))
           return std::nullopt;
         return "starts with " + e.p.routing_number.substr(0, 2) +
                ", which is not the routing symbol of a bank that receives ACH (01-12, 21-32, "
                "61-72)";
       }},

      // counterparty.account_number
      {"ALL-24",
       "counterparty.account_number",
       "Is 1 to 17 characters (the DFI Account Number field).",
       {},
       [](const Env& e) -> Message {
         if (e.p.account_number.empty()) return std::string("is required");
         return TooLong(e.p.account_number, 17, "the DFI Account Number field");
       }},
      {"ALL-25",
       "counterparty.account_number",
       "Holds only digits, letters, hyphens and inner spaces, as the RDFI shows it (the field is "
       "left-justified and space-filled, so outer spaces would be lost).",
       {},
       [](const Env& e) -> Message {
         const std::string& a = e.p.account_number;
         bool chars = std::all_of(a.begin(), a.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  c == '-' || c == ' ';
         });
         if (!chars) return std::string("may hold only digits, letters, hyphens and spaces");
         if (!a.empty() && (a.front() == ' ' || a.back() == ' '))
           return std::string("must not start or end with a space");
         return std::nullopt;
       }},
      {"ALL-26",
       "counterparty.account_number",
       "Is not all zeros (ignoring hyphens and spaces).",
       {"ALL-24", "ALL-25"},
       [](const Env& e) -> Message {
         const std::string& a = e.p.account_number;
         if (std::any_of(a.begin(), a.end(),
                         [](char c) { return c != '0' && c != '-' && c != ' '; }))
           return std::nullopt;
         return std::string("must not be all zeros");
       }},

      // counterparty.account_type
      {"ALL-27",
       "counterparty.account_type",
       "Is `checking`, `savings`, `general_ledger` or `loan`.",
       {},
       [](const Env& e) -> Message {
         const std::string& t = e.p.account_type;
         if (t == "checking" || t == "savings" || t == "general_ledger" || t == "loan")
           return std::nullopt;
         return "must be \"checking\", \"savings\", \"general_ledger\" or \"loan\", not " +
                Quote(t);
       }},
      {"PPD-04",
       "counterparty.account_type",
       "Is checking or savings: PPD receivers are consumers (general ledger and loan accounts "
       "take CCD or CTX).",
       {"ALL-27"},
       ConsumerAccount},
      {"WEB-05",
       "counterparty.account_type",
       "Is checking or savings: WEB receivers are consumers (general ledger and loan accounts "
       "take CCD or CTX).",
       {"ALL-27"},
       ConsumerAccount},
      {"TEL-06",
       "counterparty.account_type",
       "Is checking or savings: TEL receivers are consumers (general ledger and loan accounts "
       "take CCD or CTX).",
       {"ALL-27"},
       ConsumerAccount},
      {"CCD-06",
       "counterparty.account_type",
       "A loan account takes credits only: Nacha's loan debit (transaction code 55) is for "
       "reversals.",
       {"ALL-03", "ALL-27"},
       LoanCreditsOnly},
      {"CTX-08",
       "counterparty.account_type",
       "A loan account takes credits only: Nacha's loan debit (transaction code 55) is for "
       "reversals.",
       {"ALL-03", "ALL-27"},
       LoanCreditsOnly},

      // counterparty
      {"ALL-28",
       "counterparty",
       "The receiver is an \"individual\" or a \"company\".",
       {},
       [](const Env& e) -> Message {
         if (e.p.receiver_kind == "individual" || e.p.receiver_kind == "company")
           return std::nullopt;
         return "the receiver kind must be \"individual\" or \"company\", not " +
                Quote(e.p.receiver_kind);
       }},
      {"PPD-05",
       "counterparty",
       "The receiver is an individual: PPD is for consumer accounts (companies take CCD).",
       {"ALL-28"},
       [](const Env& e) { return ReceiverIs(e, "individual", "send to a company as CCD"); }},
      {"CCD-07",
       "counterparty",
       "The receiver is a company: CCD is for business accounts (consumers take PPD).",
       {"ALL-28"},
       [](const Env& e) { return ReceiverIs(e, "company", "send to a consumer as PPD"); }},
      {"CTX-09",
       "counterparty",
       "The receiver is a company: CTX is for business accounts.",
       {"ALL-28"},
       [](const Env& e) { return ReceiverIs(e, "company", "send to a consumer as PPD"); }},
      {"WEB-06",
       "counterparty",
       "The receiver is an individual: WEB debits carry a consumer's internet authorization and "
       "WEB credits are person-to-person.",
       {"ALL-28"},
       [](const Env& e) {
         return ReceiverIs(e, "individual", "WEB entries go to consumer accounts");
       }},
      {"TEL-07",
       "counterparty",
       "The receiver is an individual: TEL debits a consumer's account on an oral authorization.",
       {"ALL-28"},
       [](const Env& e) {
         return ReceiverIs(e, "individual", "TEL entries go to consumer accounts");
       }},
      {"ALL-29",
       "counterparty",
       "The counterparty is active.",
       {},
       [](const Env& e) -> Message {
         if (e.p.counterparty_active) return std::nullopt;
         return std::string("the counterparty is inactive");
       }},
      {"ALL-30",
       "counterparty",
       "A live payment's counterparty has no failed prenote (its account details need fixing "
       "first); a pending or sent prenote holds the payment instead, which is not a violation.",
       {},
       [](const Env& e) -> Message {
         if (e.p.prenote || e.p.prenote_status != "failed") return std::nullopt;
         return std::string(
             "the counterparty's prenote failed; correct its account details and prenote again");
       }},

      // originator
      {"ALL-31",
       "originator",
       "The originator is active.",
       {},
       [](const Env& e) -> Message {
         if (e.p.originator_active) return std::nullopt;
         return std::string("the originator is inactive");
       }},
      {"ALL-32",
       "originator",
       "The originator's company name is 1 to 16 characters (the batch header's Company Name).",
       {},
       [](const Env& e) -> Message {
         if (Blank(e.p.company_name)) return std::string("the originator's company name is empty");
         if (e.p.company_name.size() <= 16) return std::nullopt;
         return "the originator's company name must be at most 16 characters, not " +
                std::to_string(e.p.company_name.size());
       }},
      {"ALL-33",
       "originator",
       "The originator's company name is printable ASCII.",
       {},
       [](const Env& e) -> Message {
         if (Printable(e.p.company_name)) return std::nullopt;
         return std::string("the originator's company name has characters outside printable ASCII");
       }},
      {"ALL-34",
       "originator",
       "The originator's company identification is exactly 10 characters (often 1 and the EIN).",
       {},
       [](const Env& e) -> Message {
         if (e.p.company_id.size() == 10) return std::nullopt;
         return "the originator's company identification must be 10 characters, not " +
                std::to_string(e.p.company_id.size());
       }},
      {"ALL-35",
       "originator",
       "The originator's company identification is printable ASCII.",
       {},
       [](const Env& e) -> Message {
         if (Printable(e.p.company_id)) return std::nullopt;
         return std::string(
             "the originator's company identification has characters outside printable ASCII");
       }},

      // idempotency_key
      {"ALL-36",
       "idempotency_key",
       "Is 1 to 255 characters.",
       {},
       [](const Env& e) -> Message {
         if (Blank(e.p.idempotency_key)) return std::string("is required");
         if (e.p.idempotency_key.size() <= 255) return std::nullopt;
         return "must be at most 255 characters, not " + std::to_string(e.p.idempotency_key.size());
       }},
      {"ALL-37",
       "idempotency_key",
       "Is printable ASCII.",
       {},
       [](const Env& e) -> Message {
         if (Printable(e.p.idempotency_key)) return std::nullopt;
         return std::string("must be printable ASCII");
       }},
  };
  return kRules;
}

bool IsCommon(const Rule& r) { return std::string_view(r.id).starts_with("ALL-"); }
std::string_view CodeOf(const Rule& r) { return std::string_view(r.id).substr(0, 3); }

}  // namespace

std::vector<Violation> CheckPayment(const PaymentDraft& p, const RuleContext& ctx) {
  std::optional<Date> effective;
  if (p.effective_date) {
    auto d = ParseDate(*p.effective_date, "effective_date");
    if (d.ok()) effective = *d;
  }
  Env env{p, ctx, effective, IsOriginated(p.sec_code) && AllowedByOriginator(p)};

  std::vector<Violation> out;
  // Rules that failed or were skipped: anything that needs them is skipped too.
  std::set<std::string_view> not_passed;
  for (const Rule& r : Table()) {
    if (!IsCommon(r)) {
      if (CodeOf(r) != p.sec_code) continue;
      // SEC-specific rules only make sense for a code the payment may use.
      if (not_passed.contains("ALL-01") || not_passed.contains("ALL-02")) continue;
    }
    bool skip = std::any_of(r.needs.begin(), r.needs.end(),
                            [&](std::string_view n) { return not_passed.contains(n); });
    if (skip) {
      not_passed.insert(r.id);
      continue;
    }
    if (Message m = r.check(env)) {
      out.push_back({r.id, r.field, std::move(*m)});
      not_passed.insert(r.id);
    }
  }
  return out;
}

const std::vector<RuleInfo>& PaymentRules() {
  static const std::vector<RuleInfo> kInfos = [] {
    std::vector<RuleInfo> infos;
    for (const Rule& r : Table()) {
      RuleInfo info{r.id, {}, r.field, r.description};
      if (IsCommon(r)) {
        for (std::string_view c : kOriginatedSecCodes) info.sec_codes.emplace_back(c);
      } else {
        info.sec_codes.emplace_back(CodeOf(r));
      }
      infos.push_back(std::move(info));
    }
    return infos;
  }();
  return kInfos;
}

size_t RuleCount(std::string_view sec) {
  const auto& rules = PaymentRules();
  return static_cast<size_t>(std::count_if(rules.begin(), rules.end(), [&](const RuleInfo& r) {
    return std::find(r.sec_codes.begin(), r.sec_codes.end(), sec) != r.sec_codes.end();
  }));
}

}  // namespace kontor::payments
