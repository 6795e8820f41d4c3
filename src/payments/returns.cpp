#include "payments/returns.h"

#include "core/crypto.h"
#include "core/log.h"
#include "payments/ach/codes.h"
#include "payments/ach/reader.h"
#include "payments/delivery/sftp.h"

namespace kontor::payments {
namespace {

constexpr size_t kMaxInboxFile = 64 << 20;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

std::string AccountTypeOfCode(std::string_view tx) {
  if (tx.size() != 2) return "";
  switch (tx[0]) {
    case '2':
      return "checking";
    case '3':
      return "savings";
    case '4':
      return "general_ledger";
    case '5':
      return "loan";
  }
  return "";
}

// Applies a NOC's corrected data to the counterparty; returns what changed.
json::object ApplyCorrection(Counterparty& cp, const std::string& code, std::string_view data) {
  json::object changed;
  auto set = [&](const char* field, std::string& target, std::string value) {
    if (value.empty() || value == target) return;
    changed[field] = json::object{{"from", target}, {"to", value}};
    target = std::move(value);
  };
  if (code == "C01") {
    set("account_number", cp.account_number, Trim(data.substr(0, 17)));
  } else if (code == "C02") {
    set("routing_number", cp.routing_number, Trim(data.substr(0, 9)));
  } else if (code == "C03") {
    set("routing_number", cp.routing_number, Trim(data.substr(0, 9)));
    set("account_number", cp.account_number, Trim(data.substr(12, 17)));
  } else if (code == "C05") {
    set("account_type", cp.account_type, AccountTypeOfCode(data.substr(0, 2)));
  } else if (code == "C06") {
    set("account_number", cp.account_number, Trim(data.substr(0, 17)));
    set("account_type", cp.account_type, AccountTypeOfCode(data.substr(20, 2)));
  } else if (code == "C07") {
    set("routing_number", cp.routing_number, Trim(data.substr(0, 9)));
    set("account_number", cp.account_number, Trim(data.substr(9, 17)));
    set("account_type", cp.account_type, AccountTypeOfCode(data.substr(26, 2)));
  } else if (code == "C09") {
    set("receiver_id", cp.receiver_id, Trim(data.substr(0, 15)));
  }
  // C08 (IAT), C13/C14 (format) carry nothing to apply to an account.
  return changed;
}

}  // namespace

ReturnService::ReturnService(store::Database& db, const Clock& clock, Registry& registry,
                             PaymentService& payments)
    : db_(db), clock_(clock), registry_(registry), payments_(payments) {}

Result<InboxResult> ReturnService::Process(const audit::Actor& a, int64_t originator_id,
                                           const std::string& name, const std::string& content) {
  ach::ReadResult read = ach::Read(content);
  if (!read.ok()) {
    std::vector<FieldError> errs;
    for (size_t i = 0; i < read.errors.size() && i < 20; ++i) {
      errs.push_back({"file", read.errors[i].Message()});
    }
    return Status::Validation(std::move(errs), "the return file is not a valid NACHA file");
  }
  const std::string sha = Sha256Hex(content);
  InboxResult out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    out = InboxResult{};
    RETURN_IF_ERROR(registry_.LoadOriginator(c, originator_id).status());
    ASSIGN_OR_RETURN(auto seen, c.QueryRow("SELECT id, entries, matched FROM payment_inbox_files "
                                           "WHERE originator_id = ? AND name = ? AND sha256 = ?",
                                           {originator_id, name, sha}));
    if (seen) {
      out.inbox_file_id = seen->Int(0);
      out.already_processed = true;
      out.entries = seen->Int(1);
      out.matched = seen->Int(2);
      return Status::Ok();
    }
    const int64_t now = clock_.NowMs();
    ASSIGN_OR_RETURN(auto ins, c.Execute("INSERT INTO payment_inbox_files (originator_id, name, "
                                         "sha256, entries, matched, received_at) VALUES (?, ?, ?, "
                                         "0, 0, ?) RETURNING id",
                                         {originator_id, name, sha, now}));
    out.inbox_file_id = ins.rows.front().Int(0);
    for (const ach::Batch& b : read.file.batches) {
      for (const ach::Entry& e : b.entries) {
        for (const ach::Record& ad : e.addenda) {
          const std::string type(ad.Get("addendaTypeCode"));
          if (type != "99" && type != "98") continue;
          ++out.entries;
          const bool noc = type == "98";
          const std::string code = Trim(noc ? ad.Get("changeCode") : ad.Get("returnReasonCode"));
          const std::string trace(ad.Get("originalEntryTraceNumber"));
          const std::string corrected = noc ? std::string(ad.Get("correctedData")) : "";
          int64_t amount = 0;
          for (char ch : e.record.Get("amount")) amount = amount * 10 + (ch - '0');
          json::object item{{"kind", noc ? "noc" : "return"},
                            {"code", code},
                            {"trace", trace},
                            {"payment_id", nullptr},
                            {"applied", nullptr}};
          ASSIGN_OR_RETURN(auto match,
                           c.QueryRow("SELECT e.id, e.payment_id FROM payment_entries e JOIN "
                                      "payments p ON p.id = e.payment_id WHERE e.trace_number = ? "
                                      "AND p.originator_id = ? ORDER BY e.id DESC",
                                      {trace, originator_id}));
          std::optional<int64_t> entry_id, payment_id;
          json::object applied;
          if (match) {
            ++out.matched;
            entry_id = match->Int(0);
            payment_id = match->Int(1);
            item["payment_id"] = std::to_string(*payment_id);
            ASSIGN_OR_RETURN(Payment p, PaymentService::Load(c, *payment_id));
            ASSIGN_OR_RETURN(Counterparty cp, registry_.LoadCounterparty(c, p.counterparty_id));
            if (!noc) {
              const char* title = ach::ReturnCodeTitle(code);
              std::string reason = code + (title ? std::string(" ") + title : std::string());
              if (p.status != "returned") {
                p.return_code = code;
                RETURN_IF_ERROR(payments_.Transition(c, a, p, "returned", reason));
                applied["payment_status"] = "returned";
              }
              if (p.prenote && cp.prenote_status != "failed") {
                cp.prenote_status = "failed";
                RETURN_IF_ERROR(registry_.SaveCounterparty(c, cp, now));
                applied["prenote_status"] = "failed";
              }
            } else {
              json::value before = CounterpartyToJson(cp, true);
              json::object changed = ApplyCorrection(cp, code, corrected);
              if (p.prenote && cp.prenote_status != "failed") cp.prenote_status = "verified";
              if (!changed.empty()) {
                RETURN_IF_ERROR(registry_.SaveCounterparty(c, cp, now));
                RETURN_IF_ERROR(
                    audit::Record(c, a,
                                  {"counterparty.noc", "counterparty", std::to_string(cp.id),
                                   before, json::value(CounterpartyToJson(cp, true))}));
                // The account number itself stays out of the item (it is
                // listed to payment readers); the audit row has it.
                for (auto& [k, v] : changed) {
                  if (k == "account_number") v = "changed";
                }
                applied["counterparty"] = changed;
              }
            }
          }
          if (!applied.empty()) item["applied"] = applied;
          RETURN_IF_ERROR(
              c.Execute(
                   "INSERT INTO payment_returns (inbox_file_id, kind, code, original_trace, "
                   "payment_id, entry_id, corrected_data, applied, amount_cents, received_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   {out.inbox_file_id, noc ? "noc" : "return", code, trace, payment_id, entry_id,
                    noc ? std::optional<std::string>(Trim(corrected))
                        : std::optional<std::string>(),
                    applied.empty() ? std::optional<std::string>()
                                    : std::optional<std::string>(json::serialize(applied)),
                    amount, now})
                  .status());
          out.items.push_back(std::move(item));
        }
      }
    }
    RETURN_IF_ERROR(
        c.Execute("UPDATE payment_inbox_files SET entries = ?, matched = ? WHERE id = ?",
                  {out.entries, out.matched, out.inbox_file_id})
            .status());
    return audit::Record(c, a,
                         {"payment_returns.process", "payment_inbox_file",
                          std::to_string(out.inbox_file_id), std::nullopt,
                          json::value(json::object{{"name", name},
                                                   {"sha256", sha},
                                                   {"entries", out.entries},
                                                   {"matched", out.matched}})});
  }));
  return out;
}

Result<int> ReturnService::FetchAll(const audit::Actor& a) {
  ASSIGN_OR_RETURN(auto res, db_.Execute("SELECT id FROM payment_originators WHERE status = "
                                         "'active' AND sftp_host IS NOT NULL AND sftp_inbox_dir "
                                         "IS NOT NULL AND sftp_inbox_dir <> '' ORDER BY id"));
  int processed = 0;
  for (const auto& r : res.rows) {
    ASSIGN_OR_RETURN(Originator o, registry_.GetOriginator(r.Int(0)));
    auto client = delivery::SftpClient::Connect(*o.sftp);
    if (!client.ok()) {
      LogWarn("return inbox unreachable",
              {{"originator", o.id}, {"error", client.status().message()}});
      continue;
    }
    auto files = (*client)->List(o.sftp->inbox_dir);
    if (!files.ok()) {
      LogWarn("return inbox unreadable",
              {{"originator", o.id}, {"error", files.status().message()}});
      continue;
    }
    for (const auto& f : *files) {
      auto content = (*client)->Download(o.sftp->inbox_dir + "/" + f.name, kMaxInboxFile);
      if (!content.ok()) {
        LogWarn("return file unreadable",
                {{"file", f.name}, {"error", content.status().message()}});
        continue;
      }
      auto done = Process(a, o.id, f.name, *content);
      if (!done.ok()) {
        LogWarn("return file rejected", {{"file", f.name}, {"error", done.status().message()}});
        continue;
      }
      if (!done->already_processed) ++processed;
      // Out of the way, so the next fetch does not download it again; the
      // (name, SHA-256) record makes a second processing a no-op anyway.
      const std::string done_dir = o.sftp->inbox_dir + "/processed";
      Status moved = (*client)->MakeDir(done_dir);
      if (moved.ok()) {
        moved = (*client)->Rename(o.sftp->inbox_dir + "/" + f.name, done_dir + "/" + f.name);
      }
      if (!moved.ok()) {
        LogWarn("return file left in the inbox", {{"file", f.name}, {"error", moved.message()}});
      }
    }
  }
  return processed;
}

Result<json::array> ReturnService::List(std::optional<int64_t> payment_id,
                                        std::optional<int64_t> before, int limit,
                                        std::optional<int64_t>* next) {
  std::string sql =
      "SELECT r.id, r.kind, r.code, r.original_trace, r.payment_id, r.corrected_data, r.applied, "
      "r.amount_cents, r.received_at, f.name FROM payment_returns r JOIN payment_inbox_files f ON "
      "f.id = r.inbox_file_id WHERE 1 = 1";
  store::Params p;
  if (payment_id) {
    sql += " AND r.payment_id = ?";
    p.push_back(*payment_id);
  }
  if (before) {
    sql += " AND r.id < ?";
    p.push_back(*before);
  }
  sql += " ORDER BY r.id DESC LIMIT ?";
  p.push_back(limit + 1);
  ASSIGN_OR_RETURN(auto res, db_.Execute(sql, p));
  json::array out;
  next->reset();
  for (size_t i = 0; i < res.rows.size(); ++i) {
    const auto& r = res.rows[i];
    if (static_cast<int>(i) == limit) {
      *next = res.rows[i - 1].Int(0);
      break;
    }
    const char* title =
        r.Str(1) == "noc" ? ach::ChangeCodeTitle(r.Str(2)) : ach::ReturnCodeTitle(r.Str(2));
    json::value applied = nullptr;
    if (!r.IsNull(6)) {
      std::error_code ec;
      applied = json::parse(r.Str(6), ec);
    }
    out.push_back({{"id", std::to_string(r.Int(0))},
                   {"kind", r.Str(1)},
                   {"code", r.Str(2)},
                   {"reason", title ? title : ""},
                   {"original_trace", r.Str(3)},
                   {"payment_id", r.IsNull(4) ? json::value(nullptr) : json::value(r.Str(4))},
                   {"corrected_data", NullOr(r.OptStr(5))},
                   {"applied", applied},
                   {"amount_cents", r.Int(7)},
                   {"received_at", FormatRfc3339(r.Int(8))},
                   {"file", r.Str(9)}});
  }
  return out;
}

}  // namespace kontor::payments
