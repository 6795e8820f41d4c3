#include "payments/payments.h"

#include "clients/changes.h"
#include "core/crypto.h"
#include "payments/rules.h"
#include "payments/schedule.h"

namespace kontor::payments {
namespace {

constexpr const char* kPaymentColumns =
    "id, originator_id, counterparty_id, template_id, upload_id, upload_row, idempotency_key, "
    "direction, amount_cents, sec_code, prenote, entry_description, addenda, payment_type_code, "
    "same_day, requested_effective_date, effective_date, window_kind, window_at, schedule_note, "
    "receiver_name, receiver_id, routing_number, account_number, account_type, status, "
    "status_reason, return_code, file_id, created_by, version, created_at, updated_at";
constexpr size_t kMaxAddenda = 9999 * 80;
constexpr int kPrenoteWaitBankingDays = 3;  // Nacha: live entries from the 3rd banking day

Payment RowToPayment(const store::Row& r) {
  Payment p;
  p.id = r.Int(0);
  p.originator_id = r.Int(1);
  p.counterparty_id = r.Int(2);
  p.template_id = r.OptInt(3);
  p.upload_id = r.OptInt(4);
  p.upload_row = r.OptInt(5);
  p.idempotency_key = r.Str(6);
  p.direction = r.Str(7);
  p.amount_cents = r.Int(8);
  p.sec_code = r.Str(9);
  p.prenote = r.Int(10) != 0;
  p.entry_description = r.Str(11);
  p.addenda = r.OptStr(12);
  p.payment_type_code = r.OptStr(13);
  p.same_day = r.Int(14) != 0;
  p.requested_effective_date = r.OptStr(15);
  p.effective_date = r.Str(16);
  p.window_kind = r.Str(17);
  p.window_at = r.Int(18);
  p.schedule_note = r.OptStr(19);
  p.receiver_name = r.Str(20);
  p.receiver_id = r.Str(21);
  p.routing_number = r.Str(22);
  p.account_number = r.Str(23);
  p.account_type = r.Str(24);
  p.status = r.Str(25);
  p.status_reason = r.OptStr(26);
  p.return_code = r.OptStr(27);
  p.file_id = r.OptInt(28);
  p.created_by = r.Str(29);
  p.version = r.Int(30);
  p.created_at = r.Int(31);
  p.updated_at = r.Int(32);
  return p;
}

json::value IdOrNull(const std::optional<int64_t>& v) {
  return v ? json::value(std::to_string(*v)) : json::value(nullptr);
}

struct Input {
  std::optional<int64_t> originator_id, counterparty_id;
  std::string direction, sec_code;
  std::optional<int64_t> amount_cents;
  bool prenote = false, same_day = false;
  std::optional<std::string> effective_date, entry_description, addenda, payment_type_code;
  std::optional<std::string> individual_id;  // overrides the counterparty's receiver id
  std::optional<std::string> idempotency_key;
};

Result<Input> ParseInput(const json::object& body) {
  JsonReader r(body);
  Input in;
  in.originator_id = r.Id("originator_id", true);
  in.counterparty_id = r.Id("counterparty_id", true);
  in.direction = r.String("direction", true, 20, 0).value_or("");
  in.sec_code = r.String("sec_code", true, 3, 0).value_or("");
  in.prenote = r.Bool("prenote", false).value_or(false);
  in.amount_cents = r.Int("amount_cents", !in.prenote, 0, INT64_MAX / 2);
  in.same_day = r.Bool("same_day", false).value_or(false);
  in.effective_date = r.String("effective_date", false, 10, 0);
  in.entry_description = r.String("entry_description", false, 10, 0);
  in.addenda = r.String("addenda", false, kMaxAddenda, 0);
  in.payment_type_code = r.String("payment_type_code", false, 1, 0);
  in.individual_id = r.String("individual_id", false, 15, 0);
  in.idempotency_key = r.String("idempotency_key", false, 255, 1);
  RETURN_IF_ERROR(r.Finish());
  return in;
}

}  // namespace

json::object PaymentToJson(const Payment& p, bool detail) {
  json::object o{{"id", std::to_string(p.id)},
                 {"originator_id", std::to_string(p.originator_id)},
                 {"counterparty_id", std::to_string(p.counterparty_id)},
                 {"template_id", IdOrNull(p.template_id)},
                 {"upload_id", IdOrNull(p.upload_id)},
                 {"upload_row", p.upload_row ? json::value(*p.upload_row) : nullptr},
                 {"idempotency_key", p.idempotency_key},
                 {"direction", p.direction},
                 {"amount_cents", p.amount_cents},
                 {"sec_code", p.sec_code},
                 {"prenote", p.prenote},
                 {"entry_description", p.entry_description},
                 {"addenda", NullOr(p.addenda)},
                 {"payment_type_code", NullOr(p.payment_type_code)},
                 {"same_day", p.same_day},
                 {"requested_effective_date", NullOr(p.requested_effective_date)},
                 {"effective_date", p.effective_date},
                 {"window", p.window_kind},
                 {"window_at", FormatRfc3339(p.window_at)},
                 {"schedule_note", NullOr(p.schedule_note)},
                 {"receiver_name", p.receiver_name},
                 {"receiver_id", p.receiver_id},
                 {"routing_number", p.routing_number},
                 {"account_number", MaskAccount(p.account_number)},
                 {"account_type", p.account_type},
                 {"status", p.status},
                 {"status_reason", NullOr(p.status_reason)},
                 {"return_code", NullOr(p.return_code)},
                 {"file_id", IdOrNull(p.file_id)},
                 {"created_by", p.created_by},
                 {"version", p.version},
                 {"created_at", FormatRfc3339(p.created_at)},
                 {"updated_at", FormatRfc3339(p.updated_at)}};
  if (detail) {
    json::array entries;
    for (const auto& e : p.entries) {
      entries.push_back({{"part", e.part},
                         {"amount_cents", e.amount_cents},
                         {"file_id", IdOrNull(e.file_id)},
                         {"trace_number", NullOr(e.trace_number)}});
    }
    o["entries"] = std::move(entries);
  }
  return o;
}

PaymentService::PaymentService(store::Database& db, const Clock& clock, Registry& registry,
                               PaymentOptions options)
    : db_(db), clock_(clock), registry_(registry), options_(options) {}

Result<Payment> PaymentService::Load(store::Connection& c, int64_t id) {
  ASSIGN_OR_RETURN(
      auto row,
      c.QueryRow(std::string("SELECT ") + kPaymentColumns + " FROM payments WHERE id = ?", {id}));
  if (!row) return Status::NotFound("no payment " + std::to_string(id));
  Payment p = RowToPayment(*row);
  ASSIGN_OR_RETURN(auto entries, c.Execute("SELECT id, part, amount_cents, file_id, trace_number "
                                           "FROM payment_entries WHERE payment_id = ? ORDER BY "
                                           "part",
                                           {id}));
  for (const auto& r : entries.rows) {
    p.entries.push_back({r.Int(0), static_cast<int>(r.Int(1)), r.Int(2), r.OptInt(3), r.OptStr(4)});
  }
  return p;
}

Status PaymentService::Transition(store::Connection& c, const audit::Actor& a, Payment& p,
                                  const std::string& status,
                                  const std::optional<std::string>& reason) {
  const std::string before = p.status;
  const int64_t now = a.now_ms ? a.now_ms : clock_.NowMs();
  ASSIGN_OR_RETURN(auto res,
                   c.Execute("UPDATE payments SET status = ?, status_reason = ?, return_code = ?, "
                             "file_id = ?, version = version + 1, updated_at = ? WHERE id = ? AND "
                             "version = ?",
                             {status, reason, p.return_code, p.file_id, now, p.id, p.version}));
  if (res.affected != 1)
    return Status::Unavailable("payment " + std::to_string(p.id) + " changed meanwhile");
  p.status = status;
  p.status_reason = reason;
  ++p.version;
  p.updated_at = now;
  RETURN_IF_ERROR(c.Execute("INSERT INTO payment_events (payment_id, status, reason, actor, at) "
                            "VALUES (?, ?, ?, ?, ?)",
                            {p.id, status, reason, a.label.empty() ? a.type : a.label, now})
                      .status());
  json::object data = PaymentToJson(p);
  data["previous_status"] = before;
  RETURN_IF_ERROR(clients::RecordChange(
      c, now, {"payment", std::to_string(p.id), "update", p.version, data, std::nullopt}));
  return audit::Record(c, a,
                       {"payment." + status, "payment", std::to_string(p.id),
                        json::value(json::object{{"status", before}}),
                        json::value(json::object{{"status", status}, {"reason", NullOr(reason)}})});
}

Status PaymentService::Check(store::Connection& c, const json::object& body) {
  audit::Actor probe = audit::Actor::System("check", clock_.NowMs());
  return Make(c, probe, body, std::nullopt, std::nullopt, /*dry_run=*/true).status();
}

Result<CreateOutcome> PaymentService::CreateIn(store::Connection& c, const audit::Actor& a,
                                               const json::object& body,
                                               const std::optional<std::string>& header_key,
                                               std::optional<std::pair<int64_t, int64_t>> upload) {
  return Make(c, a, body, header_key, upload, /*dry_run=*/false);
}

Result<CreateOutcome> PaymentService::Make(store::Connection& c, const audit::Actor& a,
                                           const json::object& body,
                                           const std::optional<std::string>& header_key,
                                           std::optional<std::pair<int64_t, int64_t>> upload,
                                           bool dry_run) {
  ASSIGN_OR_RETURN(Input in, ParseInput(body));
  if (in.idempotency_key && header_key && *in.idempotency_key != *header_key) {
    return Status::Validation(
        {{"idempotency_key", "differs from the Idempotency-Key header; send one or the same"}});
  }
  std::string key = in.idempotency_key ? *in.idempotency_key : header_key.value_or("");
  if (key.empty() && !dry_run) {
    return Status::Validation(
        {{"idempotency_key", "is required (in the body or the Idempotency-Key header)"}});
  }
  if (dry_run && key.empty()) key = "check";

  auto originator = registry_.LoadOriginator(c, *in.originator_id);
  if (!originator.ok()) {
    if (originator.status().code() == StatusCode::kNotFound)
      return Status::Validation(
          {{"originator_id", "no originator " + std::to_string(*in.originator_id)}});
    return originator.status();
  }
  auto counterparty = registry_.LoadCounterparty(c, *in.counterparty_id);
  if (!counterparty.ok()) {
    if (counterparty.status().code() == StatusCode::kNotFound)
      return Status::Validation(
          {{"counterparty_id", "no counterparty " + std::to_string(*in.counterparty_id)}});
    return counterparty.status();
  }
  Originator& o = *originator;
  Counterparty& cp = *counterparty;

  json::object hashed = body;
  hashed.erase("idempotency_key");
  const std::string request_hash = Sha256Hex(json::serialize(hashed));
  if (!dry_run) {
    ASSIGN_OR_RETURN(auto existing,
                     c.QueryRow("SELECT id, request_hash FROM payments WHERE originator_id = ? AND "
                                "idempotency_key = ?",
                                {o.id, key}));
    if (existing) {
      if (existing->Str(1) != request_hash) {
        return Status::Conflict("idempotency key \"" + key +
                                "\" was used for a different payment (id " + existing->Str(0) +
                                ")");
      }
      ASSIGN_OR_RETURN(Payment p, Load(c, existing->Int(0)));
      return CreateOutcome{std::move(p), true};
    }
  }

  const int64_t now = clock_.NowMs();
  ASSIGN_OR_RETURN(Date today, LocalDate(now, o.windows.time_zone));
  PaymentDraft d;
  d.sec_code = in.sec_code;
  d.direction = in.direction;
  d.amount_cents = in.amount_cents.value_or(0);
  d.prenote = in.prenote;
  d.effective_date = in.effective_date;
  d.same_day = in.same_day;
  d.entry_description = in.entry_description.value_or(o.entry_description);
  d.addenda = in.addenda;
  d.payment_type_code = in.payment_type_code;
  d.idempotency_key = key;
  d.receiver_name = cp.name;
  d.receiver_id = in.individual_id.value_or(cp.receiver_id);
  d.receiver_kind = cp.kind;
  d.routing_number = cp.routing_number;
  d.account_number = cp.account_number;
  d.account_type = cp.account_type;
  d.counterparty_active = cp.status == "active";
  d.prenote_status = in.prenote ? "none" : cp.prenote_status;
  d.originator_active = o.status == "active";
  d.company_name = o.name;
  d.company_id = o.company_id;
  d.allowed_sec_codes = o.allowed_sec_codes;
  d.same_day_enabled = o.windows.same_day_cutoff.has_value();
  d.same_day_limit_cents = o.same_day_limit_cents;
  d.allow_same_day_split = o.allow_same_day_split;
  d.entry_max_cents = options_.entry_max_cents;

  // Nacha forbids splitting to get under the same-day limit unless the
  // originator's agreement allows it: such a payment goes next-day instead.
  std::string limit_note;
  if (d.same_day && d.same_day_enabled && d.amount_cents > d.same_day_limit_cents &&
      !d.allow_same_day_split) {
    d.same_day = false;
    limit_note = "over the same-day limit of " + std::to_string(d.same_day_limit_cents / 100) +
                 " USD per entry; sent in the next-day window";
  }
  RuleContext ctx{today, options_.max_days_ahead};
  std::vector<Violation> violations = CheckPayment(d, ctx);
  if (!violations.empty()) {
    std::vector<FieldError> fields;
    for (const auto& v : violations) fields.push_back({v.field, v.message + " [" + v.rule + "]"});
    return Status::Validation(
        std::move(fields), "the payment breaks " + std::to_string(violations.size()) + " rule(s)");
  }

  ScheduleRequest sr;
  sr.now_ms = now;
  sr.same_day = d.same_day;
  if (in.effective_date) {
    ASSIGN_OR_RETURN(Date e, ParseDate(*in.effective_date, "effective_date"));
    sr.effective_date = e;
  }
  bool held = false;
  std::optional<Payment> prenote;
  if (!in.prenote && (cp.prenote_status == "pending" || cp.prenote_status == "sent")) {
    held = true;
    if (!cp.prenote_payment_id && !dry_run) {
      // The account's first payment sends its prenote; live entries follow
      // once the prenote has had time to come back.
      json::object pb{{"originator_id", std::to_string(o.id)},
                      {"counterparty_id", std::to_string(cp.id)},
                      {"direction", in.direction},
                      {"sec_code", in.sec_code},
                      {"prenote", true},
                      {"amount_cents", 0}};
      if (in.payment_type_code) pb["payment_type_code"] = *in.payment_type_code;
      ASSIGN_OR_RETURN(CreateOutcome pre,
                       CreateIn(c, a, pb, "prenote-" + std::to_string(cp.id) + "-" + key));
      ASSIGN_OR_RETURN(Date pe, ParseDate(pre.payment.effective_date, "effective_date"));
      ASSIGN_OR_RETURN(cp, registry_.LoadCounterparty(c, cp.id));
      cp.prenote_payment_id = pre.payment.id;
      cp.prenote_settles_on = FormatDate(AddBankingDays(pe, kPrenoteWaitBankingDays));
      RETURN_IF_ERROR(registry_.SaveCounterparty(c, cp, now));
      prenote = pre.payment;
    }
    if (cp.prenote_settles_on) {
      ASSIGN_OR_RETURN(Date nb, ParseDate(*cp.prenote_settles_on, "prenote_settles_on"));
      sr.not_before = nb;
    }
  }
  ASSIGN_OR_RETURN(Schedule s, ComputeSchedule(o.windows, sr));
  std::string note = limit_note;
  if (!s.note.empty()) note = note.empty() ? s.note : note + "; " + s.note;

  const int64_t part_max = (s.same_day && d.amount_cents > d.same_day_limit_cents)
                               ? std::min(d.same_day_limit_cents, options_.entry_max_cents)
                               : options_.entry_max_cents;
  std::vector<int64_t> parts =
      in.prenote ? std::vector<int64_t>{0} : SplitAmount(d.amount_cents, part_max);
  if (dry_run) return CreateOutcome{};

  Payment p;
  p.originator_id = o.id;
  p.counterparty_id = cp.id;
  if (upload) {
    p.upload_id = upload->first;
    p.upload_row = upload->second;
  }
  p.idempotency_key = key;
  p.direction = in.direction;
  p.amount_cents = d.amount_cents;
  p.sec_code = in.sec_code;
  p.prenote = in.prenote;
  p.entry_description = d.entry_description;
  p.addenda = in.addenda;
  p.payment_type_code = in.payment_type_code;
  p.same_day = s.same_day;
  p.requested_effective_date = in.effective_date;
  p.effective_date = FormatDate(s.effective_date);
  p.window_kind = s.window_kind;
  p.window_at = s.window_at;
  if (!note.empty()) p.schedule_note = note;
  p.receiver_name = cp.name;
  p.receiver_id = d.receiver_id;
  p.routing_number = cp.routing_number;
  p.account_number = cp.account_number;
  p.account_type = cp.account_type;
  p.status = held ? "pending" : "scheduled";
  if (held) p.status_reason = "waiting for the counterparty's prenote to settle";
  p.created_by = a.label.empty() ? a.type : a.label;
  p.created_at = p.updated_at = now;
  auto ins = c.Execute(
      "INSERT INTO payments (originator_id, counterparty_id, template_id, upload_id, upload_row, "
      "idempotency_key, request_hash, direction, amount_cents, sec_code, prenote, "
      "entry_description, addenda, payment_type_code, same_day, requested_effective_date, "
      "effective_date, window_kind, window_at, schedule_note, receiver_name, receiver_id, "
      "routing_number, account_number, account_type, status, status_reason, created_by, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {p.originator_id,
       p.counterparty_id,
       p.template_id,
       p.upload_id,
       p.upload_row,
       p.idempotency_key,
       request_hash,
       p.direction,
       p.amount_cents,
       p.sec_code,
       p.prenote,
       p.entry_description,
       p.addenda,
       p.payment_type_code,
       p.same_day,
       p.requested_effective_date,
       p.effective_date,
       p.window_kind,
       p.window_at,
       p.schedule_note,
       p.receiver_name,
       p.receiver_id,
       p.routing_number,
       p.account_number,
       p.account_type,
       p.status,
       p.status_reason,
       p.created_by,
       now,
       now});
  if (!ins.ok()) {
    // Two requests with one key raced: the loser becomes a replay (the
    // transaction is retried by the caller and finds the winner's row).
    if (ins.status().code() == StatusCode::kConflict) {
      return Status::Unavailable("concurrent request with the same idempotency key");
    }
    return ins.status();
  }
  p.id = ins->rows.front().Int(0);
  for (size_t i = 0; i < parts.size(); ++i) {
    ASSIGN_OR_RETURN(auto e, c.Execute("INSERT INTO payment_entries (payment_id, part, "
                                       "amount_cents) VALUES (?, ?, ?) RETURNING id",
                                       {p.id, static_cast<int64_t>(i + 1), parts[i]}));
    p.entries.push_back({e.rows.front().Int(0), static_cast<int>(i + 1), parts[i], {}, {}});
  }
  const std::optional<std::string> reason = p.schedule_note ? p.schedule_note : p.status_reason;
  RETURN_IF_ERROR(c.Execute("INSERT INTO payment_events (payment_id, status, reason, actor, at) "
                            "VALUES (?, ?, ?, ?, ?)",
                            {p.id, p.status, reason, p.created_by, now})
                      .status());
  RETURN_IF_ERROR(clients::RecordChange(
      c, now,
      {"payment", std::to_string(p.id), "create", p.version, PaymentToJson(p), std::nullopt}));
  RETURN_IF_ERROR(audit::Record(c, a,
                                {"payment.create", "payment", std::to_string(p.id), std::nullopt,
                                 json::value(PaymentToJson(p, true))}));
  return CreateOutcome{std::move(p), false};
}

Result<CreateOutcome> PaymentService::Create(const audit::Actor& a, const json::object& body,
                                             const std::optional<std::string>& header_key) {
  CreateOutcome out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(out, CreateIn(c, a, body, header_key));
    return Status::Ok();
  }));
  return out;
}

Result<CreateOutcome> PaymentService::CreateFromTemplate(
    const audit::Actor& a, int64_t template_id, const json::object& body,
    const std::optional<std::string>& header_key) {
  ASSIGN_OR_RETURN(PaymentTemplate t, registry_.GetTemplate(template_id));
  json::object merged{{"originator_id", std::to_string(t.originator_id)},
                      {"counterparty_id", std::to_string(t.counterparty_id)},
                      {"direction", t.direction},
                      {"sec_code", t.sec_code},
                      {"same_day", t.same_day}};
  if (t.amount_cents) merged["amount_cents"] = *t.amount_cents;
  if (t.entry_description) merged["entry_description"] = *t.entry_description;
  if (t.addenda) merged["addenda"] = *t.addenda;
  if (t.payment_type_code) merged["payment_type_code"] = *t.payment_type_code;
  static const char* kOverridable[] = {"amount_cents",      "effective_date", "same_day",
                                       "entry_description", "addenda",        "individual_id",
                                       "idempotency_key"};
  for (const auto& [k, v] : body) {
    bool ok = false;
    for (const char* f : kOverridable) ok = ok || k == f;
    if (!ok) {
      return Status::Validation({{std::string(k),
                                  "is not a field a template use may set "
                                  "(amount_cents, effective_date, same_day, "
                                  "entry_description, addenda, individual_id, "
                                  "idempotency_key)"}});
    }
    merged[k] = v;
  }
  CreateOutcome out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(out, CreateIn(c, a, merged, header_key));
    if (!out.replayed && !out.payment.template_id) {
      RETURN_IF_ERROR(c.Execute("UPDATE payments SET template_id = ? WHERE id = ?",
                                {template_id, out.payment.id})
                          .status());
      out.payment.template_id = template_id;
    }
    return Status::Ok();
  }));
  return out;
}

Result<Payment> PaymentService::Get(int64_t id) {
  Payment p;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(p, Load(c, id));
    return Status::Ok();
  }));
  return p;
}

Result<json::array> PaymentService::Events(int64_t id) {
  ASSIGN_OR_RETURN(auto res, db_.Execute("SELECT status, reason, actor, at FROM payment_events "
                                         "WHERE payment_id = ? ORDER BY id",
                                         {id}));
  json::array out;
  for (const auto& r : res.rows) {
    out.push_back({{"status", r.Str(0)},
                   {"reason", NullOr(r.OptStr(1))},
                   {"actor", r.Str(2)},
                   {"at", FormatRfc3339(r.Int(3))}});
  }
  return out;
}

Result<Page<Payment>> PaymentService::List(const PaymentFilter& f) {
  std::string sql = std::string("SELECT ") + kPaymentColumns + " FROM payments WHERE 1 = 1";
  store::Params p;
  auto add = [&](const char* cond, store::Value v) {
    sql += cond;
    p.push_back(std::move(v));
  };
  if (f.status) add(" AND status = ?", *f.status);
  if (f.originator_id) add(" AND originator_id = ?", *f.originator_id);
  if (f.counterparty_id) add(" AND counterparty_id = ?", *f.counterparty_id);
  if (f.file_id) add(" AND file_id = ?", *f.file_id);
  if (f.upload_id) add(" AND upload_id = ?", *f.upload_id);
  if (f.effective_from) add(" AND effective_date >= ?", *f.effective_from);
  if (f.effective_to) add(" AND effective_date <= ?", *f.effective_to);
  if (f.before_id) add(" AND id < ?", *f.before_id);
  sql += " ORDER BY id DESC LIMIT ?";
  p.push_back(f.limit + 1);
  ASSIGN_OR_RETURN(auto res, db_.Execute(sql, p));
  std::vector<Payment> items;
  for (const auto& r : res.rows) items.push_back(RowToPayment(r));
  return MakePage(std::move(items), f.limit);
}

Result<Payment> PaymentService::Cancel(const audit::Actor& a, int64_t id,
                                       const std::string& reason) {
  Payment out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Payment p, Load(c, id));
    if (p.status != "pending" && p.status != "scheduled") {
      return Status::FailedPrecondition("payment " + std::to_string(id) + " is " + p.status +
                                        "; only pending or scheduled payments can be cancelled");
    }
    RETURN_IF_ERROR(Transition(c, a, p, "cancelled",
                               reason.empty()
                                   ? std::optional<std::string>("cancelled by " + a.label)
                                   : std::optional<std::string>(reason)));
    out = p;
    return Status::Ok();
  }));
  return out;
}

}  // namespace kontor::payments
