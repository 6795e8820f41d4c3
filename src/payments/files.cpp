#include "payments/files.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/crypto.h"
#include "core/log.h"
#include "core/retry.h"
#include "payments/ach/reader.h"
#include "payments/ach/record.h"
#include "payments/ach/writer.h"
#include "payments/delivery/pgp.h"
#include "payments/delivery/sftp.h"
#include "payments/schedule.h"

namespace kontor::payments {
namespace {

constexpr const char* kFileColumns =
    "id, originator_id, file_date, file_id_modifier, name, sha256, entry_count, batch_count, "
    "debit_total_cents, credit_total_cents, window_kind, status, delivery_attempts, "
    "next_attempt_at, delivered_at, remote_name, encrypted_sha256, last_error, created_at";
constexpr const char* kModifiers = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr int64_t kTraceModulo = 10000000;  // seven digits after the ODFI prefix
constexpr const char* kNoSftp =
    "the originator has no SFTP profile: download the file and send it by hand";

AchFile RowToFile(const store::Row& r) {
  AchFile f;
  f.id = r.Int(0);
  f.originator_id = r.Int(1);
  f.file_date = r.Str(2);
  f.file_id_modifier = r.Str(3);
  f.name = r.Str(4);
  f.sha256 = r.Str(5);
  f.entry_count = r.Int(6);
  f.batch_count = r.Int(7);
  f.debit_total_cents = r.Int(8);
  f.credit_total_cents = r.Int(9);
  f.window_kind = r.Str(10);
  f.status = r.Str(11);
  f.delivery_attempts = r.Int(12);
  f.next_attempt_at = r.OptInt(13);
  f.delivered_at = r.OptInt(14);
  f.remote_name = r.OptStr(15);
  f.encrypted_sha256 = r.OptStr(16);
  f.last_error = r.OptStr(17);
  f.created_at = r.Int(18);
  return f;
}

Result<AchFile> LoadFile(store::Connection& c, int64_t id) {
  ASSIGN_OR_RETURN(
      auto row,
      c.QueryRow(std::string("SELECT ") + kFileColumns + " FROM ach_files WHERE id = ?", {id}));
  if (!row) return Status::NotFound("no ACH file " + std::to_string(id));
  return RowToFile(*row);
}

// NACHA transaction code for an account type, direction and prenote flag.
std::string TransactionCode(const std::string& account_type, const std::string& direction,
                            bool prenote) {
  int base = account_type == "savings"          ? 30
             : account_type == "general_ledger" ? 40
             : account_type == "loan"           ? 50
                                                : 20;
  int code = base + (direction == "credit" ? 2 : 7) + (prenote ? 1 : 0);
  return std::to_string(code);
}

std::string Blank() { return std::string(ach::kRecordLength, ' '); }

void Set(std::string& rec, const ach::Layout& l, const char* field, std::string_view v) {
  ach::SetField(rec, *l.Find(field), v);
}
void Set(std::string& rec, const ach::Layout& l, const char* field, uint64_t v) {
  ach::SetField(rec, *l.Find(field), v);
}

std::string Upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

struct Line {                        // one entry to write
  const Payment* payment = nullptr;  // nullptr for an offset entry
  const PaymentEntry* entry = nullptr;
  std::string direction, account_type, routing, account, name, id;
  int64_t amount = 0;
  bool prenote = false;
  std::string trace;
};

}  // namespace

std::string FileName(const Originator& o, const std::string& yymmdd, const std::string& modifier) {
  std::string id;
  for (char ch : o.company_id) {
    if (std::isalnum(static_cast<unsigned char>(ch))) id += ch;
  }
  return id + "_" + yymmdd + "_" + modifier + ".ach";
}

json::object AchFileToJson(const AchFile& f) {
  auto opt_int = [](const std::optional<int64_t>& v) {
    return v ? json::value(FormatRfc3339(*v)) : json::value(nullptr);
  };
  return {{"id", std::to_string(f.id)},
          {"originator_id", std::to_string(f.originator_id)},
          {"file_date", f.file_date},
          {"file_id_modifier", f.file_id_modifier},
          {"name", f.name},
          {"sha256", f.sha256},
          {"entry_count", f.entry_count},
          {"batch_count", f.batch_count},
          {"debit_total_cents", f.debit_total_cents},
          {"credit_total_cents", f.credit_total_cents},
          {"window", f.window_kind},
          {"status", f.status},
          {"delivery_attempts", f.delivery_attempts},
          {"next_attempt_at", opt_int(f.next_attempt_at)},
          {"delivered_at", opt_int(f.delivered_at)},
          {"remote_name", NullOr(f.remote_name)},
          {"encrypted_sha256", NullOr(f.encrypted_sha256)},
          {"last_error", NullOr(f.last_error)},
          {"created_at", FormatRfc3339(f.created_at)}};
}

FileService::FileService(store::Database& db, const Clock& clock, Registry& registry,
                         PaymentService& payments, DeliveryOptions options)
    : db_(db), clock_(clock), registry_(registry), payments_(payments), options_(options) {
  options_.parallel = std::clamp(options_.parallel, 1, 200);
}

FileService::~FileService() { Stop(); }

Result<std::vector<AchFile>> FileService::BuildDue(const audit::Actor& a,
                                                   std::optional<int64_t> originator_id,
                                                   std::optional<int64_t> through_ms) {
  const int64_t through = through_ms.value_or(clock_.NowMs());
  std::vector<int64_t> ids;
  if (originator_id) {
    ids.push_back(*originator_id);
  } else {
    ASSIGN_OR_RETURN(auto res, db_.Execute("SELECT DISTINCT originator_id FROM payments WHERE "
                                           "status IN ('pending', 'scheduled') AND window_at <= ? "
                                           "ORDER BY originator_id",
                                           {through}));
    for (const auto& r : res.rows) ids.push_back(r.Int(0));
  }
  std::vector<AchFile> built;
  for (int64_t id : ids) {
    std::optional<AchFile> f;
    RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
      f.reset();
      ASSIGN_OR_RETURN(Originator o, registry_.LoadOriginator(c, id));
      ASSIGN_OR_RETURN(f, BuildOne(c, a, o, through));
      return Status::Ok();
    }));
    if (f) built.push_back(*f);
  }
  if (!built.empty()) Kick();
  return built;
}

Result<std::optional<AchFile>> FileService::BuildOne(store::Connection& c, const audit::Actor& a,
                                                     const Originator& o, int64_t through) {
  if (c.dialect() == store::Dialect::kPostgres) {
    // One builder per originator at a time across nodes.
    RETURN_IF_ERROR(
        c.Execute("SELECT pg_advisory_xact_lock(?)", {int64_t{0x41434800} + o.id}).status());
  }
  ASSIGN_OR_RETURN(auto due, c.Execute("SELECT id FROM payments WHERE originator_id = ? AND "
                                       "status IN ('pending', 'scheduled') AND window_at <= ? "
                                       "ORDER BY id",
                                       {o.id, through}));
  if (due.rows.empty()) return std::optional<AchFile>();
  const int64_t now = clock_.NowMs();
  ASSIGN_OR_RETURN(Date today, LocalDate(now, o.windows.time_zone));

  std::vector<Payment> payments;
  std::map<int64_t, Counterparty> counterparties;
  for (const auto& r : due.rows) {
    ASSIGN_OR_RETURN(Payment p, PaymentService::Load(c, r.Int(0)));
    if (!counterparties.count(p.counterparty_id)) {
      ASSIGN_OR_RETURN(counterparties[p.counterparty_id],
                       registry_.LoadCounterparty(c, p.counterparty_id));
    }
    Counterparty& cp = counterparties[p.counterparty_id];
    if (!p.prenote && cp.prenote_status == "failed") {
      RETURN_IF_ERROR(payments_.Transition(c, a, p, "failed",
                                           "the account's prenote was returned; fix the "
                                           "counterparty and pay again"));
      continue;
    }
    if (!p.prenote && cp.prenote_status == "sent" && cp.prenote_settles_on &&
        *cp.prenote_settles_on <= FormatDate(today)) {
      // No return came back in the waiting period: the account is verified.
      cp.prenote_status = "verified";
      RETURN_IF_ERROR(registry_.SaveCounterparty(c, cp, now));
    }
    payments.push_back(std::move(p));
  }
  if (payments.empty()) return std::optional<AchFile>();

  // Batches: one per SEC code, effective date, window, description and (without
  // an offset account) direction.
  using Key = std::tuple<std::string, std::string, bool, std::string, std::string>;
  std::map<Key, std::vector<Line>> batches;
  for (const Payment& p : payments) {
    Key k{p.sec_code, p.effective_date, p.same_day, p.entry_description,
          o.offset ? std::string("mixed") : p.direction};
    for (const PaymentEntry& e : p.entries) {
      Line l;
      l.payment = &p;
      l.entry = &e;
      l.direction = p.direction;
      l.account_type = p.account_type;
      l.routing = p.routing_number;
      l.account = p.account_number;
      l.name = p.receiver_name;
      l.id = p.receiver_id;
      l.amount = e.amount_cents;
      l.prenote = p.prenote;
      batches[k].push_back(std::move(l));
    }
  }
  if (o.offset) {
    for (auto& [k, lines] : batches) {
      int64_t net = 0;  // debits minus credits
      for (const auto& l : lines) net += l.direction == "debit" ? l.amount : -l.amount;
      if (net == 0) continue;
      Line off;
      off.direction = net > 0 ? "credit" : "debit";
      off.account_type = o.offset->account_type;
      off.routing = o.offset->routing_number;
      off.account = o.offset->account_number;
      off.name = o.name;
      off.id = "OFFSET";
      off.amount = net > 0 ? net : -net;
      lines.push_back(std::move(off));
    }
  }

  // The file's identity: its date, the day's next modifier, trace numbers.
  const std::string file_date = FormatDate(today);
  const std::string yymmdd = FormatYymmdd(today);
  ASSIGN_OR_RETURN(auto used, c.Execute("SELECT file_id_modifier FROM ach_files WHERE "
                                        "originator_id = ? AND file_date = ?",
                                        {o.id, file_date}));
  std::string modifier;
  for (const char* m = kModifiers; *m && modifier.empty(); ++m) {
    bool taken = false;
    for (const auto& r : used.rows) taken = taken || r.Str(0) == std::string(1, *m);
    if (!taken) modifier = std::string(1, *m);
  }
  if (modifier.empty()) {
    return Status::FailedPrecondition("36 files were already built today for originator " +
                                      std::to_string(o.id) + "; the file id modifier is used up");
  }
  size_t total_lines = 0;
  for (const auto& [k, lines] : batches) total_lines += lines.size();
  ASSIGN_OR_RETURN(auto trace_row, c.QueryRow("SELECT next_trace FROM payment_originators WHERE "
                                              "id = ?",
                                              {o.id}));
  int64_t trace_seq = trace_row->Int(0);
  RETURN_IF_ERROR(c.Execute("UPDATE payment_originators SET next_trace = ? WHERE id = ?",
                            {(trace_seq + static_cast<int64_t>(total_lines)) % kTraceModulo, o.id})
                      .status());
  const std::string odfi8 = o.odfi_routing.substr(0, 8);

  // Local creation time for the header.
  std::string hhmm;
  {
    ASSIGN_OR_RETURN(int64_t midnight, LocalInstant(today, "00:00", o.windows.time_zone));
    int64_t minutes = (now - midnight) / 60000;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d%02d", static_cast<int>(minutes / 60 % 24),
                  static_cast<int>(minutes % 60));
    hhmm = buf;
  }

  std::ostringstream out;
  ach::StreamWriter w(out);
  {
    const ach::Layout& l = ach::LayoutOf(ach::RecordKind::kFileHeader);
    std::string r = Blank();
    r[0] = '1';
    Set(r, l, "priorityCode", uint64_t{1});
    Set(r, l, "immediateDestination", " " + o.immediate_destination);
    Set(r, l, "immediateOrigin", o.immediate_origin);
    Set(r, l, "fileCreationDate", yymmdd);
    Set(r, l, "fileCreationTime", hhmm);
    Set(r, l, "fileIdModifier", modifier);
    Set(r, l, "recordSize", "094");
    Set(r, l, "blockingFactor", "10");
    Set(r, l, "formatCode", "1");
    Set(r, l, "immediateDestinationName", Upper(o.immediate_destination_name));
    Set(r, l, "immediateOriginName", Upper(o.immediate_origin_name));
    w.FileHeader(r);
  }
  int64_t batch_number = 0, debit_total = 0, credit_total = 0, entry_count = 0;
  std::vector<std::pair<const PaymentEntry*, std::string>> traces;
  for (auto& [k, lines] : batches) {
    const auto& [sec, effective, same_day, description, group] = k;
    ++batch_number;
    const ach::Layout& bh = ach::BatchHeaderLayout(sec);
    std::string r = Blank();
    r[0] = '5';
    Set(r, bh, "serviceClassCode", group == "mixed" ? "200" : group == "credit" ? "220" : "225");
    Set(r, bh, "companyName", o.name);
    Set(r, bh, "companyIdentification", o.company_id);
    Set(r, bh, "standardEntryClassCode", sec);
    Set(r, bh, "companyEntryDescription", Upper(description));
    if (same_day && o.windows.same_day_cutoff) {
      // Nacha's suggested marker for same-day entries: "SD" and the time.
      std::string hm = *o.windows.same_day_cutoff;
      Set(r, bh, "companyDescriptiveDate", "SD" + hm.substr(0, 2) + hm.substr(3, 2));
    }
    ASSIGN_OR_RETURN(Date eff, ParseDate(effective, "effective_date"));
    Set(r, bh, "effectiveEntryDate", FormatYymmdd(eff));
    Set(r, bh, "originatorStatusCode", "1");
    Set(r, bh, "odfiIdentification", odfi8);
    Set(r, bh, "batchNumber", static_cast<uint64_t>(batch_number));
    w.BatchHeader(r);
    const ach::Layout& el = ach::EntryLayout(sec);
    for (Line& line : lines) {
      char trace[16];
      std::snprintf(trace, sizeof trace, "%s%07lld", odfi8.c_str(),
                    static_cast<long long>(trace_seq % kTraceModulo));
      ++trace_seq;
      line.trace = trace;
      std::vector<std::string> addenda;
      if (line.payment && line.payment->addenda && !line.payment->addenda->empty()) {
        const std::string& text = *line.payment->addenda;
        for (size_t i = 0; i < text.size(); i += 80) addenda.push_back(text.substr(i, 80));
      }
      std::string e = Blank();
      e[0] = '6';
      Set(e, el, "transactionCode",
          TransactionCode(line.account_type, line.direction, line.prenote));
      Set(e, el, "rdfiIdentification", line.routing.substr(0, 8));
      Set(e, el, "checkDigit", line.routing.substr(8, 1));
      Set(e, el, "dfiAccountNumber", line.account);
      Set(e, el, "amount", static_cast<uint64_t>(line.amount));
      Set(e, el, "identificationNumber", line.id);
      if (sec == "CTX") {
        Set(e, el, "numberOfAddendaRecords", static_cast<uint64_t>(addenda.size()));
        Set(e, el, "receivingCompanyName", Upper(line.name).substr(0, 16));
      } else {
        Set(e, el, "individualName", Upper(line.name));
        if ((sec == "WEB" || sec == "TEL") && line.payment && line.payment->payment_type_code) {
          Set(e, el, "discretionaryData", *line.payment->payment_type_code);
        }
      }
      Set(e, el, "addendaRecordIndicator", static_cast<uint64_t>(addenda.empty() ? 0 : 1));
      Set(e, el, "traceNumber", std::string(trace));
      w.Entry(e);
      const ach::Layout& al = ach::LayoutOf(ach::RecordKind::kAddenda05);
      for (size_t i = 0; i < addenda.size(); ++i) {
        std::string ad = Blank();
        ad[0] = '7';
        Set(ad, al, "addendaTypeCode", "05");
        Set(ad, al, "paymentRelatedInformation", addenda[i]);
        Set(ad, al, "addendaSequenceNumber", static_cast<uint64_t>(i + 1));
        Set(ad, al, "entryDetailSequenceNumber", std::string(trace + 8));
        w.Addenda(ad);
      }
      ++entry_count;
      (line.direction == "debit" ? debit_total : credit_total) += line.amount;
      if (line.entry) traces.emplace_back(line.entry, line.trace);
    }
    w.EndBatch();
  }
  w.EndFile();
  const std::string content = out.str();
  // The builder's output goes through the same validator as the bank's
  // files: a defect here must stop the file, not reach the bank.
  ach::ReadResult check = ach::Read(content);
  if (!check.ok()) {
    return Status::Internal("the built file for originator " + std::to_string(o.id) +
                            " fails validation: " + check.errors.front().Message());
  }

  AchFile f;
  f.originator_id = o.id;
  f.file_date = file_date;
  f.file_id_modifier = modifier;
  f.name = FileName(o, yymmdd, modifier);
  f.sha256 = Sha256Hex(content);
  f.entry_count = entry_count;
  f.batch_count = batch_number;
  f.debit_total_cents = debit_total;
  f.credit_total_cents = credit_total;
  f.window_kind = payments.front().window_kind;
  for (const auto& p : payments) {
    if (p.window_kind != f.window_kind) f.window_kind = "mixed";
  }
  f.status = "built";
  if (o.sftp)
    f.next_attempt_at = now;
  else
    f.last_error = kNoSftp;
  f.created_at = now;
  ASSIGN_OR_RETURN(
      auto ins,
      c.Execute("INSERT INTO ach_files (originator_id, file_date, file_id_modifier, name, content, "
                "sha256, entry_count, batch_count, debit_total_cents, credit_total_cents, "
                "window_kind, status, next_attempt_at, last_error, created_at) VALUES (?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                {f.originator_id, f.file_date, f.file_id_modifier, f.name, content, f.sha256,
                 f.entry_count, f.batch_count, f.debit_total_cents, f.credit_total_cents,
                 f.window_kind, f.status, f.next_attempt_at, f.last_error, now}));
  f.id = ins.rows.front().Int(0);
  for (const auto& [entry, trace] : traces) {
    RETURN_IF_ERROR(c.Execute("UPDATE payment_entries SET file_id = ?, trace_number = ? WHERE "
                              "id = ?",
                              {f.id, trace, entry->id})
                        .status());
  }
  for (Payment& p : payments) {
    p.file_id = f.id;
    RETURN_IF_ERROR(payments_.Transition(c, a, p, "in_file", "in file " + f.name));
    if (p.prenote) {
      Counterparty& cp = counterparties[p.counterparty_id];
      if (cp.prenote_status == "pending") {
        cp.prenote_status = "sent";
        RETURN_IF_ERROR(registry_.SaveCounterparty(c, cp, now));
      }
    }
  }
  RETURN_IF_ERROR(audit::Record(c, a,
                                {"ach_file.build", "ach_file", std::to_string(f.id), std::nullopt,
                                 json::value(AchFileToJson(f))}));
  LogInfo("ach file built", {{"file", f.name}, {"entries", f.entry_count}});
  return std::optional<AchFile>(f);
}

Result<AchFile> FileService::Get(int64_t id) {
  AchFile f;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(f, LoadFile(c, id));
    return Status::Ok();
  }));
  return f;
}

Result<std::string> FileService::Content(int64_t id) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow("SELECT content FROM ach_files WHERE id = ?", {id}));
  if (!row) return Status::NotFound("no ACH file " + std::to_string(id));
  return row->Str(0);
}

Result<Page<AchFile>> FileService::List(std::optional<int64_t> originator_id,
                                        std::optional<std::string> status,
                                        std::optional<int64_t> before, int limit) {
  std::string sql = std::string("SELECT ") + kFileColumns + " FROM ach_files WHERE 1 = 1";
  store::Params p;
  if (originator_id) {
    sql += " AND originator_id = ?";
    p.push_back(*originator_id);
  }
  if (status) {
    sql += " AND status = ?";
    p.push_back(*status);
  }
  if (before) {
    sql += " AND id < ?";
    p.push_back(*before);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  p.push_back(limit + 1);
  ASSIGN_OR_RETURN(auto res, db_.Execute(sql, p));
  std::vector<AchFile> items;
  for (const auto& r : res.rows) items.push_back(RowToFile(r));
  return MakePage(std::move(items), limit);
}

Result<std::vector<int64_t>> FileService::ClaimDue(int max) {
  const int64_t now = clock_.NowMs();
  ASSIGN_OR_RETURN(
      auto res,
      db_.Execute("UPDATE ach_files SET lease_owner = ?, lease_expires_at = ? WHERE id IN (SELECT "
                  "id FROM ach_files WHERE status = 'built' AND next_attempt_at <= ? AND "
                  "(lease_expires_at IS NULL OR lease_expires_at < ?) ORDER BY id LIMIT ?) AND "
                  "(lease_expires_at IS NULL OR lease_expires_at < ?) RETURNING id",
                  {options_.node_id, now + options_.lease_ms, now, now, max, now}));
  std::vector<int64_t> ids;
  for (const auto& r : res.rows) ids.push_back(r.Int(0));
  return ids;
}

Status FileService::DeliverOne(int64_t file_id) {
  AchFile f;
  Originator o;
  std::string content;
  std::optional<std::string> encrypted;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(f, LoadFile(c, file_id));
    ASSIGN_OR_RETURN(o, registry_.LoadOriginator(c, f.originator_id));
    ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT content, encrypted_content FROM ach_files "
                                          "WHERE id = ?",
                                          {file_id}));
    content = row->Str(0);
    encrypted = row->OptStr(1);
    return Status::Ok();
  }));
  if (f.status != "built") return Status::Ok();
  auto system = [&] { return audit::Actor::System("payments delivery", clock_.NowMs()); };

  auto fail = [&](const Status& why, bool permanent) -> Status {
    const int64_t now = clock_.NowMs();
    const int64_t attempts = f.delivery_attempts + 1;
    permanent = permanent || attempts >= options_.max_attempts;
    std::optional<int64_t> next;
    if (!permanent) {
      next = now + BackoffMs(static_cast<int>(attempts), options_.backoff_base_ms,
                             options_.backoff_max_ms);
    }
    LogWarn("ach file delivery failed",
            {{"file", f.name}, {"attempt", attempts}, {"error", why.message()}});
    return db_.Transact([&](store::Connection& c) -> Status {
      RETURN_IF_ERROR(
          c.Execute("UPDATE ach_files SET status = ?, delivery_attempts = ?, "
                    "next_attempt_at = ?, last_error = ?, lease_owner = NULL, "
                    "lease_expires_at = NULL WHERE id = ?",
                    {permanent ? "failed" : "built", attempts, next, why.message(), file_id})
              .status());
      if (!permanent) return Status::Ok();
      return audit::Record(
          c, system(),
          {"ach_file.delivery_failed", "ach_file", std::to_string(file_id), std::nullopt,
           json::value(json::object{{"error", why.message()}, {"attempts", attempts}})});
    });
  };

  if (!o.sftp) {
    return db_
        .Execute(
            "UPDATE ach_files SET next_attempt_at = NULL, lease_owner = NULL, "
            "lease_expires_at = NULL, last_error = ? WHERE id = ?",
            {kNoSftp, file_id})
        .status();
  }
  std::string remote = f.name;
  std::string bytes = content;
  if (o.pgp_public_key) {
    remote += ".pgp";
    if (!encrypted) {
      auto enc = delivery::PgpEncrypt(content, *o.pgp_public_key, /*armor=*/true);
      if (!enc.ok()) return fail(enc.status(), true);
      // Kept before the upload: a retry sends exactly these bytes, so the
      // server's copy can be recognised as ours.
      RETURN_IF_ERROR(db_.Execute("UPDATE ach_files SET encrypted_content = ?, "
                                  "encrypted_sha256 = ?, remote_name = ? WHERE id = ?",
                                  {*enc, Sha256Hex(*enc), remote, file_id})
                          .status());
      encrypted = *enc;
    }
    bytes = *encrypted;
  }
  auto client = delivery::SftpClient::Connect(*o.sftp);
  if (!client.ok()) {
    return fail(client.status(), client.status().code() == StatusCode::kFailedPrecondition);
  }
  auto outcome = (*client)->Upload(remote, bytes);
  if (!outcome.ok()) {
    return fail(outcome.status(), outcome.status().code() == StatusCode::kFailedPrecondition);
  }
  const bool already = *outcome == delivery::UploadOutcome::kAlreadyPresent;
  return db_.Transact([&](store::Connection& c) -> Status {
    const int64_t now = clock_.NowMs();
    audit::Actor a = system();
    ASSIGN_OR_RETURN(auto upd, c.Execute("UPDATE ach_files SET status = 'delivered', "
                                         "delivered_at = ?, remote_name = ?, "
                                         "delivery_attempts = delivery_attempts + 1, "
                                         "next_attempt_at = NULL, last_error = NULL, "
                                         "lease_owner = NULL, lease_expires_at = NULL WHERE id = ? "
                                         "AND status = 'built'",
                                         {now, remote, file_id}));
    if (upd.affected != 1) return Status::Ok();
    ASSIGN_OR_RETURN(auto ps, c.Execute("SELECT id FROM payments WHERE file_id = ? AND status = "
                                        "'in_file' ORDER BY id",
                                        {file_id}));
    for (const auto& r : ps.rows) {
      ASSIGN_OR_RETURN(Payment p, PaymentService::Load(c, r.Int(0)));
      RETURN_IF_ERROR(
          payments_.Transition(c, a, p, "submitted", "delivered to the bank as " + remote));
    }
    LogInfo("ach file delivered", {{"file", remote}, {"already_present", already}});
    return audit::Record(
        c, a,
        {"ach_file.deliver", "ach_file", std::to_string(file_id), std::nullopt,
         json::value(json::object{
             {"remote_name", remote}, {"host", o.sftp->host}, {"already_present", already}})});
  });
}

int FileService::DeliverDue() {
  int finished = 0;
  for (;;) {
    auto ids = ClaimDue(options_.parallel);
    if (!ids.ok() || ids->empty()) break;
    std::mutex mu;
    std::condition_variable cv;
    std::set<int64_t> in_flight(ids->begin(), ids->end());
    std::vector<std::thread> threads;
    for (int64_t id : *ids) {
      threads.emplace_back([this, id, &mu, &cv, &in_flight] {
        Status st = DeliverOne(id);
        if (!st.ok())
          LogWarn("ach file delivery error", {{"file_id", id}, {"error", st.message()}});
        std::lock_guard<std::mutex> l(mu);
        in_flight.erase(id);
        cv.notify_all();
      });
    }
    // Heartbeat: the leases of files still uploading are extended, so a
    // short lease (a quick takeover after a crash) never lets a second node
    // start on a file this one is still sending.
    std::unique_lock<std::mutex> lock(mu);
    while (!in_flight.empty()) {
      if (cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(options_.lease_ms / 3, 10)),
                      [&] { return in_flight.empty(); })) {
        break;
      }
      store::Params keys;
      for (int64_t id : in_flight) keys.emplace_back(id);
      lock.unlock();
      const int64_t until = clock_.NowMs() + options_.lease_ms;
      for (const auto& key : keys) {
        // A missed beat only shortens the lease; the next one retries.
        (void)db_.Execute(
            "UPDATE ach_files SET lease_expires_at = ? WHERE id = ? AND "
            "lease_owner = ? AND status = 'built'",
            {until, key, options_.node_id});
      }
      lock.lock();
    }
    lock.unlock();
    for (auto& t : threads) t.join();
    finished += static_cast<int>(ids->size());
    if (static_cast<int>(ids->size()) < options_.parallel) break;
  }
  return finished;
}

Result<AchFile> FileService::Redeliver(const audit::Actor& a, int64_t id) {
  AchFile out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(AchFile f, LoadFile(c, id));
    if (f.status == "delivered") {
      return Status::FailedPrecondition("file " + f.name + " was delivered already");
    }
    RETURN_IF_ERROR(c.Execute("UPDATE ach_files SET status = 'built', next_attempt_at = ?, "
                              "delivery_attempts = 0, lease_owner = NULL, lease_expires_at = NULL "
                              "WHERE id = ?",
                              {a.now_ms, id})
                        .status());
    RETURN_IF_ERROR(audit::Record(c, a,
                                  {"ach_file.redeliver", "ach_file", std::to_string(id),
                                   json::value(json::object{{"status", f.status}}),
                                   json::value(json::object{{"status", "built"}})}));
    ASSIGN_OR_RETURN(out, LoadFile(c, id));
    return Status::Ok();
  }));
  Kick();
  return out;
}

Result<int> FileService::SettleDue(const audit::Actor& a) {
  ASSIGN_OR_RETURN(auto origs, db_.Execute("SELECT DISTINCT originator_id FROM payments WHERE "
                                           "status = 'submitted' ORDER BY originator_id"));
  int settled = 0;
  for (const auto& r : origs.rows) {
    ASSIGN_OR_RETURN(Originator o, registry_.GetOriginator(r.Int(0)));
    ASSIGN_OR_RETURN(Date today, LocalDate(clock_.NowMs(), o.windows.time_zone));
    RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(auto due, c.Execute("SELECT id FROM payments WHERE originator_id = ? AND "
                                           "status = 'submitted' AND effective_date < ? ORDER BY "
                                           "id",
                                           {o.id, FormatDate(today)}));
      for (const auto& row : due.rows) {
        ASSIGN_OR_RETURN(Payment p, PaymentService::Load(c, row.Int(0)));
        RETURN_IF_ERROR(payments_.Transition(c, a, p, "settled", "effective date passed"));
        ++settled;
      }
      return Status::Ok();
    }));
  }
  return settled;
}

void FileService::Start(int poll_ms) {
  std::lock_guard<std::mutex> l(mu_);
  if (loop_.joinable()) return;
  stop_ = false;
  loop_ = std::thread([this, poll_ms] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      kicked_ = false;
      lock.unlock();
      DeliverDue();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(poll_ms), [&] { return stop_ || kicked_; });
    }
  });
}

void FileService::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
}

void FileService::Kick() {
  {
    std::lock_guard<std::mutex> l(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

}  // namespace kontor::payments
