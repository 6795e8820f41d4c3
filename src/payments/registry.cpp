#include "payments/registry.h"

#include <algorithm>

#include "core/validation.h"
#include "payments/ach/routing.h"
#include "payments/delivery/pgp.h"
#include "payments/rules.h"

namespace kontor::payments {
namespace {

constexpr const char* kOriginatorColumns =
    "id, name, company_id, entry_description, odfi_routing, immediate_destination, "
    "immediate_destination_name, immediate_origin, immediate_origin_name, time_zone, "
    "same_day_cutoff, next_day_cutoff, same_day_limit_cents, allow_same_day_split, "
    "allowed_sec_codes, offset_routing, offset_account, offset_account_type, sftp_host, sftp_port, "
    "sftp_username, sftp_private_key, sftp_host_key_sha256, sftp_upload_dir, sftp_inbox_dir, "
    "pgp_public_key, pgp_fingerprint, status, version, created_at, updated_at";
constexpr const char* kCounterpartyColumns =
    "id, name, kind, receiver_id, email, routing_number, account_number, account_type, "
    "prenote_status, prenote_payment_id, prenote_settles_on, status, version, created_at, "
    "updated_at";
constexpr const char* kTemplateColumns =
    "id, name, originator_id, counterparty_id, direction, amount_cents, sec_code, "
    "entry_description, addenda, payment_type_code, same_day, version, created_at, updated_at";

const std::vector<std::string> kAccountTypes = {"checking", "savings", "general_ledger", "loan"};

Originator RowToOriginator(const store::Row& r) {
  Originator o;
  o.id = r.Int(0);
  o.name = r.Str(1);
  o.company_id = r.Str(2);
  o.entry_description = r.Str(3);
  o.odfi_routing = r.Str(4);
  o.immediate_destination = r.Str(5);
  o.immediate_destination_name = r.Str(6);
  o.immediate_origin = r.Str(7);
  o.immediate_origin_name = r.Str(8);
  o.windows.time_zone = r.Str(9);
  o.windows.same_day_cutoff = r.OptStr(10);
  o.windows.next_day_cutoff = r.Str(11);
  o.same_day_limit_cents = r.Int(12);
  o.allow_same_day_split = r.Int(13) != 0;
  o.allowed_sec_codes = ParseStringArray(r.Str(14));
  if (!r.IsNull(15)) o.offset = OffsetAccount{r.Str(15), r.Str(16), r.Str(17)};
  if (!r.IsNull(18)) {
    delivery::SftpProfile s;
    s.host = r.Str(18);
    s.port = static_cast<int>(r.Int(19));
    s.username = r.Str(20);
    s.private_key_pem = r.Str(21);
    s.host_key_sha256 = r.Str(22);
    s.upload_dir = r.Str(23);
    s.inbox_dir = r.Str(24);
    o.sftp = std::move(s);
  }
  o.pgp_public_key = r.OptStr(25);
  o.pgp_fingerprint = r.OptStr(26);
  o.status = r.Str(27);
  o.version = r.Int(28);
  o.created_at = r.Int(29);
  o.updated_at = r.Int(30);
  return o;
}

Counterparty RowToCounterparty(const store::Row& r) {
  Counterparty c;
  c.id = r.Int(0);
  c.name = r.Str(1);
  c.kind = r.Str(2);
  c.receiver_id = r.Str(3);
  c.email = r.OptStr(4);
  c.routing_number = r.Str(5);
  c.account_number = r.Str(6);
  c.account_type = r.Str(7);
  c.prenote_status = r.Str(8);
  c.prenote_payment_id = r.OptInt(9);
  c.prenote_settles_on = r.OptStr(10);
  c.status = r.Str(11);
  c.version = r.Int(12);
  c.created_at = r.Int(13);
  c.updated_at = r.Int(14);
  return c;
}

PaymentTemplate RowToTemplate(const store::Row& r) {
  PaymentTemplate t;
  t.id = r.Int(0);
  t.name = r.Str(1);
  t.originator_id = r.Int(2);
  t.counterparty_id = r.Int(3);
  t.direction = r.Str(4);
  t.amount_cents = r.OptInt(5);
  t.sec_code = r.Str(6);
  t.entry_description = r.OptStr(7);
  t.addenda = r.OptStr(8);
  t.payment_type_code = r.OptStr(9);
  t.same_day = r.Int(10) != 0;
  t.version = r.Int(11);
  t.created_at = r.Int(12);
  t.updated_at = r.Int(13);
  return t;
}

std::string ArrayJson(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return json::serialize(a);
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void CheckRouting(JsonReader& r, const std::string& field, const std::string& v) {
  if (!AllDigits(v) || v.size() != 9) {
    r.AddError(field, "must be a 9-digit routing number");
  } else if (!ach::ValidRoutingNumber(v)) {
    r.AddError(field, "check digit does not match (ABA weights 3-7-1)");
  }
}

void CheckText(JsonReader& r, const std::string& field, const std::string& v) {
  if (!IsNachaText(v)) r.AddError(field, "must hold printable ASCII characters only");
}

void CheckAccount(JsonReader& r, const std::string& field, const std::string& v) {
  if (v.empty() || v.size() > 17) {
    r.AddError(field, "must be 1-17 characters");
  } else if (!std::all_of(v.begin(), v.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      c == '-' || c == ' ';
             })) {
    r.AddError(field, "may hold digits, letters, '-' and spaces only");
  } else if (std::all_of(v.begin(), v.end(),
                         [](char c) { return c == '0' || c == ' ' || c == '-'; })) {
    r.AddError(field, "must not be all zeros");
  }
}

bool LooksLikeHostKey(const std::string& s) {
  // OpenSSH's "SHA256:" + 43 characters of unpadded base64.
  if (s.size() != 50 || s.rfind("SHA256:", 0) != 0) return false;
  return std::all_of(s.begin() + 7, s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

Status CheckVersion(int64_t current, std::optional<int64_t> if_match) {
  if (if_match && *if_match != current) {
    return Status::Conflict("version mismatch: the record is at version " +
                            std::to_string(current));
  }
  return Status::Ok();
}

}  // namespace

bool IsNachaText(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string MaskAccount(const std::string& account) {
  if (account.size() <= 4) return std::string("••••") + account;
  return "••••" + account.substr(account.size() - 4);
}

json::object OriginatorToJson(const Originator& o) {
  json::array secs;
  for (const auto& s : o.allowed_sec_codes) secs.emplace_back(s);
  json::object out{{"id", std::to_string(o.id)},
                   {"name", o.name},
                   {"company_id", o.company_id},
                   {"entry_description", o.entry_description},
                   {"odfi_routing", o.odfi_routing},
                   {"immediate_destination", o.immediate_destination},
                   {"immediate_destination_name", o.immediate_destination_name},
                   {"immediate_origin", o.immediate_origin},
                   {"immediate_origin_name", o.immediate_origin_name},
                   {"time_zone", o.windows.time_zone},
                   {"same_day_cutoff", NullOr(o.windows.same_day_cutoff)},
                   {"next_day_cutoff", o.windows.next_day_cutoff},
                   {"same_day_limit_cents", o.same_day_limit_cents},
                   {"allow_same_day_split", o.allow_same_day_split},
                   {"allowed_sec_codes", std::move(secs)},
                   {"offset", nullptr},
                   {"sftp", nullptr},
                   {"pgp_fingerprint", NullOr(o.pgp_fingerprint)},
                   {"status", o.status},
                   {"version", o.version},
                   {"created_at", FormatRfc3339(o.created_at)},
                   {"updated_at", FormatRfc3339(o.updated_at)}};
  if (o.offset) {
    out["offset"] = json::object{{"routing_number", o.offset->routing_number},
                                 {"account_number", MaskAccount(o.offset->account_number)},
                                 {"account_type", o.offset->account_type}};
  }
  if (o.sftp) {
    out["sftp"] = json::object{{"host", o.sftp->host},
                               {"port", o.sftp->port},
                               {"username", o.sftp->username},
                               {"host_key_sha256", o.sftp->host_key_sha256},
                               {"upload_dir", o.sftp->upload_dir},
                               {"inbox_dir", o.sftp->inbox_dir},
                               {"has_private_key", !o.sftp->private_key_pem.empty()}};
  }
  return out;
}

json::object CounterpartyToJson(const Counterparty& c, bool full) {
  return {{"id", std::to_string(c.id)},
          {"name", c.name},
          {"kind", c.kind},
          {"receiver_id", c.receiver_id},
          {"email", NullOr(c.email)},
          {"routing_number", c.routing_number},
          {"account_number", full ? c.account_number : MaskAccount(c.account_number)},
          {"account_type", c.account_type},
          {"prenote_status", c.prenote_status},
          {"prenote_payment_id",
           c.prenote_payment_id ? json::value(std::to_string(*c.prenote_payment_id)) : nullptr},
          {"prenote_settles_on", NullOr(c.prenote_settles_on)},
          {"status", c.status},
          {"version", c.version},
          {"created_at", FormatRfc3339(c.created_at)},
          {"updated_at", FormatRfc3339(c.updated_at)}};
}

json::object TemplateToJson(const PaymentTemplate& t) {
  return {{"id", std::to_string(t.id)},
          {"name", t.name},
          {"originator_id", std::to_string(t.originator_id)},
          {"counterparty_id", std::to_string(t.counterparty_id)},
          {"direction", t.direction},
          {"amount_cents", t.amount_cents ? json::value(*t.amount_cents) : nullptr},
          {"sec_code", t.sec_code},
          {"entry_description", NullOr(t.entry_description)},
          {"addenda", NullOr(t.addenda)},
          {"payment_type_code", NullOr(t.payment_type_code)},
          {"same_day", t.same_day},
          {"version", t.version},
          {"created_at", FormatRfc3339(t.created_at)},
          {"updated_at", FormatRfc3339(t.updated_at)}};
}

Registry::Registry(store::Database& db, const Clock& clock, int64_t default_same_day_limit_cents)
    : db_(db), clock_(clock), default_same_day_limit_(default_same_day_limit_cents) {}

// ---- originators ------------------------------------------------------------

Status Registry::ApplyOriginator(const json::object& body, bool create, Originator& o) {
  JsonReader r(body);
  auto str = [&](const char* key, std::string& target, size_t max, size_t min = 1) {
    if (auto v = r.String(key, create, max, min)) {
      target = *v;
      CheckText(r, key, target);
    }
  };
  str("name", o.name, 16);
  str("company_id", o.company_id, 10, 10);
  str("entry_description", o.entry_description, 10);
  if (auto v = r.String("odfi_routing", create, 9, 0)) {
    o.odfi_routing = *v;
    CheckRouting(r, "odfi_routing", o.odfi_routing);
  }
  if (auto v = r.String("immediate_destination", create, 9, 0)) {
    o.immediate_destination = *v;
    CheckRouting(r, "immediate_destination", o.immediate_destination);
  }
  str("immediate_destination_name", o.immediate_destination_name, 23);
  str("immediate_origin", o.immediate_origin, 10, 10);
  str("immediate_origin_name", o.immediate_origin_name, 23);
  if (auto v = r.String("time_zone", false, 64, 1)) o.windows.time_zone = *v;
  if (r.Has("same_day_cutoff")) {
    if (r.IsNull("same_day_cutoff")) {
      r.Raw("same_day_cutoff");
      o.windows.same_day_cutoff.reset();
    } else if (auto v = r.String("same_day_cutoff", false, 5, 5)) {
      o.windows.same_day_cutoff = *v;
    }
  }
  if (auto v = r.String("next_day_cutoff", false, 5, 5)) o.windows.next_day_cutoff = *v;
  if (auto v = r.Int("same_day_limit_cents", false, 1, 100000000000LL)) o.same_day_limit_cents = *v;
  if (auto v = r.Bool("allow_same_day_split", false)) o.allow_same_day_split = *v;
  if (const json::array* a = r.Array("allowed_sec_codes", false, 10)) {
    std::vector<std::string> codes;
    for (size_t i = 0; i < a->size(); ++i) {
      const auto& e = (*a)[i];
      std::string field = "allowed_sec_codes[" + std::to_string(i) + "]";
      if (!e.is_string()) {
        r.AddError(field, "must be a string");
        continue;
      }
      std::string code(e.get_string());
      if (std::find(std::begin(kOriginatedSecCodes), std::end(kOriginatedSecCodes), code) ==
          std::end(kOriginatedSecCodes)) {
        r.AddError(field, "must be one of PPD, CCD, CTX, WEB, TEL");
        continue;
      }
      if (std::find(codes.begin(), codes.end(), code) == codes.end()) codes.push_back(code);
    }
    if (a->empty()) r.AddError("allowed_sec_codes", "must name at least one SEC code");
    o.allowed_sec_codes = std::move(codes);
  }
  if (r.Has("offset")) {
    if (r.IsNull("offset")) {
      r.Raw("offset");
      o.offset.reset();
    } else if (const json::object* off = r.Object("offset", false)) {
      JsonReader orr(*off, "offset.");
      OffsetAccount acc;
      acc.routing_number = orr.String("routing_number", true, 9).value_or("");
      acc.account_number = orr.String("account_number", true, 17).value_or("");
      acc.account_type = orr.Enum("account_type", false, {"checking", "savings", "general_ledger"})
                             .value_or("checking");
      CheckRouting(orr, "routing_number", acc.routing_number);
      CheckAccount(orr, "account_number", acc.account_number);
      Status st = orr.Finish();
      if (!st.ok()) {
        for (const auto& f : st.fields()) r.AddError(f.field, f.message);
      } else {
        o.offset = acc;
      }
    }
  }
  if (r.Has("sftp")) {
    if (r.IsNull("sftp")) {
      r.Raw("sftp");
      o.sftp.reset();
    } else if (const json::object* s = r.Object("sftp", false)) {
      JsonReader sr(*s, "sftp.");
      delivery::SftpProfile cur;
      cur.upload_dir = ".";
      if (o.sftp) cur = *o.sftp;
      const bool fresh = !o.sftp.has_value();
      if (auto v = sr.String("host", fresh, 253, 1)) cur.host = *v;
      if (auto v = sr.Int("port", false, 1, 65535)) cur.port = static_cast<int>(*v);
      if (auto v = sr.String("username", fresh, 64, 1)) cur.username = *v;
      if (auto v = sr.String("private_key", fresh, 16384, 1)) {
        cur.private_key_pem = *v;
        if (cur.private_key_pem.find("-----BEGIN ") == std::string::npos ||
            cur.private_key_pem.find("PRIVATE KEY-----") == std::string::npos) {
          sr.AddError("private_key", "must be a PEM or OpenSSH private key without passphrase");
        }
      }
      if (auto v = sr.String("host_key_sha256", fresh, 64, 1)) {
        cur.host_key_sha256 = *v;
        if (!LooksLikeHostKey(cur.host_key_sha256)) {
          sr.AddError("host_key_sha256",
                      "must be the server key's fingerprint as OpenSSH prints it: SHA256:…");
        }
      }
      if (auto v = sr.String("upload_dir", false, 512, 1)) cur.upload_dir = *v;
      if (auto v = sr.String("inbox_dir", false, 512, 0)) cur.inbox_dir = *v;
      Status st = sr.Finish();
      if (!st.ok()) {
        for (const auto& f : st.fields()) r.AddError(f.field, f.message);
      } else {
        o.sftp = cur;
      }
    }
  }
  if (r.Has("pgp_public_key")) {
    if (r.IsNull("pgp_public_key")) {
      r.Raw("pgp_public_key");
      o.pgp_public_key.reset();
      o.pgp_fingerprint.reset();
    } else if (auto v = r.String("pgp_public_key", false, 65536, 1)) {
      auto fp = delivery::PgpFingerprint(*v);
      if (!fp.ok()) {
        r.AddError("pgp_public_key", fp.status().fields().empty()
                                         ? fp.status().message()
                                         : fp.status().fields().front().message);
      } else {
        o.pgp_public_key = *v;
        o.pgp_fingerprint = *fp;
      }
    }
  }
  if (auto v = r.Enum("status", false, {"active", "disabled"})) o.status = *v;
  RETURN_IF_ERROR(r.Finish());
  return ValidateWindows(o.windows);
}

Status Registry::StoreOriginator(store::Connection& c, Originator& o, bool create) {
  const int64_t now = clock_.NowMs();
  o.updated_at = now;
  store::Params p = {o.name,
                     o.company_id,
                     o.entry_description,
                     o.odfi_routing,
                     o.immediate_destination,
                     o.immediate_destination_name,
                     o.immediate_origin,
                     o.immediate_origin_name,
                     o.windows.time_zone,
                     o.windows.same_day_cutoff,
                     o.windows.next_day_cutoff,
                     o.same_day_limit_cents,
                     o.allow_same_day_split,
                     ArrayJson(o.allowed_sec_codes),
                     o.offset ? store::Value(o.offset->routing_number) : store::Value(),
                     o.offset ? store::Value(o.offset->account_number) : store::Value(),
                     o.offset ? store::Value(o.offset->account_type) : store::Value(),
                     o.sftp ? store::Value(o.sftp->host) : store::Value(),
                     o.sftp ? store::Value(o.sftp->port) : store::Value(),
                     o.sftp ? store::Value(o.sftp->username) : store::Value(),
                     o.sftp ? store::Value(o.sftp->private_key_pem) : store::Value(),
                     o.sftp ? store::Value(o.sftp->host_key_sha256) : store::Value(),
                     o.sftp ? store::Value(o.sftp->upload_dir) : store::Value(),
                     o.sftp ? store::Value(o.sftp->inbox_dir) : store::Value(),
                     o.pgp_public_key,
                     o.pgp_fingerprint,
                     o.status};
  if (create) {
    o.created_at = now;
    o.version = 1;
    p.push_back(now);
    p.push_back(now);
    ASSIGN_OR_RETURN(
        auto res,
        c.Execute("INSERT INTO payment_originators (name, company_id, entry_description, "
                  "odfi_routing, immediate_destination, immediate_destination_name, "
                  "immediate_origin, immediate_origin_name, time_zone, same_day_cutoff, "
                  "next_day_cutoff, same_day_limit_cents, allow_same_day_split, "
                  "allowed_sec_codes, offset_routing, offset_account, offset_account_type, "
                  "sftp_host, sftp_port, sftp_username, sftp_private_key, sftp_host_key_sha256, "
                  "sftp_upload_dir, sftp_inbox_dir, pgp_public_key, pgp_fingerprint, status, "
                  "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                  p));
    o.id = res.rows.front().Int(0);
    return Status::Ok();
  }
  p.push_back(now);
  p.push_back(o.id);
  p.push_back(o.version);
  ASSIGN_OR_RETURN(
      auto res,
      c.Execute("UPDATE payment_originators SET name = ?, company_id = ?, entry_description = ?, "
                "odfi_routing = ?, immediate_destination = ?, immediate_destination_name = ?, "
                "immediate_origin = ?, immediate_origin_name = ?, time_zone = ?, "
                "same_day_cutoff = ?, next_day_cutoff = ?, same_day_limit_cents = ?, "
                "allow_same_day_split = ?, allowed_sec_codes = ?, offset_routing = ?, "
                "offset_account = ?, offset_account_type = ?, sftp_host = ?, sftp_port = ?, "
                "sftp_username = ?, sftp_private_key = ?, sftp_host_key_sha256 = ?, "
                "sftp_upload_dir = ?, sftp_inbox_dir = ?, pgp_public_key = ?, "
                "pgp_fingerprint = ?, status = ?, updated_at = ?, version = version + 1 "
                "WHERE id = ? AND version = ?",
                p));
  if (res.affected != 1) return Status::Conflict("the originator changed meanwhile; retry");
  ++o.version;
  return Status::Ok();
}

Result<Originator> Registry::CreateOriginator(const audit::Actor& a, const json::object& body) {
  Originator o;
  o.windows.time_zone = "America/New_York";
  o.windows.same_day_cutoff = "14:00";
  o.windows.next_day_cutoff = "20:00";
  o.same_day_limit_cents = default_same_day_limit_;
  o.allowed_sec_codes.assign(std::begin(kOriginatedSecCodes), std::end(kOriginatedSecCodes));
  RETURN_IF_ERROR(ApplyOriginator(body, true, o));
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(StoreOriginator(c, o, true));
    return audit::Record(c, a,
                         {"originator.create", "originator", std::to_string(o.id), std::nullopt,
                          json::value(OriginatorToJson(o))});
  }));
  return o;
}

Result<Originator> Registry::UpdateOriginator(const audit::Actor& a, int64_t id,
                                              const json::object& body,
                                              std::optional<int64_t> if_match) {
  Originator out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Originator o, LoadOriginator(c, id));
    RETURN_IF_ERROR(CheckVersion(o.version, if_match));
    json::value before = OriginatorToJson(o);
    RETURN_IF_ERROR(ApplyOriginator(body, false, o));
    RETURN_IF_ERROR(StoreOriginator(c, o, false));
    RETURN_IF_ERROR(audit::Record(c, a,
                                  {"originator.update", "originator", std::to_string(id), before,
                                   json::value(OriginatorToJson(o))}));
    out = o;
    return Status::Ok();
  }));
  return out;
}

Result<Originator> Registry::LoadOriginator(store::Connection& c, int64_t id) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kOriginatorColumns +
                                            " FROM payment_originators WHERE id = ?",
                                        {id}));
  if (!row) return Status::NotFound("no originator " + std::to_string(id));
  return RowToOriginator(*row);
}

Result<Originator> Registry::GetOriginator(int64_t id) {
  Originator o;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(o, LoadOriginator(c, id));
    return Status::Ok();
  }));
  return o;
}

Result<Page<Originator>> Registry::ListOriginators(std::optional<int64_t> after, int limit) {
  ASSIGN_OR_RETURN(auto res, db_.Execute(std::string("SELECT ") + kOriginatorColumns +
                                             " FROM payment_originators WHERE id > ? "
                                             "ORDER BY id LIMIT ?",
                                         {after.value_or(0), limit + 1}));
  std::vector<Originator> items;
  for (const auto& r : res.rows) items.push_back(RowToOriginator(r));
  return MakePage(std::move(items), limit);
}

// ---- counterparties ---------------------------------------------------------

Status Registry::ApplyCounterparty(const json::object& body, bool create, Counterparty& cp) {
  JsonReader r(body);
  if (auto v = r.String("name", create, 22, 1)) {
    cp.name = *v;
    CheckText(r, "name", cp.name);
  }
  if (auto v = r.Enum("kind", false, {"individual", "company"})) cp.kind = *v;
  if (auto v = r.String("receiver_id", false, 15, 0)) {
    cp.receiver_id = *v;
    CheckText(r, "receiver_id", cp.receiver_id);
  }
  if (r.Has("email") && r.IsNull("email")) {
    r.Raw("email");
    cp.email.reset();
  } else if (auto v = r.String("email", false, 254, 1)) {
    if (!LooksLikeEmail(*v)) r.AddError("email", "must be an email address");
    cp.email = *v;
  }
  if (auto v = r.String("routing_number", create, 9, 0)) {
    cp.routing_number = *v;
    CheckRouting(r, "routing_number", cp.routing_number);
  }
  if (auto v = r.String("account_number", create, 17, 0)) {
    cp.account_number = *v;
    CheckAccount(r, "account_number", cp.account_number);
  }
  if (auto v = r.Enum("account_type", false, kAccountTypes)) cp.account_type = *v;
  if (auto v = r.Bool("prenote", false)) {
    // Asking for a prenote (again) re-verifies the account; turning it off
    // releases held payments at once (the operator takes the risk).
    if (*v && (create || cp.prenote_status == "none" || cp.prenote_status == "failed")) {
      cp.prenote_status = "pending";
    } else if (!*v) {
      cp.prenote_status = "none";
      cp.prenote_settles_on.reset();
    }
  }
  if (auto v = r.Enum("status", false, {"active", "disabled"})) cp.status = *v;
  return r.Finish();
}

Status Registry::StoreCounterparty(store::Connection& c, Counterparty& cp, bool create) {
  const int64_t now = clock_.NowMs();
  cp.updated_at = now;
  store::Params p = {cp.name,
                     cp.kind,
                     cp.receiver_id,
                     cp.email,
                     cp.routing_number,
                     cp.account_number,
                     cp.account_type,
                     cp.prenote_status,
                     cp.prenote_payment_id,
                     cp.prenote_settles_on,
                     cp.status};
  if (create) {
    cp.created_at = now;
    cp.version = 1;
    p.push_back(now);
    p.push_back(now);
    ASSIGN_OR_RETURN(
        auto res,
        c.Execute("INSERT INTO payment_counterparties (name, kind, receiver_id, email, "
                  "routing_number, account_number, account_type, prenote_status, "
                  "prenote_payment_id, prenote_settles_on, status, created_at, updated_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                  p));
    cp.id = res.rows.front().Int(0);
    return Status::Ok();
  }
  p.push_back(now);
  p.push_back(cp.id);
  p.push_back(cp.version);
  ASSIGN_OR_RETURN(
      auto res,
      c.Execute("UPDATE payment_counterparties SET name = ?, kind = ?, receiver_id = ?, "
                "email = ?, routing_number = ?, account_number = ?, account_type = ?, "
                "prenote_status = ?, prenote_payment_id = ?, prenote_settles_on = ?, "
                "status = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?",
                p));
  if (res.affected != 1) return Status::Conflict("the counterparty changed meanwhile; retry");
  ++cp.version;
  return Status::Ok();
}

Status Registry::SaveCounterparty(store::Connection& c, Counterparty& cp, int64_t) {
  return StoreCounterparty(c, cp, false);
}

Result<Counterparty> Registry::CreateCounterparty(const audit::Actor& a, const json::object& body) {
  Counterparty cp;
  RETURN_IF_ERROR(ApplyCounterparty(body, true, cp));
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(StoreCounterparty(c, cp, true));
    return audit::Record(c, a,
                         {"counterparty.create", "counterparty", std::to_string(cp.id),
                          std::nullopt, json::value(CounterpartyToJson(cp))});
  }));
  return cp;
}

Result<Counterparty> Registry::UpdateCounterparty(const audit::Actor& a, int64_t id,
                                                  const json::object& body,
                                                  std::optional<int64_t> if_match) {
  Counterparty out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Counterparty cp, LoadCounterparty(c, id));
    RETURN_IF_ERROR(CheckVersion(cp.version, if_match));
    json::value before = CounterpartyToJson(cp);
    const std::string old_account = cp.routing_number + "/" + cp.account_number;
    RETURN_IF_ERROR(ApplyCounterparty(body, false, cp));
    // A new account must be verified again when the counterparty uses prenotes.
    if (cp.routing_number + "/" + cp.account_number != old_account && cp.prenote_status != "none") {
      cp.prenote_status = "pending";
      cp.prenote_settles_on.reset();
    }
    RETURN_IF_ERROR(StoreCounterparty(c, cp, false));
    RETURN_IF_ERROR(audit::Record(c, a,
                                  {"counterparty.update", "counterparty", std::to_string(id),
                                   before, json::value(CounterpartyToJson(cp))}));
    out = cp;
    return Status::Ok();
  }));
  return out;
}

Result<Counterparty> Registry::LoadCounterparty(store::Connection& c, int64_t id) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kCounterpartyColumns +
                                            " FROM payment_counterparties WHERE id = ?",
                                        {id}));
  if (!row) return Status::NotFound("no counterparty " + std::to_string(id));
  return RowToCounterparty(*row);
}

Result<Counterparty> Registry::GetCounterparty(int64_t id) {
  Counterparty cp;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(cp, LoadCounterparty(c, id));
    return Status::Ok();
  }));
  return cp;
}

Result<Page<Counterparty>> Registry::ListCounterparties(const std::optional<std::string>& q,
                                                        std::optional<int64_t> after, int limit) {
  std::string sql =
      std::string("SELECT ") + kCounterpartyColumns + " FROM payment_counterparties WHERE id > ?";
  store::Params p = {after.value_or(0)};
  if (q && !q->empty()) {
    std::string like = "%";
    for (char ch : *q) {
      if (ch == '%' || ch == '_' || ch == '\\') like += '\\';
      like += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    like += "%";
    sql += " AND (LOWER(name) LIKE ? ESCAPE '\\' OR account_number LIKE ? ESCAPE '\\')";
    p.push_back(like);
    p.push_back(like);
  }
  sql += " ORDER BY id LIMIT ?";
  p.push_back(limit + 1);
  ASSIGN_OR_RETURN(auto res, db_.Execute(sql, p));
  std::vector<Counterparty> items;
  for (const auto& r : res.rows) items.push_back(RowToCounterparty(r));
  return MakePage(std::move(items), limit);
}

// ---- templates --------------------------------------------------------------

Status Registry::ApplyTemplate(store::Connection& c, const json::object& body, bool create,
                               PaymentTemplate& t) {
  JsonReader r(body);
  if (auto v = r.String("name", create, 100, 1)) t.name = *v;
  auto id_field = [&](const char* key, int64_t& target, const char* table, const char* what) {
    if (auto id = r.Id(key, create)) {
      auto row = c.QueryRow(std::string("SELECT 1 FROM ") + table + " WHERE id = ?", {*id});
      if (!row.ok() || !*row) {
        r.AddError(key, std::string("no ") + what + " " + std::to_string(*id));
        return;
      }
      target = *id;
    }
  };
  id_field("originator_id", t.originator_id, "payment_originators", "originator");
  id_field("counterparty_id", t.counterparty_id, "payment_counterparties", "counterparty");
  if (auto v = r.Enum("direction", create, {"credit", "debit"})) t.direction = *v;
  if (r.Has("amount_cents") && r.IsNull("amount_cents")) {
    r.Raw("amount_cents");
    t.amount_cents.reset();
  } else if (auto v = r.Int("amount_cents", false, 1, 999999999999LL)) {
    t.amount_cents = *v;
  }
  if (auto v = r.Enum("sec_code", create, {"PPD", "CCD", "CTX", "WEB", "TEL"})) t.sec_code = *v;
  auto opt = [&](const char* key, std::optional<std::string>& target, size_t max) {
    if (r.Has(key) && r.IsNull(key)) {
      r.Raw(key);
      target.reset();
    } else if (auto v = r.String(key, false, max, 1)) {
      target = *v;
    }
  };
  opt("entry_description", t.entry_description, 10);
  opt("addenda", t.addenda, 80);
  opt("payment_type_code", t.payment_type_code, 1);
  if (auto v = r.Bool("same_day", false)) t.same_day = *v;
  return r.Finish();
}

Status Registry::StoreTemplate(store::Connection& c, PaymentTemplate& t, bool create) {
  const int64_t now = clock_.NowMs();
  t.updated_at = now;
  store::Params p = {
      t.name,     t.originator_id,     t.counterparty_id, t.direction,         t.amount_cents,
      t.sec_code, t.entry_description, t.addenda,         t.payment_type_code, t.same_day};
  if (create) {
    t.created_at = now;
    p.push_back(now);
    p.push_back(now);
    ASSIGN_OR_RETURN(auto res,
                     c.Execute("INSERT INTO payment_templates (name, originator_id, "
                               "counterparty_id, direction, amount_cents, sec_code, "
                               "entry_description, addenda, payment_type_code, same_day, "
                               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                               "?) RETURNING id",
                               p));
    t.id = res.rows.front().Int(0);
    return Status::Ok();
  }
  p.push_back(now);
  p.push_back(t.id);
  p.push_back(t.version);
  ASSIGN_OR_RETURN(auto res,
                   c.Execute("UPDATE payment_templates SET name = ?, originator_id = ?, "
                             "counterparty_id = ?, direction = ?, amount_cents = ?, sec_code = ?, "
                             "entry_description = ?, addenda = ?, payment_type_code = ?, "
                             "same_day = ?, updated_at = ?, version = version + 1 WHERE id = ? "
                             "AND version = ?",
                             p));
  if (res.affected != 1) return Status::Conflict("the template changed meanwhile; retry");
  ++t.version;
  return Status::Ok();
}

Result<PaymentTemplate> Registry::CreateTemplate(const audit::Actor& a, const json::object& body) {
  PaymentTemplate t;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(ApplyTemplate(c, body, true, t));
    RETURN_IF_ERROR(StoreTemplate(c, t, true));
    return audit::Record(c, a,
                         {"payment_template.create", "payment_template", std::to_string(t.id),
                          std::nullopt, json::value(TemplateToJson(t))});
  }));
  return t;
}

Result<PaymentTemplate> Registry::UpdateTemplate(const audit::Actor& a, int64_t id,
                                                 const json::object& body,
                                                 std::optional<int64_t> if_match) {
  PaymentTemplate out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kTemplateColumns +
                                              " FROM payment_templates WHERE id = ?",
                                          {id}));
    if (!row) return Status::NotFound("no payment template " + std::to_string(id));
    PaymentTemplate t = RowToTemplate(*row);
    RETURN_IF_ERROR(CheckVersion(t.version, if_match));
    json::value before = TemplateToJson(t);
    RETURN_IF_ERROR(ApplyTemplate(c, body, false, t));
    RETURN_IF_ERROR(StoreTemplate(c, t, false));
    RETURN_IF_ERROR(audit::Record(c, a,
                                  {"payment_template.update", "payment_template",
                                   std::to_string(id), before, json::value(TemplateToJson(t))}));
    out = t;
    return Status::Ok();
  }));
  return out;
}

Result<PaymentTemplate> Registry::GetTemplate(int64_t id) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string("SELECT ") + kTemplateColumns +
                                              " FROM payment_templates WHERE id = ?",
                                          {id}));
  if (!row) return Status::NotFound("no payment template " + std::to_string(id));
  return RowToTemplate(*row);
}

Status Registry::DeleteTemplate(const audit::Actor& a, int64_t id) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kTemplateColumns +
                                              " FROM payment_templates WHERE id = ?",
                                          {id}));
    if (!row) return Status::NotFound("no payment template " + std::to_string(id));
    RETURN_IF_ERROR(c.Execute("DELETE FROM payment_templates WHERE id = ?", {id}).status());
    return audit::Record(c, a,
                         {"payment_template.delete", "payment_template", std::to_string(id),
                          json::value(TemplateToJson(RowToTemplate(*row))), std::nullopt});
  });
}

Result<Page<PaymentTemplate>> Registry::ListTemplates(std::optional<int64_t> after, int limit) {
  ASSIGN_OR_RETURN(auto res, db_.Execute(std::string("SELECT ") + kTemplateColumns +
                                             " FROM payment_templates WHERE id > ? ORDER BY id "
                                             "LIMIT ?",
                                         {after.value_or(0), limit + 1}));
  std::vector<PaymentTemplate> items;
  for (const auto& r : res.rows) items.push_back(RowToTemplate(r));
  return MakePage(std::move(items), limit);
}

}  // namespace kontor::payments
