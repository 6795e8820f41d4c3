#include "payments/ach/validator.h"

#include <array>
#include <cstring>

#include "payments/ach/codes.h"
#include "payments/ach/routing.h"

namespace kontor::payments::ach {
namespace {

// Character classes, one table lookup per byte on the hot path.
constexpr uint8_t kDigit = 1, kPrintable = 2, kSpace = 4;
constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0x20; c <= 0x7e; ++c) t[c] |= kPrintable;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kDigit;
  t[' '] |= kSpace;
  return t;
}
constexpr auto kClass = MakeClasses();

bool AllOf(std::string_view s, uint8_t cls) {
  uint8_t acc = cls;
  for (char c : s) acc &= kClass[static_cast<unsigned char>(c)];
  return acc == cls;
}
bool IsDigits(std::string_view s) { return AllOf(s, kDigit); }
bool IsBlank(std::string_view s) { return AllOf(s, kSpace); }

// Fixed-width unsigned parse; the caller has checked the digits.
uint64_t Num(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<unsigned>(static_cast<unsigned char>(c) - '0');
  return v;
}
// Parse when all digits, else -1.
int64_t NumOr(std::string_view s) {
  if (s.empty() || s.size() > 18 || !IsDigits(s)) return -1;
  return static_cast<int64_t>(Num(s));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool ValidDate(std::string_view yymmdd) {
  if (yymmdd.size() != 6 || !IsDigits(yymmdd)) return false;
  int y = static_cast<int>(Num(yymmdd.substr(0, 2))) + 2000;
  int m = static_cast<int>(Num(yymmdd.substr(2, 2)));
  int d = static_cast<int>(Num(yymmdd.substr(4, 2)));
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

std::string Str(std::string_view s) { return std::string(s); }

bool SecAllows05(std::string_view sec) {
  for (auto s : {"ACK", "ATX", "CCD", "CIE", "CTX", "DNE", "ENR", "PPD", "TRX", "WEB"})
    if (sec == s) return true;
  return false;
}
bool SecMany05(std::string_view sec) {
  return sec == "CTX" || sec == "ATX" || sec == "ENR" || sec == "TRX";
}
bool SecAllows02(std::string_view sec) { return sec == "MTE" || sec == "POS" || sec == "SHR"; }

constexpr uint64_t kHashModulus = 10000000000ULL;

}  // namespace

std::string Error::Message() const {
  std::string m = record;
  m += ": ";
  m += kind;
  if (!detail.empty()) {
    m += " (";
    m += detail;
    m += ")";
  }
  return m;
}

struct Scanner::State {
  Handler& h;
  int64_t line_no = 0;
  int64_t errors = 0;
  int64_t entries = 0;

  enum class Phase { kStart, kFile, kBatch, kAfterControl } phase = Phase::kStart;
  bool header_seen = false;
  bool adv_file = false;

  // File totals.
  int64_t batch_count = 0, file_records = 0;
  uint64_t file_count = 0, file_hash = 0, file_debit = 0, file_credit = 0;
  bool control_seen = false;
  std::array<char, kRecordLength> control{};
  int64_t control_line = 0;
  int64_t total_lines = 0, last_line = 0;

  // Current batch.
  char sec[4] = {};
  std::string_view Sec() const { return std::string_view(sec, 3); }
  char service[4] = {};
  char odfi[9] = {};
  char batch_number[8] = {};
  char company_id[11] = {};
  size_t company_id_len = 0;
  bool batch_iat = false, batch_adv = false;
  // Fields of the batch's entry layout, looked up once per batch.
  const Layout* entry_l = nullptr;
  const Field* amount_f = nullptr;
  const Field* account_f = nullptr;
  const Field* naddenda_f = nullptr;
  uint64_t batch_count_records = 0, batch_hash = 0, batch_debit = 0, batch_credit = 0;
  int64_t batch_entries = 0;
  uint64_t last_trace = 0;
  bool have_trace = false;

  // Current entry.
  bool in_entry = false;
  int64_t entry_line = 0;
  const Layout* entry_layout = nullptr;
  char trace[16] = {};
  char indicator = '0';
  int64_t declared_addenda = -1;  // CTX/ATX/IAT number-of-addenda field
  int addenda = 0, n02 = 0, n05 = 0, n98 = 0, n99 = 0, n17 = 0, n18 = 0;
  int iat_next = 10;  // next mandatory IAT addenda type
  bool iat_order_ok = true;
  int64_t last_seq = 0;
  int last_seq_type = 0;

  explicit State(Handler& handler) : h(handler) {}

  void Err(char type, const Layout* layout, const Field* f, const char* kind,
           std::string detail = {}) {
    ++errors;
    Error e;
    e.line = line_no;
    e.record_type = type;
    e.record = layout ? layout->name : (type == '9' ? "file control" : "record");
    if (f) {
      e.field = f->name;
      e.start = f->start;
      e.end = f->end();
    }
    e.kind = kind;
    e.detail = std::move(detail);
    h.OnError(e);
  }
  void ErrAt(int64_t line, char type, const Layout* layout, const Field* f, const char* kind,
             std::string detail = {}) {
    int64_t saved = line_no;
    line_no = line;
    Err(type, layout, f, kind, std::move(detail));
    line_no = saved;
  }
  void ErrField(const Layout& l, const char* name, const char* kind, std::string detail = {}) {
    Err(l.type, &l, l.Find(name), kind, std::move(detail));
  }

  // Format checks every table-driven field gets.
  void CheckFields(const Layout& l, std::string_view r) {
    for (const Field& f : l.fields) {
      std::string_view v = r.substr(f.start - 1, f.length);
      switch (f.kind) {
        case FieldKind::kNumeric:
        case FieldKind::kAmount:
          if (!IsDigits(v)) Err(l.type, &l, &f, "field must be numeric", "\"" + Str(v) + "\"");
          break;
        case FieldKind::kNumericBlank:
          if (!IsDigits(v) && !IsBlank(v))
            Err(l.type, &l, &f, "field must be numeric or blank", "\"" + Str(v) + "\"");
          break;
        case FieldKind::kAlpha:
          if (!AllOf(v, kPrintable))
            Err(l.type, &l, &f, "field has characters outside printable ASCII");
          break;
        case FieldKind::kConst:
          break;
      }
    }
  }

  void Line(std::string_view raw) {
    ++line_no;
    ++total_lines;
    last_line = line_no;
    char buf[kRecordLength];
    std::string_view r = raw;
    char type = raw.empty() ? 0 : raw[0];
    if (raw.size() != kRecordLength) {
      Err(type >= '1' && type <= '9' ? type : 0, nullptr, nullptr, "a record is not 94 characters",
          "length " + std::to_string(raw.size()));
      // Go on with the record padded or cut to 94 so the file's structure is still followed.
      size_t n = std::min<size_t>(raw.size(), kRecordLength);
      std::memcpy(buf, raw.data(), n);
      std::memset(buf + n, ' ', kRecordLength - n);
      r = std::string_view(buf, kRecordLength);
      if (raw.empty()) {
        h.OnRecord({nullptr, raw, line_no, false});
        return;
      }
    }
    if (phase == Phase::kAfterControl) {
      bool nines = r.find_first_not_of('9') == std::string_view::npos;
      if (!nines)
        Err(type, nullptr, nullptr, "only all-9 padding records may follow the file control");
      h.OnRecord({nullptr, raw, line_no, nines});
      return;
    }
    switch (type) {
      case '1':
        FileHeader(r, raw);
        break;
      case '5':
        BatchHeader(r, raw);
        break;
      case '6':
        Entry(r, raw);
        break;
      case '7':
        Addenda(r, raw);
        break;
      case '8':
        BatchControl(r, raw);
        break;
      case '9':
        FileControl(r, raw);
        break;
      default:
        Err(0, nullptr, nullptr, "unknown record type code", "\"" + Str(raw.substr(0, 1)) + "\"");
        h.OnRecord({nullptr, raw, line_no, false});
    }
  }

  void RequireHeader() {
    if (!header_seen && phase == Phase::kStart) {
      ErrAt(line_no, '1', &LayoutOf(RecordKind::kFileHeader), nullptr,
            "file header record (type 1) is missing");
      phase = Phase::kFile;
      header_seen = true;
    }
  }

  void FileHeader(std::string_view r, std::string_view raw) {
    const Layout& l = LayoutOf(RecordKind::kFileHeader);
    if (phase != Phase::kStart) Err('1', &l, nullptr, "a file has exactly one file header, first");
    CheckFields(l, r);
    std::string_view dest = r.substr(3, 10);
    std::string_view d = Trim(dest);
    if (!IsDigits(d) || (d.size() != 9 && d.size() != 10))
      ErrField(l, "immediateDestination", "must be a 9-digit routing number", Str(dest));
    else if (!ValidRoutingNumber(d.substr(d.size() - 9)))
      ErrField(l, "immediateDestination", "routing number check digit is wrong", Str(d));
    if (IsBlank(r.substr(13, 10))) ErrField(l, "immediateOrigin", "field is required");
    if (!ValidDate(r.substr(23, 6)))
      ErrField(l, "fileCreationDate", "must be a date YYMMDD", Str(r.substr(23, 6)));
    std::string_view t = r.substr(29, 4);
    if (!IsBlank(t) && (!IsDigits(t) || Num(t.substr(0, 2)) > 23 || Num(t.substr(2, 2)) > 59))
      ErrField(l, "fileCreationTime", "must be a time HHMM", Str(t));
    char mod = r[33];
    if (!((mod >= 'A' && mod <= 'Z') || (mod >= '0' && mod <= '9')))
      ErrField(l, "fileIdModifier", "must be A-Z or 0-9", Str(r.substr(33, 1)));
    if (r.substr(34, 3) != "094") ErrField(l, "recordSize", "must be 094", Str(r.substr(34, 3)));
    if (r.substr(37, 2) != "10") ErrField(l, "blockingFactor", "must be 10", Str(r.substr(37, 2)));
    if (r[39] != '1') ErrField(l, "formatCode", "must be 1", Str(r.substr(39, 1)));
    if (phase == Phase::kStart) phase = Phase::kFile;
    header_seen = true;
    ++file_records;
    h.OnRecord({&l, raw, line_no, false});
  }

  void BatchHeader(std::string_view r, std::string_view raw) {
    RequireHeader();
    std::string_view sec_code = r.substr(50, 3);
    const Layout& l = BatchHeaderLayout(sec_code);
    if (phase == Phase::kBatch) {
      EndEntry();
      Err('5', &l, nullptr, "batch control record (type 8) is missing before this batch header");
      CloseBatch();
    }
    CheckFields(l, r);
    std::memcpy(sec, sec_code.data(), 3);
    std::memcpy(service, r.data() + 1, 3);
    std::memcpy(odfi, r.data() + 79, 8);
    std::memcpy(batch_number, r.data() + 87, 7);
    std::string_view cid = Trim(r.substr(40, 10));
    company_id_len = cid.size();
    std::memcpy(company_id, cid.data(), cid.size());
    batch_iat = sec_code == "IAT";
    batch_adv = sec_code == "ADV";
    entry_l = &EntryLayout(sec_code);
    amount_f = entry_l->Find("amount");
    account_f = entry_l->Find(batch_iat ? "foreignReceiverAccountNumber" : "dfiAccountNumber");
    naddenda_f = entry_l->Find("numberOfAddendaRecords");
    if (batch_count == 0 && !control_seen) adv_file = batch_adv;
    std::string_view sc = r.substr(1, 3);
    bool sc_ok = sc == "200" || sc == "220" || sc == "225" || sc == "280";
    if (!sc_ok) ErrField(l, "serviceClassCode", "invalid service class code", Str(sc));
    if (!IsKnownSecCode(sec_code))
      ErrField(l, "standardEntryClassCode", "unknown SEC code", Str(sec_code));
    else if (sc_ok && (sc == "280") != batch_adv)
      ErrField(l, "serviceClassCode", "service class 280 is for ADV batches only", Str(sc));
    if (batch_iat) {
      std::string_view fx = r.substr(20, 2);
      if (fx != "FF" && fx != "FV" && fx != "VF")
        ErrField(l, "foreignExchangeIndicator", "must be FF, FV or VF", Str(fx));
      char fr = r[22];
      if (fr != '1' && fr != '2' && fr != '3')
        ErrField(l, "foreignExchangeReferenceIndicator", "must be 1, 2 or 3", Str(r.substr(22, 1)));
    } else {
      if (IsBlank(r.substr(4, 16))) ErrField(l, "companyName", "field is required");
      if (IsBlank(r.substr(40, 10))) ErrField(l, "companyIdentification", "field is required");
    }
    if (IsBlank(r.substr(53, 10))) ErrField(l, "companyEntryDescription", "field is required");
    std::string_view eff = r.substr(69, 6);
    if (!IsBlank(eff) && !ValidDate(eff))
      ErrField(l, "effectiveEntryDate", "must be a date YYMMDD", Str(eff));
    char os = r[78];
    if (os != '0' && os != '1' && os != '2')
      ErrField(l, "originatorStatusCode", "must be 0, 1 or 2", Str(r.substr(78, 1)));
    phase = Phase::kBatch;
    batch_count_records = batch_hash = batch_debit = batch_credit = 0;
    batch_entries = 0;
    have_trace = false;
    in_entry = false;
    ++file_records;
    h.OnRecord({&l, raw, line_no, false});
  }

  void Entry(std::string_view r, std::string_view raw) {
    RequireHeader();
    if (phase != Phase::kBatch) {
      Err('6', &LayoutOf(RecordKind::kEntry), nullptr, "entry detail record outside a batch");
      h.OnRecord({nullptr, raw, line_no, false});
      return;
    }
    EndEntry();
    const Layout& l = *entry_l;
    CheckFields(l, r);
    ++entries;
    ++batch_entries;
    ++batch_count_records;
    std::string_view tx = r.substr(1, 2);
    TxClass cls = ClassifyTransactionCode(tx);
    if (cls == TxClass::kInvalid) {
      ErrField(l, "transactionCode", "invalid transaction code", Str(tx));
    } else {
      bool adv_code = cls == TxClass::kAdvCredit || cls == TxClass::kAdvDebit;
      bool credit = cls == TxClass::kCredit || cls == TxClass::kAdvCredit;
      std::string_view sc(service, 3);
      // IAT batches are exempt, as in moov-io/ach: gateways mix directions.
      if (batch_iat) {
      } else if (adv_code != batch_adv)
        ErrField(l, "transactionCode", "transaction code does not match the service class code",
                 Str(tx) + " in a " + Str(sc) + " batch");
      else if ((sc == "220" && !credit) || (sc == "225" && credit))
        ErrField(l, "transactionCode", "transaction code does not match the service class code",
                 Str(tx) + " in a " + Str(sc) + " batch");
    }
    std::string_view rdfi = r.substr(3, 8);
    int check = RoutingCheckDigit(rdfi);
    if (check >= 0) {
      batch_hash += Num(rdfi);
      if (r[11] != '0' + check)
        ErrField(l, "checkDigit", "RDFI check digit does not match the routing number",
                 "is " + Str(r.substr(11, 1)) + ", computed " + std::to_string(check));
    }
    std::string_view amount = amount_f->In(r);
    uint64_t cents = IsDigits(amount) ? Num(amount) : 0;
    if (cls == TxClass::kCredit || cls == TxClass::kAdvCredit) batch_credit += cents;
    if (cls == TxClass::kDebit || cls == TxClass::kAdvDebit) batch_debit += cents;
    if (cents != 0 && (IsPrenoteCode(tx) || IsZeroDollarCode(tx)))
      ErrField(l, "amount", "prenotification and zero-dollar entries must have a zero amount",
               Str(amount));
    if (Sec() == "COR") {
      if (!IsReturnOrNocCode(tx))
        ErrField(l, "transactionCode",
                 "a COR entry must use an automated return/NOC transaction code", Str(tx));
      if (cents != 0) ErrField(l, "amount", "a COR entry must have a zero amount", Str(amount));
    }
    if (IsBlank(account_f->In(r))) Err('6', &l, account_f, "field is required");
    indicator = r[78];
    if (indicator != '0' && indicator != '1')
      ErrField(l, "addendaRecordIndicator", "must be 0 or 1", Str(r.substr(78, 1)));
    if (!batch_adv) {
      std::string_view tr = r.substr(79, 15);
      if (IsDigits(tr)) {
        if (tr.substr(0, 8) != std::string_view(odfi, 8))
          ErrField(l, "traceNumber", "trace number does not start with the ODFI identification",
                   Str(tr) + " vs " + std::string(odfi, 8));
        uint64_t t = Num(tr);
        if (have_trace && t <= last_trace)
          ErrField(l, "traceNumber", "trace numbers are not ascending within the batch", Str(tr));
        last_trace = t;
        have_trace = true;
      }
      std::memcpy(trace, tr.data(), 15);
    } else {
      std::memset(trace, '0', 15);
    }
    declared_addenda = -1;
    if (naddenda_f) declared_addenda = NumOr(naddenda_f->In(r));
    in_entry = true;
    entry_line = line_no;
    entry_layout = &l;
    addenda = n02 = n05 = n98 = n99 = n17 = n18 = 0;
    iat_next = 10;
    iat_order_ok = true;
    last_seq = 0;
    last_seq_type = 0;
    ++file_records;
    h.OnRecord({&l, raw, line_no, false});
  }

  void Addenda(std::string_view r, std::string_view raw) {
    RequireHeader();
    std::string_view type_code = r.substr(1, 2);
    const Layout* l = AddendaLayout(type_code, r);
    if (!in_entry) {
      Err('7', l, nullptr, "addenda record without an entry detail before it");
      h.OnRecord({l, raw, line_no, false});
      return;
    }
    ++batch_count_records;
    ++addenda;
    if (!l) {
      Err('7', nullptr, nullptr, "invalid addenda type code", Str(type_code));
      h.OnRecord({nullptr, raw, line_no, false});
      return;
    }
    CheckFields(*l, r);
    std::string_view sec_code = Sec();
    bool allowed = false;
    int tc = static_cast<int>(Num(type_code));
    switch (tc) {
      case 2:
        allowed = SecAllows02(sec_code);
        ++n02;
        break;
      case 5:
        allowed = SecAllows05(sec_code);
        ++n05;
        break;
      case 98:
        allowed = sec_code == "COR";
        ++n98;
        break;
      case 99:
        allowed = sec_code != "COR" && sec_code != "ADV";
        ++n99;
        break;
      default:
        allowed = batch_iat;
        break;  // 10-18
    }
    if (!allowed)
      Err('7', l, l->Find("addendaTypeCode"), "addenda type not allowed for this SEC code",
          "addenda " + Str(type_code) + " in a " + Str(sec_code) + " batch");
    std::string_view entry_seq(trace + 8, 7);
    if (const Field* f = l->Find("entryDetailSequenceNumber")) {
      if (f->In(r) != entry_seq)
        Err('7', l, f, "entry detail sequence number does not match the entry's trace number",
            Str(f->In(r)) + " vs " + Str(entry_seq));
    }
    if (const Field* f = l->Find("addendaSequenceNumber")) {
      int64_t seq = NumOr(f->In(r));
      // 05, 17 and 18 each count from 1.
      if (tc != last_seq_type) last_seq = 0;
      last_seq_type = tc;
      if (seq >= 0 && seq != last_seq + 1)
        Err('7', l, f, "addenda sequence numbers must count up from 1", Str(f->In(r)));
      if (seq >= 0) last_seq = seq;
    }
    if (tc >= 10 && tc <= 18) {
      if (tc <= 16) {
        if (tc != iat_next)
          iat_order_ok = false;
        else
          ++iat_next;
      } else if (iat_next != 17) {
        iat_order_ok = false;
      }
      if (tc == 17) ++n17;
      if (tc == 18) ++n18;
    }
    if (tc == 98) {
      const Field* f = l->Find("changeCode");
      if (!ChangeCodeTitle(f->In(r))) Err('7', l, f, "invalid change code", Str(f->In(r)));
      if (IsBlank(r.substr(35, 29))) ErrField(*l, "correctedData", "field is required");
    }
    if (tc == 99) {
      const Field& f = l->fields[2];
      if (!ReturnCodeTitle(f.In(r))) Err('7', l, &f, "invalid return reason code", Str(f.In(r)));
      if (const Field* dd = l->Find("dateOfDeath")) {
        std::string_view v = dd->In(r);
        if (!IsBlank(v) && !ValidDate(v)) Err('7', l, dd, "must be a date YYMMDD", Str(v));
      }
    }
    ++file_records;
    h.OnRecord({l, raw, line_no, false});
  }

  // Addenda rules that need the whole entry: run when the next record starts.
  void EndEntry() {
    if (!in_entry) return;
    in_entry = false;
    const Layout& l = *entry_layout;
    auto err = [&](const char* field, const char* kind, std::string detail = {}) {
      ErrAt(entry_line, '6', &l, field ? l.Find(field) : nullptr, kind, std::move(detail));
    };
    if (indicator == '1' && addenda == 0)
      err("addendaRecordIndicator", "addenda record indicator is 1 but no addenda follow");
    if (indicator == '0' && addenda > 0)
      err("addendaRecordIndicator", "addenda follow an entry whose addenda record indicator is 0",
          std::to_string(addenda) + " addenda");
    std::string_view sec_code = Sec();
    if (n99 > 0 || n98 > 0) {
      if (addenda != 1)
        err(nullptr,
            n99 ? "a return entry must have exactly one addenda 99"
                : "a notification of change must have exactly one addenda 98",
            std::to_string(addenda) + " addenda");
      return;
    }
    if (sec_code == "COR") {
      err(nullptr, "a COR entry must have exactly one addenda 98", "none");
      return;
    }
    if (n05 > 1 && !SecMany05(sec_code))
      err(nullptr, "at most one addenda 05 is allowed for this SEC code",
          std::to_string(n05) + " in a " + Str(sec_code) + " batch");
    if (n05 > 9999) err(nullptr, "at most 9999 addenda records are allowed", std::to_string(n05));
    if (n02 > 1) err(nullptr, "at most one addenda 02 is allowed", std::to_string(n02));
    if ((sec_code == "CTX" || sec_code == "ATX") && declared_addenda >= 0 &&
        declared_addenda != n05)
      err("numberOfAddendaRecords",
          "number of addenda records does not match the addenda that follow",
          std::to_string(declared_addenda) + " declared, " + std::to_string(n05) + " present");
    if (batch_iat) {
      if (!iat_order_ok || iat_next != 17)
        err(nullptr, "an IAT entry needs addenda 10 to 16, in order, before any 17 or 18");
      if (n17 > 2) err(nullptr, "at most two addenda 17 are allowed", std::to_string(n17));
      if (n18 > 5) err(nullptr, "at most five addenda 18 are allowed", std::to_string(n18));
    }
  }

  void CloseBatch() {
    ++batch_count;
    file_count += batch_count_records;
    file_hash += batch_hash;
    file_debit += batch_debit;
    file_credit += batch_credit;
    phase = Phase::kFile;
  }

  void BatchControl(std::string_view r, std::string_view raw) {
    RequireHeader();
    const Layout& l = BatchControlLayout(phase == Phase::kBatch ? batch_adv : adv_file);
    if (phase != Phase::kBatch) {
      Err('8', &l, nullptr, "batch control record without a batch header");
      h.OnRecord({&l, raw, line_no, false});
      return;
    }
    EndEntry();
    CheckFields(l, r);
    if (batch_entries == 0)
      Err('8', &l, nullptr, "a batch must have at least one entry detail record");
    auto cmp = [&](const char* field, uint64_t want, const char* kind) {
      const Field* f = l.Find(field);
      std::string_view v = f->In(r);
      if (IsDigits(v) && Num(v) != want)
        Err('8', &l, f, kind, "is " + Str(v) + ", computed " + std::to_string(want));
    };
    if (r.substr(1, 3) != std::string_view(service, 3))
      ErrField(l, "serviceClassCode", "service class code does not match the batch header",
               Str(r.substr(1, 3)) + " vs " + std::string(service, 3));
    cmp("entryAddendaCount", batch_count_records,
        "entry/addenda count does not match the records in the batch");
    cmp("entryHash", batch_hash % kHashModulus,
        "entry hash does not match the sum of the RDFI identifications");
    cmp("totalDebitEntryDollarAmount", batch_debit,
        "total debit amount does not match the sum of the entries");
    cmp("totalCreditEntryDollarAmount", batch_credit,
        "total credit amount does not match the sum of the entries");
    if (!batch_adv && !batch_iat &&
        Trim(r.substr(44, 10)) != std::string_view(company_id, company_id_len))
      ErrField(l, "companyIdentification", "company identification does not match the batch header",
               Str(Trim(r.substr(44, 10))) + " vs " + std::string(company_id, company_id_len));
    if (r.substr(79, 8) != std::string_view(odfi, 8))
      ErrField(l, "odfiIdentification", "ODFI identification does not match the batch header");
    if (r.substr(87, 7) != std::string_view(batch_number, 7))
      ErrField(l, "batchNumber", "batch number does not match the batch header");
    CloseBatch();
    ++file_records;
    h.OnRecord({&l, raw, line_no, false});
  }

  void FileControl(std::string_view r, std::string_view raw) {
    RequireHeader();
    const Layout& l = FileControlLayout(adv_file);
    if (r.find_first_not_of('9') == std::string_view::npos) {
      Err('9', &l, nullptr, "an all-9 padding record comes before the file control");
      h.OnRecord({nullptr, raw, line_no, true});
      return;
    }
    if (phase == Phase::kBatch) {
      EndEntry();
      Err('9', &l, nullptr, "batch control record (type 8) is missing before the file control");
      CloseBatch();
    }
    CheckFields(l, r);
    auto cmp = [&](const char* field, uint64_t want, const char* kind) {
      const Field* f = l.Find(field);
      std::string_view v = f->In(r);
      if (IsDigits(v) && Num(v) != want)
        Err('9', &l, f, kind, "is " + Str(v) + ", computed " + std::to_string(want));
    };
    cmp("batchCount", static_cast<uint64_t>(batch_count),
        "batch count does not match the batches in the file");
    cmp("entryAddendaCount", file_count,
        "entry/addenda count does not match the records in the file");
    cmp("entryHash", file_hash % kHashModulus,
        "entry hash does not match the sum of the batch entry hashes");
    cmp("totalDebitEntryDollarAmountInFile", file_debit,
        "total debit amount does not match the sum of the batches");
    cmp("totalCreditEntryDollarAmountInFile", file_credit,
        "total credit amount does not match the sum of the batches");
    control_seen = true;
    std::memcpy(control.data(), r.data(), kRecordLength);
    control_line = line_no;
    phase = Phase::kAfterControl;
    ++file_records;
    h.OnRecord({&l, raw, line_no, false});
  }

  void Finish() {
    if (total_lines == 0) {
      ErrAt(0, '1', &LayoutOf(RecordKind::kFileHeader), nullptr, "the file is empty");
      return;
    }
    RequireHeader();
    if (phase == Phase::kBatch) {
      EndEntry();
      ErrAt(last_line, '8', &LayoutOf(RecordKind::kBatchControl), nullptr,
            "batch control record (type 8) is missing");
      CloseBatch();
    }
    const Layout& fc = FileControlLayout(adv_file);
    if (!control_seen) {
      ErrAt(last_line, '9', &fc, nullptr, "file control record (type 9) is missing");
      return;
    }
    uint64_t blocks = (static_cast<uint64_t>(total_lines) + kBlockingFactor - 1) / kBlockingFactor;
    const Field* bc = fc.Find("blockCount");
    std::string_view v = bc->In(std::string_view(control.data(), kRecordLength));
    if (IsDigits(v) && Num(v) != blocks)
      ErrAt(control_line, '9', &fc, bc, "block count does not match the number of blocks",
            "is " + Str(v) + ", computed " + std::to_string(blocks));
    if (total_lines % kBlockingFactor != 0)
      ErrAt(last_line, '9', &fc, nullptr,
            "the file is not blocked: pad it with all-9 records to a multiple of 10",
            std::to_string(total_lines) + " records");
  }
};

Scanner::Scanner(Handler& handler) : s_(new State(handler)) {}
Scanner::~Scanner() { delete s_; }
void Scanner::Line(std::string_view line) { s_->Line(line); }
void Scanner::Finish() { s_->Finish(); }
int64_t Scanner::lines() const { return s_->total_lines; }
int64_t Scanner::entries() const { return s_->entries; }
int64_t Scanner::errors() const { return s_->errors; }

void ScanBuffer(std::string_view data, Handler& handler) {
  Scanner scanner(handler);
  bool has_break = data.find_first_of("\r\n") != std::string_view::npos;
  if (!has_break && data.size() > static_cast<size_t>(kRecordLength)) {
    // Some systems send records back to back with no line terminators.
    for (size_t i = 0; i < data.size(); i += kRecordLength)
      scanner.Line(data.substr(i, kRecordLength));
  } else {
    size_t start = 0;
    SplitLines(data, &start, /*final=*/true, data.size(),
               [&](std::string_view line) { scanner.Line(line); });
  }
  scanner.Finish();
}

void SplitLines(std::string_view v, size_t* start, bool final, size_t max_line,
                const std::function<void(std::string_view)>& emit) {
  while (*start < v.size()) {
    size_t s = *start;
    const void* hit = std::memchr(v.data() + s, '\n', v.size() - s);
    const size_t nl = hit ? static_cast<size_t>(static_cast<const char*>(hit) - v.data())
                          : std::string_view::npos;
    std::string_view seg = v.substr(s, (hit ? nl : v.size()) - s);
    if (hit && !seg.empty() && seg.back() == '\r') seg.remove_suffix(1);  // CRLF
    // Lone CRs (old Mac style) end lines too.
    size_t cr;
    while (seg.size() != static_cast<size_t>(kRecordLength) &&
           (cr = seg.find('\r')) != std::string_view::npos) {
      if (!hit && !final && cr + 1 == seg.size()) break;  // maybe half of a CRLF: wait for more
      emit(seg.substr(0, cr));
      seg.remove_prefix(cr + 1);
      s += cr + 1;
    }
    if (hit) {
      emit(seg);
      *start = nl + 1;
      continue;
    }
    if (final || seg.size() > max_line) {
      if (!seg.empty()) emit(seg);
      *start = v.size();
    } else {
      *start = s;
    }
    return;
  }
}

}  // namespace kontor::payments::ach
