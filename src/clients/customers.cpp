#include "clients/customers.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

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

// `s` as a JSON string, escaped as json::serialize escapes it, appended to
// `out`. The customer texts are written directly: building a json::object
// per customer only to serialize it took about a seventh of a bulk sync's
// CPU time.
void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the characters not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(s[i]);
    if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    out->push_back('\\');
    switch (ch) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '\b':
        out->push_back('b');
        break;
      case '\t':
        out->push_back('t');
        break;
      case '\n':
        out->push_back('n');
        break;
      case '\f':
        out->push_back('f');
        break;
      case '\r':
        out->push_back('r');
        break;
      default:
        out->append("u00");
        out->push_back(kHex[ch >> 4]);
        out->push_back(kHex[ch & 15]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

// The customer's API JSON after its "id" member: `,"external_id":...}`.
// Apart because the change feed's copy is written before the INSERT of a
// new customer assigns the id. `attributes_json` is the serialized
// attributes, which the row stores too.
std::string CustomerJsonAfterId(const Customer& c, std::string_view attributes_json) {
  const CustomerInput& d = c.data;
  std::string out;
  out.reserve(400 + attributes_json.size());
  auto key = [&out](std::string_view name) {
    out += ",\"";
    out += name;
    out += "\":";
  };
  auto time = [&out](int64_t unix_ms) { AppendJsonString(FormatRfc3339(unix_ms), &out); };
  key("external_id");
  AppendJsonString(d.external_id, &out);
  key("type");
  AppendJsonString(d.type, &out);
  for (const auto& f : kScalars) {
    key(f.name);
    if (const std::optional<std::string>& v = d.*f.member)
      AppendJsonString(*v, &out);
    else
      out += "null";
  }
  key("status");
  AppendJsonString(c.erased_at ? std::string_view("erased") : std::string_view(d.status), &out);
  key("attributes");
  out += attributes_json;
  key("tags");
  out += '[';
  for (size_t i = 0; i < d.tags.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(d.tags[i], &out);
  }
  out += ']';
  key("consent");
  out += '{';
  for (auto k = d.consent.begin(); k != d.consent.end(); ++k) {
    if (k != d.consent.begin()) out += ',';
    AppendJsonString(k->first, &out);
    out += ":{\"status\":";
    AppendJsonString(k->second.status, &out);
    out += ",\"source\":";
    AppendJsonString(k->second.source, &out);
    out += ",\"at\":";
    time(k->second.at);
    out += '}';
  }
  out += '}';
  key("version");
  out += std::to_string(c.version);
  key("created_at");
  time(c.created_at);
  key("updated_at");
  time(c.updated_at);
  key("erased_at");
  if (c.erased_at)
    time(*c.erased_at);
  else
    out += "null";
  out += '}';
  return out;
}

// The customer's API JSON as text, from its id and CustomerJsonAfterId.
std::string CustomerJsonText(int64_t id, std::string_view after_id) {
  const std::string digits = std::to_string(id);
  std::string out;
  out.reserve(8 + digits.size() + after_id.size());
  out += "{\"id\":\"";
  out += digits;
  out += '"';
  out += after_id;
  return out;
}

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
  // From the text the change feed stores, so the two cannot disagree.
  json::parse_options options;
  options.max_depth = 64;  // attributes nest up to the request limit, one level down here
  json::value v = json::parse(
      CustomerJsonText(c.id, CustomerJsonAfterId(c, json::serialize(c.data.attributes))), {},
      options);
  return std::move(v.as_object());
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

// The audit entry of a written customer: its version and the names of the
// fields that differ from `before` (nullptr: created). The values live in
// the change feed, which erasure can scrub; the audit log cannot be
// changed, so it holds no personal data.
std::string AuditJson(int64_t version, const CustomerInput* before, const CustomerInput& after) {
  std::string out = "{\"version\":" + std::to_string(version) + ",\"fields\":[";
  bool first = true;
  auto add = [&](std::string_view name, bool differs) {
    if (!differs) return;
    if (!first) out += ',';
    first = false;
    AppendJsonString(name, &out);
  };
  add("type", !before || before->type != after.type);
  for (const auto& f : kScalars)
    add(f.name, before ? before->*f.member != after.*f.member : (after.*f.member).has_value());
  add("status", !before || before->status != after.status);
  add("attributes", before ? before->attributes != after.attributes : !after.attributes.empty());
  add("tags", before ? before->tags != after.tags : !after.tags.empty());
  for (const auto& channel : kChannels) {
    auto a = after.consent.find(channel);
    if (a == after.consent.end()) continue;  // consent is never dropped by an upsert
    auto b = before ? before->consent.find(channel) : after.consent.end();
    const bool had = before && b != before->consent.end();
    add("consent." + channel, !had || b->second != a->second);
  }
  out += "]}";
  return out;
}

// The stored customers among `ids`, by external id, with tags and consent.
Result<std::unordered_map<std::string, Customer>> LoadMany(store::Connection& c,
                                                           const std::vector<std::string>& ids,
                                                           bool for_update) {
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

// The items of a batch by round: a round holds each external id once, in
// item order; a repeated id goes to the round after its earlier occurrence,
// as if the items had come one by one.
std::vector<std::vector<size_t>> Rounds(const std::vector<CustomerInput>& items) {
  std::vector<std::vector<size_t>> rounds;
  std::vector<size_t> pending(items.size());
  for (size_t i = 0; i < items.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    std::unordered_set<std::string_view> seen;
    std::vector<size_t> round, later;
    for (size_t i : pending)
      (seen.insert(items[i].external_id).second ? round : later).push_back(i);
    rounds.push_back(std::move(round));
    pending = std::move(later);
  }
  return rounds;
}

// What identifies the state of a stored customer: every write to a customer
// raises its version (erasure too).
struct Stamp {
  int64_t id = 0;
  int64_t version = 0;
  bool erased = false;
  bool operator==(const Stamp&) const = default;
};

enum class Outcome { kCreate, kUpdate, kUnchanged, kErased };

// One batch item. Until worked out (PlanItem) `customer.data` is the item
// as given. Worked out, it holds the outcome against the stored customer it
// was read with and everything its write needs but a new customer's id,
// which the INSERT assigns. Writing reads it without consuming it, so a
// retried transaction can write it again.
struct BatchItem {
  size_t index = 0;  // in the batch
  // The customer after the item; when unchanged, the stored one (equal to
  // the item but for the consent).
  Customer customer;
  // Once worked out, the item's own consent: `customer` has it merged into
  // the stored consent. Kept to work the item out again.
  std::optional<std::map<std::string, Consent>> consent_given;
  std::optional<Stamp> seen;  // the stored customer worked from; nullopt: none
  Outcome outcome = Outcome::kCreate;
  // For a create or an update:
  bool tags_changed = false;
  std::vector<std::string> consent_changed;  // channels whose row is written
  std::string attributes_json;
  std::string json_after_id;  // the change feed's data: CustomerJsonAfterId
  std::string audit_json;
};

// Works `it` out against `stored` (nullptr: no such customer), in place,
// from the item as given (again, if it was worked out before). Moves from
// `stored`.
void PlanItem(BatchItem* it, Customer* stored, int64_t now_ms) {
  CustomerInput& in = it->customer.data;
  if (it->consent_given) in.consent = std::move(*it->consent_given);
  it->consent_given = in.consent;
  it->seen.reset();
  it->consent_changed.clear();
  if (stored) it->seen = Stamp{stored->id, stored->version, stored->erased_at.has_value()};
  if (stored && stored->erased_at) {
    it->outcome = Outcome::kErased;
    return;
  }
  if (stored) {
    // Consent merges per channel; a repeated identical grant keeps its time.
    std::map<std::string, Consent> merged = stored->data.consent;
    for (const auto& [channel, k] : in.consent) {
      auto m = merged.find(channel);
      if (m == merged.end() || m->second.status != k.status || m->second.source != k.source)
        merged[channel] = k;
    }
    in.consent = std::move(merged);
    if (stored->data == in) {
      it->outcome = Outcome::kUnchanged;
      it->customer = std::move(*stored);
      return;
    }
  }
  const CustomerInput* before = stored ? &stored->data : nullptr;
  it->outcome = stored ? Outcome::kUpdate : Outcome::kCreate;
  Customer& now = it->customer;
  now.id = stored ? stored->id : 0;
  now.version = stored ? stored->version + 1 : 1;
  now.created_at = stored ? stored->created_at : now_ms;
  now.updated_at = now_ms;
  it->tags_changed = !before || before->tags != in.tags;
  for (const auto& [channel, k] : in.consent) {
    if (before) {
      auto b = before->consent.find(channel);
      if (b != before->consent.end() && b->second == k) continue;
    }
    it->consent_changed.push_back(channel);
  }
  it->attributes_json = json::serialize(in.attributes);
  it->json_after_id = CustomerJsonAfterId(now, it->attributes_json);
  it->audit_json = AuditJson(now.version, before, in);
}

std::vector<BatchItem*> Pointers(std::vector<BatchItem>* items) {
  std::vector<BatchItem*> out;
  out.reserve(items->size());
  for (BatchItem& it : *items) out.push_back(&it);
  return out;
}

// Reads the stored customers of `items` (distinct ids), locked when
// `for_update`.
Result<std::unordered_map<std::string, Customer>> LoadStored(store::Connection& c,
                                                             const std::vector<BatchItem*>& items,
                                                             bool for_update) {
  std::vector<std::string> ids;
  ids.reserve(items.size());
  for (const BatchItem* it : items) ids.push_back(it->customer.data.external_id);
  return LoadMany(c, ids, for_update);
}

// Works `items` out against `stored` (LoadStored of them).
void PlanItems(const std::vector<BatchItem*>& items,
               std::unordered_map<std::string, Customer>* stored, int64_t now_ms) {
  for (BatchItem* it : items) {
    auto s = stored->find(it->customer.data.external_id);
    PlanItem(it, s == stored->end() ? nullptr : &s->second, now_ms);
  }
}

Result<UpsertResult> TakeResult(BatchItem* it) {
  switch (it->outcome) {
    case Outcome::kErased:
      return Status::FailedPrecondition("customer " + it->customer.data.external_id +
                                        " was erased");
    case Outcome::kUnchanged:
      return UpsertResult{std::move(it->customer), false, false};
    case Outcome::kCreate:
      return UpsertResult{std::move(it->customer), true, true};
    case Outcome::kUpdate:
      break;
  }
  return UpsertResult{std::move(it->customer), false, true};
}

// Inside the write transaction, for items worked out before it: reads the
// stamps of their customers again (locked on PostgreSQL) and works the
// items whose customer changed in between out again. Customers read before
// are looked up by id (which never changes). Without `check_new` the items
// worked out as creates are left out: a customer created in between fails
// their INSERT, which retries the transaction, with `check_new`.
// Returns whether any item was worked out again.
Result<bool> Refresh(store::Connection& c, int64_t now_ms, bool check_new,
                     std::vector<BatchItem>* items) {
  const std::string lock = c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : "";
  store::Params ids, external_ids;
  for (const BatchItem& it : *items) {
    if (it.seen)
      ids.emplace_back(it.seen->id);
    else if (check_new)
      external_ids.emplace_back(it.customer.data.external_id);
  }
  std::unordered_map<int64_t, Stamp> by_id;
  by_id.reserve(ids.size());
  if (!ids.empty()) {
    RETURN_IF_ERROR(
        store::SelectIn(c, "SELECT id, version, erased_at FROM customers WHERE id IN ({in})" + lock,
                        ids, [&](const store::Row& r) {
                          by_id.emplace(r.Int(0), Stamp{r.Int(0), r.Int(1), !r.IsNull(2)});
                        }));
  }
  std::unordered_set<std::string> created;  // in between, of the items worked out as creates
  if (!external_ids.empty()) {
    RETURN_IF_ERROR(
        store::SelectIn(c, "SELECT external_id FROM customers WHERE external_id IN ({in})" + lock,
                        external_ids, [&](const store::Row& r) { created.insert(r.Str(0)); }));
  }
  std::vector<BatchItem*> stale;
  for (BatchItem& it : *items) {
    if (it.seen) {
      auto s = by_id.find(it.seen->id);
      if (s == by_id.end() || s->second != *it.seen) stale.push_back(&it);
    } else if (created.count(it.customer.data.external_id)) {
      stale.push_back(&it);
    }
  }
  if (stale.empty()) return false;
  ASSIGN_OR_RETURN(auto stored, LoadStored(c, stale, true));
  PlanItems(stale, &stored, now_ms);
  return true;
}

// The customers columns an upsert sets after the key (external_id for an
// INSERT, id for an UPDATE), and their values.
constexpr const char* kRowColumns =
    "type, salutation, first_name, last_name, company_name, email, phone, language, country, "
    "time_zone, status, attributes, updated_at";
constexpr size_t kRowValues = 13;
void AppendRowValues(const BatchItem& it, store::Params* p) {
  const CustomerInput& d = it.customer.data;
  p->emplace_back(d.type);
  for (const auto& f : kScalars) p->emplace_back(d.*f.member);
  p->emplace_back(d.status);
  p->emplace_back(it.attributes_json);
  p->emplace_back(it.customer.updated_at);
}

// The rows of worked-out items' writes, apart so that they can be built
// before the write transaction. A new customer's id is not known until its
// INSERT: its rows hold 0 in the places listed in `new_ids`, filled in then.
struct ItemRows {
  store::Params inserts;        // customers, for the INSERT
  store::Params updates;        // customers, for the UPDATE ... FROM (VALUES ...)
  store::Params tags_replaced;  // ids of updated customers whose tags are replaced
  store::Params tags, consents;
  store::Params changes;  // AppendChangeRow
  store::Params audit;    // audit::AppendRow
  struct NewId {
    BatchItem* item;
    size_t tags_begin, tags_end;          // in `tags`, rows of 2
    size_t consents_begin, consents_end;  // in `consents`, rows of 5
    size_t change_data;                   // in `changes`, the data (which holds the id)
  };
  std::vector<NewId> new_ids;
};

constexpr size_t kChangeDataColumn = 5;  // in an AppendChangeRow row

ItemRows BuildRows(const audit::Actor& actor, std::vector<BatchItem>* items) {
  size_t creates = 0, updates = 0;
  for (const BatchItem& it : *items) {
    creates += it.outcome == Outcome::kCreate;
    updates += it.outcome == Outcome::kUpdate;
  }
  ItemRows rows;
  rows.inserts.reserve(creates * (kRowValues + 2));
  rows.updates.reserve(updates * (kRowValues + 1));
  rows.consents.reserve((creates + updates) * 5);
  rows.changes.reserve((creates + updates) * 7);
  rows.audit.reserve((creates + updates) * 11);
  rows.new_ids.reserve(creates);
  for (BatchItem& it : *items) {
    if (it.outcome != Outcome::kCreate && it.outcome != Outcome::kUpdate) continue;
    const bool create = it.outcome == Outcome::kCreate;
    const CustomerInput& d = it.customer.data;
    const int64_t id = it.customer.id;  // 0 for a create
    ItemRows::NewId slots{&it, rows.tags.size(), 0, rows.consents.size(), 0, 0};
    if (create) {
      rows.inserts.emplace_back(d.external_id);
      AppendRowValues(it, &rows.inserts);
      rows.inserts.emplace_back(it.customer.created_at);
    } else {
      rows.updates.emplace_back(id);
      AppendRowValues(it, &rows.updates);
    }
    if (it.tags_changed) {
      if (!create) rows.tags_replaced.emplace_back(id);
      for (const auto& t : d.tags) {
        rows.tags.emplace_back(id);
        rows.tags.emplace_back(t);
      }
    }
    for (const std::string& channel : it.consent_changed) {
      const Consent& k = d.consent.at(channel);
      rows.consents.emplace_back(id);
      rows.consents.emplace_back(channel);
      rows.consents.emplace_back(k.status);
      rows.consents.emplace_back(k.source);
      rows.consents.emplace_back(k.at);
    }
    slots.change_data = rows.changes.size() + kChangeDataColumn;
    AppendChangeRow(actor.now_ms,
                    {"customer", d.external_id, create ? "create" : "update", it.customer.version,
                     CustomerJsonText(id, it.json_after_id), d.external_id},
                    &rows.changes);
    audit::AppendRow(actor,
                     {create ? "customer.create" : "customer.update", "customer", d.external_id,
                      std::nullopt, it.audit_json},
                     &rows.audit);
    if (create) {
      slots.tags_end = rows.tags.size();
      slots.consents_end = rows.consents.size();
      rows.new_ids.push_back(slots);
    }
  }
  return rows;
}

// Writes `rows` (BuildRows of one round: distinct ids), a few multi-row
// statements per table, and sets the ids of the created customers.
Status WriteItems(store::Connection& c, ItemRows rows) {
  // New customers: one multi-row insert; ids come back by external id.
  if (!rows.new_ids.empty()) {
    std::unordered_map<std::string_view, BatchItem*> created;
    created.reserve(rows.new_ids.size());
    for (const ItemRows::NewId& n : rows.new_ids)
      created.emplace(n.item->customer.data.external_id, n.item);
    Status st = store::InsertMany(
        c,
        std::string("INSERT INTO customers (external_id, ") + kRowColumns + ", created_at) VALUES",
        kRowValues + 2, std::move(rows.inserts), "RETURNING id, external_id",
        [&](const store::Row& r) { created.at(r.Str(1))->customer.id = r.Int(0); });
    // Another request created one of them between our read and insert: the
    // caller's transaction retries and sees it.
    if (st.code() == StatusCode::kConflict)
      return Status::Unavailable("concurrent create of a customer");
    RETURN_IF_ERROR(st);
    for (const ItemRows::NewId& n : rows.new_ids) {
      const int64_t id = n.item->customer.id;
      for (size_t k = n.tags_begin; k < n.tags_end; k += 2) rows.tags[k] = id;
      for (size_t k = n.consents_begin; k < n.consents_end; k += 5) rows.consents[k] = id;
      rows.changes[n.change_data] = CustomerJsonText(id, n.item->json_after_id);
    }
  }
  // Updates: one statement per chunk of rows, joined by id to a VALUES list
  // (column1 the id, then the row values). PostgreSQL types VALUES columns
  // of parameters as text, hence the casts.
  if (!rows.updates.empty()) {
    const bool pg = c.dialect() == store::Dialect::kPostgres;
    const std::string head =
        std::string(
            "UPDATE customers SET type = v.column2, salutation = v.column3, "
            "first_name = v.column4, last_name = v.column5, company_name = v.column6, "
            "email = v.column7, phone = v.column8, language = v.column9, country = v.column10, "
            "time_zone = v.column11, status = v.column12, attributes = ") +
        (pg ? "CAST(v.column13 AS JSONB)" : "v.column13") +
        ", updated_at = CAST(v.column14 AS BIGINT), version = version + 1 FROM (VALUES";
    RETURN_IF_ERROR(store::InsertMany(c, head, kRowValues + 1, std::move(rows.updates),
                                      ") AS v WHERE customers.id = CAST(v.column1 AS BIGINT)"));
  }
  if (!rows.tags_replaced.empty()) {
    // SelectIn for its chunking; a DELETE answers no rows.
    RETURN_IF_ERROR(store::SelectIn(c, "DELETE FROM customer_tags WHERE customer_id IN ({in})",
                                    rows.tags_replaced, [](const store::Row&) {}));
  }
  if (!rows.tags.empty()) {
    RETURN_IF_ERROR(store::InsertMany(c, "INSERT INTO customer_tags (customer_id, tag) VALUES", 2,
                                      std::move(rows.tags)));
  }
  if (!rows.consents.empty()) {
    RETURN_IF_ERROR(store::InsertMany(
        c, "INSERT INTO consents (customer_id, channel, status, source, at) VALUES", 5,
        std::move(rows.consents),
        "ON CONFLICT (customer_id, channel) DO UPDATE SET status = excluded.status, "
        "source = excluded.source, at = excluded.at"));
  }
  RETURN_IF_ERROR(audit::RecordRows(c, std::move(rows.audit)));
  // Last: on PostgreSQL the change feed's rows take its advisory lock, which
  // concurrent transactions then wait for until this one commits.
  return RecordChangeRows(c, std::move(rows.changes));
}

// One round of UpsertMany inside `c`'s transaction, worked out against the
// customers as stored now; sets the items' results in `out`.
Status UpsertRound(store::Connection& c, const audit::Actor& actor, std::vector<BatchItem> items,
                   std::vector<Result<UpsertResult>>* out) {
  const std::vector<BatchItem*> all = Pointers(&items);
  ASSIGN_OR_RETURN(auto stored, LoadStored(c, all, true));
  PlanItems(all, &stored, actor.now_ms);
  RETURN_IF_ERROR(WriteItems(c, BuildRows(actor, &items)));
  for (BatchItem& it : items) (*out)[it.index] = TakeResult(&it);
  return Status::Ok();
}

// The items of a batch by round (see Rounds), not worked out yet.
std::vector<std::vector<BatchItem>> RoundItems(std::vector<CustomerInput> items) {
  std::vector<std::vector<BatchItem>> out;
  for (const std::vector<size_t>& round : Rounds(items)) {
    std::vector<BatchItem>& r = out.emplace_back(round.size());
    for (size_t k = 0; k < round.size(); ++k) {
      r[k].index = round[k];
      r[k].customer.data = std::move(items[round[k]]);
    }
  }
  return out;
}

}  // namespace

struct PreparedUpserts::State {
  audit::Actor actor;
  size_t size = 0;               // items in the batch
  std::vector<BatchItem> first;  // the first round, worked out
  // `first`'s rows, built with it, for the first attempt of the transaction
  // when no item had to be worked out again (the statements consume them).
  std::optional<ItemRows> rows;
  // The later rounds (repeated ids), worked out in the transaction after
  // the rounds before them: they are rare.
  std::vector<std::vector<BatchItem>> later;
};

PreparedUpserts::PreparedUpserts(std::unique_ptr<State> state) : state_(std::move(state)) {}
PreparedUpserts::PreparedUpserts(PreparedUpserts&&) noexcept = default;
PreparedUpserts& PreparedUpserts::operator=(PreparedUpserts&&) noexcept = default;
PreparedUpserts::~PreparedUpserts() = default;

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
    store::Connection& c, const audit::Actor& actor, std::vector<CustomerInput> items) {
  std::vector<Result<UpsertResult>> out(items.size(), Status::Internal("not processed"));
  for (std::vector<BatchItem>& round : RoundItems(std::move(items))) {
    RETURN_IF_ERROR(UpsertRound(c, actor, std::move(round), &out));
  }
  return out;
}

Result<std::vector<Result<UpsertResult>>> CustomerService::UpsertMany(
    const audit::Actor& actor, std::vector<CustomerInput> items) {
  ASSIGN_OR_RETURN(PreparedUpserts prepared, PrepareUpserts(actor, std::move(items)));
  return ApplyUpserts(std::move(prepared));
}

Result<PreparedUpserts> CustomerService::PrepareUpserts(const audit::Actor& actor,
                                                        std::vector<CustomerInput> items) {
  auto state = std::make_unique<PreparedUpserts::State>();
  state->actor = actor;
  state->size = items.size();
  std::vector<std::vector<BatchItem>> rounds = RoundItems(std::move(items));
  if (rounds.empty()) return PreparedUpserts(std::move(state));
  state->first = std::move(rounds.front());
  state->later.assign(std::make_move_iterator(rounds.begin() + 1),
                      std::make_move_iterator(rounds.end()));
  // One read transaction, so customers, tags and consent agree; the work on
  // them comes after it.
  const std::vector<BatchItem*> first = Pointers(&state->first);
  std::unordered_map<std::string, Customer> stored;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(c.BeginRead());
    auto loaded = LoadStored(c, first, false);
    if (!loaded.ok()) {
      (void)c.Rollback();
      return loaded.status();
    }
    stored = std::move(loaded).value();
    return c.Commit();
  }));
  PlanItems(first, &stored, actor.now_ms);
  state->rows = BuildRows(actor, &state->first);
  return PreparedUpserts(std::move(state));
}

Result<std::vector<Result<UpsertResult>>> CustomerService::ApplyUpserts(PreparedUpserts prepared) {
  PreparedUpserts::State& s = *prepared.state_;
  const audit::Actor& actor = s.actor;
  std::vector<Result<UpsertResult>> out(s.size, Status::Internal("not processed"));
  // Nothing to write: the answers hold as of the read they came from.
  const bool writes = !s.later.empty() || std::any_of(s.first.begin(), s.first.end(), [](auto& it) {
    return it.outcome == Outcome::kCreate || it.outcome == Outcome::kUpdate;
  });
  if (writes) {
    bool retrying = false;
    RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(const bool replanned, Refresh(c, actor.now_ms, retrying, &s.first));
      retrying = true;
      ItemRows rows = s.rows && !replanned ? std::move(*s.rows) : BuildRows(actor, &s.first);
      s.rows.reset();
      RETURN_IF_ERROR(WriteItems(c, std::move(rows)));
      for (const std::vector<BatchItem>& round : s.later) {
        // A copy: a retried transaction needs the round again.
        RETURN_IF_ERROR(UpsertRound(c, actor, round, &out));
      }
      return Status::Ok();
    }));
  }
  for (BatchItem& it : s.first) out[it.index] = TakeResult(&it);
  return out;
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
