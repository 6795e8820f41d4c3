#include "clients/customers.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "clients/changes.h"
#include "core/clock.h"
#include "core/validation.h"
#include "jobs/cron.h"

namespace kontor::clients {
namespace {

constexpr const char* kColumns =
    "c.id, c.external_id, c.type, c.salutation, c.first_name, c.last_name, c.company_name, "
    "c.email, "
    "c.phone, c.language, c.country, c.time_zone, c.status, c.attributes, c.version, c.created_at, "
    "c.updated_at, c.erased_at";
constexpr size_t kMaxAttributesBytes = 16 * 1024;
constexpr size_t kMaxTags = 50;
const std::vector<std::string> kTypes = {"individual", "sole_proprietor", "company"};
const std::vector<std::string> kStatuses = {"active", "inactive"};
const std::vector<std::string> kChannels = {"email", "sms", "push"};

Customer RowToCustomer(const store::Row& r) {
  Customer c;
  c.id = r.Int(0);
  CustomerInput& d = c.data;
  d.external_id = r.Str(1);
  d.type = r.Str(2);
  d.salutation = r.OptStr(3);
  d.first_name = r.OptStr(4);
  d.last_name = r.OptStr(5);
  d.company_name = r.OptStr(6);
  d.email = r.OptStr(7);
  d.phone = r.OptStr(8);
  d.language = r.OptStr(9);
  d.country = r.OptStr(10);
  d.time_zone = r.OptStr(11);
  d.status = r.Str(12);
  auto attrs = ParseJsonObject(r.Str(13));
  if (attrs.ok()) d.attributes = std::move(attrs).value();
  c.version = r.Int(14);
  c.created_at = r.Int(15);
  c.updated_at = r.Int(16);
  c.erased_at = r.OptInt(17);
  return c;
}

// Scalar fields in one place, so parsing, storing and comparing agree.
struct ScalarField {
  const char* name;
  std::optional<std::string> CustomerInput::*member;
  size_t max_len;
};
const ScalarField kScalars[] = {
    {"salutation", &CustomerInput::salutation, 50},
    {"first_name", &CustomerInput::first_name, 200},
    {"last_name", &CustomerInput::last_name, 200},
    {"company_name", &CustomerInput::company_name, 300},
    {"email", &CustomerInput::email, 254},
    {"phone", &CustomerInput::phone, 16},
    {"language", &CustomerInput::language, 35},
    {"country", &CustomerInput::country, 2},
    {"time_zone", &CustomerInput::time_zone, 64},
};

}  // namespace

Status ValidateExternalId(const std::string& id, const std::string& field) {
  if (id.empty() || id.size() > 128)
    return Status::Validation({{field, "must be 1 to 128 characters"}});
  for (unsigned char ch : id) {
    if (!std::isalnum(ch) && !std::strchr("._:@-", ch)) {
      return Status::Validation({{field, "may contain letters, digits and . _ : @ - only"}});
    }
  }
  return Status::Ok();
}

json::object CustomerToJson(const Customer& c) {
  const CustomerInput& d = c.data;
  json::object o(24);  // every key below, without rehashing as it grows
  o["id"] = std::to_string(c.id);
  o["external_id"] = d.external_id;
  o["type"] = d.type;
  for (const auto& f : kScalars) o[f.name] = NullOr(d.*f.member);
  o["status"] = c.erased_at ? "erased" : d.status;
  o["attributes"] = d.attributes;
  json::array tags;
  for (const auto& t : d.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  json::object consent;
  for (const auto& [channel, k] : d.consent) {
    consent[channel] = {{"status", k.status}, {"source", k.source}, {"at", FormatRfc3339(k.at)}};
  }
  o["consent"] = std::move(consent);
  o["version"] = c.version;
  o["created_at"] = FormatRfc3339(c.created_at);
  o["updated_at"] = FormatRfc3339(c.updated_at);
  o["erased_at"] = TimeOrNull(c.erased_at);
  return o;
}

Result<CustomerInput> ParseCustomer(const json::object& body,
                                    std::optional<std::string> external_id, int64_t now_ms,
                                    const std::string& prefix) {
  JsonReader r(body, prefix);
  CustomerInput in;
  if (external_id) {
    // Given by the path; the body may repeat it but must agree.
    if (auto dup = r.String("external_id", false, 128); dup && *dup != *external_id) {
      r.AddError(r.FieldName("external_id"), "differs from the id in the path");
    }
    in.external_id = *external_id;
  } else if (auto id = r.String("external_id", true, 128, 1)) {
    Status st = ValidateExternalId(*id, r.FieldName("external_id"));
    if (!st.ok()) r.AddError(r.FieldName("external_id"), st.fields()[0].message);
    in.external_id = *id;
  }
  in.type = r.Enum("type", false, kTypes).value_or("individual");
  in.status = r.Enum("status", false, kStatuses).value_or("active");
  for (const auto& f : kScalars) {
    auto v = r.String(f.name, false, f.max_len);
    if (v && v->empty()) v.reset();  // "" clears, like null
    in.*f.member = v;
  }
  if (in.email && !LooksLikeEmail(*in.email))
    r.AddError(r.FieldName("email"), "must be an email address");
  if (in.phone && !IsE164(*in.phone))
    r.AddError(r.FieldName("phone"), "must be E.164, e.g. +4930123456");
  if (in.language && !IsLanguageTag(*in.language)) {
    r.AddError(r.FieldName("language"), "must be a language tag like de or en-US");
  }
  if (in.country && !IsCountryCode(*in.country)) {
    r.AddError(r.FieldName("country"), "must be an ISO 3166-1 alpha-2 code like DE");
  }
  if (in.time_zone && !jobs::CheckTimeZone(*in.time_zone).ok()) {
    r.AddError(r.FieldName("time_zone"), "must be an IANA time zone like Europe/Berlin");
  }
  if (in.type == "company" && !in.company_name) {
    r.AddError(r.FieldName("company_name"), "is required for a company");
  }
  if (const json::object* attrs = r.Object("attributes", false)) {
    if (json::serialize(*attrs).size() > kMaxAttributesBytes) {
      r.AddError(r.FieldName("attributes"), "must be at most 16 KiB of JSON");
    } else {
      in.attributes = *attrs;
    }
  }
  if (const json::array* tags = r.Array("tags", false, kMaxTags)) {
    std::set<std::string> unique;
    for (size_t i = 0; i < tags->size(); ++i) {
      const json::value& t = (*tags)[i];
      if (!t.is_string() || t.get_string().empty() || t.get_string().size() > 64) {
        r.AddError(r.FieldName("tags[" + std::to_string(i) + "]"),
                   "must be a string of 1 to 64 characters");
        continue;
      }
      unique.emplace(t.get_string());
    }
    in.tags.assign(unique.begin(), unique.end());
  }
  if (const json::object* consent = r.Object("consent", false)) {
    for (const auto& kv : *consent) {
      std::string channel(kv.key());
      std::string field = "consent." + channel;
      if (std::find(kChannels.begin(), kChannels.end(), channel) == kChannels.end()) {
        r.AddError(r.FieldName(field), "unknown channel; use email, sms or push");
        continue;
      }
      if (!kv.value().is_object()) {
        r.AddError(r.FieldName(field), "must be an object {status, source, at}");
        continue;
      }
      JsonReader cr(kv.value().get_object(), r.FieldName(field) + ".");
      Consent k;
      k.status = cr.Enum("status", true, {"granted", "withdrawn"}).value_or("");
      k.source = cr.String("source", false, 200).value_or("");
      k.at = now_ms;
      if (auto at = cr.String("at", false, 40)) {
        auto t = ParseRfc3339(*at);
        if (t.ok())
          k.at = *t;
        else
          cr.AddError(cr.FieldName("at"), "must be an RFC 3339 time");
      }
      Status st = cr.Finish();
      for (const auto& e : st.fields()) r.AddError(e.field, e.message);
      in.consent[channel] = k;
    }
  }
  RETURN_IF_ERROR(r.Finish());
  return in;
}

Result<std::optional<Customer>> CustomerService::Load(store::Connection& c,
                                                      const std::string& external_id,
                                                      bool for_update) {
  const bool lock = for_update && c.dialect() == store::Dialect::kPostgres;
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kColumns +
                                            " FROM customers c WHERE c.external_id = ?" +
                                            (lock ? " FOR UPDATE" : ""),
                                        {external_id}));
  if (!row) return std::optional<Customer>();
  Customer cu = RowToCustomer(*row);
  RETURN_IF_ERROR(LoadDetails(c, &cu));
  return std::optional<Customer>(std::move(cu));
}

Status CustomerService::LoadDetails(store::Connection& c, Customer* cu) {
  ASSIGN_OR_RETURN(
      auto tags,
      c.Execute("SELECT tag FROM customer_tags WHERE customer_id = ? ORDER BY tag", {cu->id}));
  cu->data.tags.clear();
  for (const auto& r : tags.rows) cu->data.tags.push_back(r.Str(0));
  ASSIGN_OR_RETURN(
      auto consents,
      c.Execute("SELECT channel, status, source, at FROM consents WHERE customer_id = ?",
                {cu->id}));
  cu->data.consent.clear();
  for (const auto& r : consents.rows) cu->data.consent[r.Str(0)] = {r.Str(1), r.Str(2), r.Int(3)};
  return Status::Ok();
}

namespace {

// The fields that differ, by name: what a customer's audit entry records.
// The values live in the change feed, which erasure can scrub; the audit log
// cannot be changed, so it holds no personal data.
json::array ChangedFields(const CustomerInput* before, const CustomerInput& after) {
  json::array out;
  auto add = [&](const char* name, bool differs) {
    if (differs) out.emplace_back(name);
  };
  add("type", !before || before->type != after.type);
  for (const auto& f : kScalars)
    add(f.name, before ? before->*f.member != after.*f.member : (after.*f.member).has_value());
  add("status", !before || before->status != after.status);
  add("attributes", before ? before->attributes != after.attributes : !after.attributes.empty());
  add("tags", before ? before->tags != after.tags : !after.tags.empty());
  for (const auto& channel : kChannels) {
    auto a = after.consent.find(channel);
    auto b = before ? before->consent.find(channel) : after.consent.end();
    const bool had = before && b != before->consent.end();
    if (a == after.consent.end()) continue;  // consent is never dropped by an upsert
    add(channel == "email" ? "consent.email"
        : channel == "sms" ? "consent.sms"
                           : "consent.push",
        !had || b->second != a->second);
  }
  return out;
}

}  // namespace

Result<std::unordered_map<std::string, Customer>> CustomerService::LoadMany(
    store::Connection& c, const std::vector<std::string>& ids, bool for_update) {
  std::unordered_map<std::string, Customer> out;
  if (ids.empty()) return out;
  const bool lock = for_update && c.dialect() == store::Dialect::kPostgres;
  store::Params keys(ids.begin(), ids.end());
  RETURN_IF_ERROR(store::SelectIn(c,
                                  std::string("SELECT ") + kColumns +
                                      " FROM customers c WHERE c.external_id IN ({in})" +
                                      (lock ? " FOR UPDATE" : ""),
                                  keys, [&](const store::Row& r) {
                                    Customer cu = RowToCustomer(r);
                                    out.emplace(cu.data.external_id, std::move(cu));
                                  }));
  if (out.empty()) return out;
  std::unordered_map<int64_t, Customer*> by_id;
  store::Params id_keys;
  for (auto& [k, cu] : out) {
    by_id[cu.id] = &cu;
    id_keys.emplace_back(cu.id);
  }
  RETURN_IF_ERROR(store::SelectIn(
      c, "SELECT customer_id, tag FROM customer_tags WHERE customer_id IN ({in})", id_keys,
      [&](const store::Row& r) { by_id[r.Int(0)]->data.tags.push_back(r.Str(1)); }));
  RETURN_IF_ERROR(store::SelectIn(
      c,
      "SELECT customer_id, channel, status, source, at FROM consents WHERE customer_id IN ({in})",
      id_keys, [&](const store::Row& r) {
        by_id[r.Int(0)]->data.consent[r.Str(1)] = {r.Str(2), r.Str(3), r.Int(4)};
      }));
  for (auto& [k, cu] : out) std::sort(cu.data.tags.begin(), cu.data.tags.end());
  return out;
}

Result<UpsertResult> CustomerService::Upsert(store::Connection& c, const audit::Actor& actor,
                                             const CustomerInput& in,
                                             std::optional<int64_t> if_match) {
  if (if_match) {
    ASSIGN_OR_RETURN(std::optional<Customer> existing, Load(c, in.external_id, true));
    if (!existing || existing->version != *if_match) {
      return Status::Conflict(existing ? "customer " + in.external_id + " is at version " +
                                             std::to_string(existing->version)
                                       : "customer " + in.external_id + " does not exist");
    }
  }
  ASSIGN_OR_RETURN(auto results, UpsertMany(c, actor, {in}));
  return std::move(results.front());
}

Result<std::vector<Result<UpsertResult>>> CustomerService::UpsertMany(
    store::Connection& c, const audit::Actor& actor, const std::vector<CustomerInput>& items) {
  std::vector<Result<UpsertResult>> out(items.size(), Status::Internal("not processed"));
  // Rounds of distinct ids: a repeated id is applied after its earlier
  // occurrence, as if the items had come one by one.
  std::vector<size_t> pending(items.size());
  for (size_t i = 0; i < items.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    std::unordered_set<std::string_view> seen;
    std::vector<size_t> round, later;
    for (size_t i : pending)
      (seen.insert(items[i].external_id).second ? round : later).push_back(i);
    RETURN_IF_ERROR(UpsertRound(c, actor, items, round, &out));
    pending = std::move(later);
  }
  return out;
}

Status CustomerService::UpsertRound(store::Connection& c, const audit::Actor& actor,
                                    const std::vector<CustomerInput>& items,
                                    const std::vector<size_t>& round,
                                    std::vector<Result<UpsertResult>>* out) {
  std::vector<std::string> ids;
  ids.reserve(round.size());
  for (size_t i : round) ids.push_back(items[i].external_id);
  ASSIGN_OR_RETURN(auto existing, LoadMany(c, ids, true));

  struct Write {
    size_t index;
    const Customer* before;
    Customer now;
  };
  std::vector<Write> writes;
  for (size_t i : round) {
    const CustomerInput& in = items[i];
    auto it = existing.find(in.external_id);
    const Customer* before = it == existing.end() ? nullptr : &it->second;
    CustomerInput want = in;
    if (before) {
      if (before->erased_at) {
        (*out)[i] = Status::FailedPrecondition("customer " + in.external_id + " was erased");
        continue;
      }
      // Consent merges per channel; a repeated identical grant keeps its time.
      std::map<std::string, Consent> merged = before->data.consent;
      for (const auto& [channel, k] : in.consent) {
        auto m = merged.find(channel);
        if (m == merged.end() || m->second.status != k.status || m->second.source != k.source)
          merged[channel] = k;
      }
      want.consent = std::move(merged);
      if (before->data == want) {
        (*out)[i] = UpsertResult{*before, false, false};
        continue;
      }
    }
    Customer now;
    now.data = std::move(want);
    now.version = before ? before->version + 1 : 1;
    now.created_at = before ? before->created_at : actor.now_ms;
    now.updated_at = actor.now_ms;
    if (before) now.id = before->id;
    writes.push_back({i, before, std::move(now)});
  }
  if (writes.empty()) return Status::Ok();

  auto row_values = [&](const CustomerInput& d, store::Params* p) {
    p->emplace_back(d.type);
    for (const auto& f : kScalars) p->emplace_back(d.*f.member);
    p->emplace_back(d.status);
    p->emplace_back(json::serialize(d.attributes));
    p->emplace_back(actor.now_ms);
  };

  // New customers: one multi-row insert; ids come back by external id.
  store::Params inserts;
  std::unordered_map<std::string, Write*> created;
  for (Write& w : writes) {
    if (w.before) continue;
    inserts.emplace_back(w.now.data.external_id);
    row_values(w.now.data, &inserts);
    inserts.emplace_back(actor.now_ms);
    created[w.now.data.external_id] = &w;
  }
  if (!inserts.empty()) {
    Status st = store::InsertMany(
        c,
        "INSERT INTO customers (external_id, type, salutation, first_name, last_name, "
        "company_name, email, "
        "phone, language, country, time_zone, status, attributes, updated_at, created_at) VALUES",
        15, std::move(inserts), "RETURNING id, external_id",
        [&](const store::Row& r) { created.at(r.Str(1))->now.id = r.Int(0); });
    // Another request created one of them between our read and insert: the
    // caller's transaction retries and sees it.
    if (st.code() == StatusCode::kConflict)
      return Status::Unavailable("concurrent create of a customer");
    RETURN_IF_ERROR(st);
  }

  store::Params tag_rows, consent_rows;
  std::vector<clients::Change> changes;
  std::vector<audit::Entry> entries;
  changes.reserve(writes.size());
  entries.reserve(writes.size());
  for (Write& w : writes) {
    const CustomerInput& d = w.now.data;
    const int64_t id = w.now.id;
    if (w.before) {
      store::Params p;
      row_values(d, &p);
      p.emplace_back(id);
      RETURN_IF_ERROR(c.Execute("UPDATE customers SET type = ?, salutation = ?, first_name = ?, "
                                "last_name = ?, company_name = ?, "
                                "email = ?, phone = ?, language = ?, country = ?, time_zone = ?, "
                                "status = ?, attributes = ?, "
                                "updated_at = ?, version = version + 1 WHERE id = ?",
                                p)
                          .status());
    }
    if (!w.before || w.before->data.tags != d.tags) {
      if (w.before)
        RETURN_IF_ERROR(
            c.Execute("DELETE FROM customer_tags WHERE customer_id = ?", {id}).status());
      for (const auto& t : d.tags) {
        tag_rows.emplace_back(id);
        tag_rows.emplace_back(t);
      }
    }
    for (const auto& [channel, k] : d.consent) {
      if (w.before) {
        auto b = w.before->data.consent.find(channel);
        if (b != w.before->data.consent.end() && b->second == k) continue;
      }
      for (store::Value v : {store::Value(id), store::Value(channel), store::Value(k.status),
                             store::Value(k.source), store::Value(k.at)}) {
        consent_rows.push_back(std::move(v));
      }
    }
    json::object after = CustomerToJson(w.now);
    const char* op = w.before ? "update" : "create";
    entries.push_back({std::string("customer.") + op, "customer", d.external_id, std::nullopt,
                       json::value(json::object{
                           {"version", w.now.version},
                           {"fields", ChangedFields(w.before ? &w.before->data : nullptr, d)}})});
    changes.push_back(
        {"customer", d.external_id, op, w.now.version, std::move(after), d.external_id});
  }
  if (!tag_rows.empty()) {
    RETURN_IF_ERROR(
        store::InsertMany(c, "INSERT INTO customer_tags (customer_id, tag) VALUES", 2, std::move(tag_rows)));
  }
  if (!consent_rows.empty()) {
    RETURN_IF_ERROR(store::InsertMany(
        c, "INSERT INTO consents (customer_id, channel, status, source, at) VALUES", 5,
        std::move(consent_rows),
        "ON CONFLICT (customer_id, channel) DO UPDATE SET status = excluded.status, "
        "source = excluded.source, at = excluded.at"));
  }
  RETURN_IF_ERROR(RecordChanges(c, actor.now_ms, changes));
  RETURN_IF_ERROR(audit::RecordMany(c, actor, entries));
  for (Write& w : writes) (*out)[w.index] = UpsertResult{std::move(w.now), !w.before, true};
  return Status::Ok();
}

Result<UpsertResult> CustomerService::Upsert(const audit::Actor& actor, const CustomerInput& in,
                                             std::optional<int64_t> if_match) {
  Result<UpsertResult> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    out = Upsert(c, actor, in, if_match);
    return out.status();
  }));
  return out;
}

Result<Customer> CustomerService::Get(const std::string& external_id) {
  Result<Customer> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(std::optional<Customer> cu, Load(c, external_id, false));
    if (!cu) return Status::NotFound("no customer " + external_id);
    out = std::move(*cu);
    return Status::Ok();
  }));
  return out;
}

Result<Customer> CustomerService::Erase(const audit::Actor& actor, const std::string& external_id,
                                        std::optional<int64_t> if_match) {
  Result<Customer> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(std::optional<Customer> cu, Load(c, external_id, true));
    if (!cu) return Status::NotFound("no customer " + external_id);
    if (if_match && cu->version != *if_match) {
      return Status::Conflict("customer " + external_id + " is at version " +
                              std::to_string(cu->version));
    }
    if (cu->erased_at) {
      out = std::move(*cu);
      return Status::Ok();  // erasing twice is a no-op
    }
    const int64_t id = cu->id;
    RETURN_IF_ERROR(
        c.Execute(
             "UPDATE customers SET salutation = NULL, first_name = NULL, last_name = NULL, "
             "company_name = NULL, "
             "email = NULL, phone = NULL, language = NULL, country = NULL, time_zone = NULL, "
             "status = 'erased', "
             "attributes = '{}', erased_at = ?, updated_at = ?, version = version + 1 WHERE id = ?",
             {actor.now_ms, actor.now_ms, id})
            .status());
    for (const char* sql : {"DELETE FROM customer_tags WHERE customer_id = ?",
                            "DELETE FROM consents WHERE customer_id = ?",
                            "DELETE FROM list_members WHERE customer_id = ?",
                            "UPDATE devices SET customer_id = NULL WHERE customer_id = ?"}) {
      RETURN_IF_ERROR(c.Execute(sql, {id}).status());
    }
    ASSIGN_OR_RETURN(std::optional<Customer> now, Load(c, external_id, false));
    RETURN_IF_ERROR(ScrubCustomerChanges(c, external_id));
    RETURN_IF_ERROR(RecordChange(
        c, actor.now_ms, {"customer", external_id, "delete", now->version, nullptr, external_id}));
    // The audit entry records that and when, not what: no personal data.
    RETURN_IF_ERROR(audit::Record(c, actor,
                                  {"customer.erase", "customer", external_id, std::nullopt,
                                   json::value(json::object{{"status", "erased"}})}));
    out = std::move(*now);
    return Status::Ok();
  }));
  return out;
}

Result<std::pair<std::vector<Customer>, std::optional<int64_t>>> CustomerService::List(
    const Filter& f) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM customers c WHERE 1=1";
  store::Params p;
  if (f.q) {
    std::string like;
    for (char ch : *f.q) {
      if (ch == '%' || ch == '_' || ch == '\\') like += '\\';
      like += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    like = "%" + like + "%";
    sql +=
        " AND (LOWER(c.email) LIKE ? ESCAPE '\\' OR LOWER(c.first_name) LIKE ? ESCAPE '\\' OR "
        "LOWER(c.last_name) LIKE ? ESCAPE '\\' OR LOWER(c.company_name) LIKE ? ESCAPE '\\' OR "
        "c.external_id = ?)";
    for (int i = 0; i < 4; ++i) p.emplace_back(like);
    p.emplace_back(*f.q);
  }
  if (f.status) {
    sql += " AND c.status = ?";
    p.emplace_back(*f.status);
  }
  if (f.tag) {
    sql += " AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)";
    p.emplace_back(*f.tag);
  }
  if (f.updated_since) {
    sql += " AND c.updated_at >= ?";
    p.emplace_back(*f.updated_since);
  }
  if (f.segment_where) {
    sql += " AND (" + *f.segment_where + ") AND c.status <> 'erased'";
    p.insert(p.end(), f.segment_params.begin(), f.segment_params.end());
  }
  if (f.after_id) {
    sql += " AND c.id > ?";
    p.emplace_back(*f.after_id);
  }
  sql += " ORDER BY c.id LIMIT ?";
  p.emplace_back(static_cast<int64_t>(f.limit + 1));

  std::vector<Customer> out;
  std::optional<int64_t> next;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(store::QueryResult r, c.Execute(sql, p));
    for (size_t i = 0; i < r.rows.size() && static_cast<int>(i) < f.limit; ++i) {
      Customer cu = RowToCustomer(r.rows[i]);
      RETURN_IF_ERROR(LoadDetails(c, &cu));
      out.push_back(std::move(cu));
    }
    if (static_cast<int>(r.rows.size()) > f.limit) next = out.back().id;
    return Status::Ok();
  }));
  return std::make_pair(std::move(out), next);
}

}  // namespace kontor::clients
