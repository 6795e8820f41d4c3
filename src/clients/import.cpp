#include "clients/import.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "clients/csv_reader.h"
#include "clients/export.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"

namespace kontor::clients {
namespace {

constexpr size_t kMaxErrorsShown = 50;
constexpr size_t kPreviewRows = 5;
constexpr size_t kMaxFilename = 255;
constexpr size_t kMaxAttributeName = 64;
constexpr const char* kAttributesPrefix = "attributes.";

const std::vector<ImportField>& CustomerFields() {
  // The order is the export's column order.
  static const std::vector<ImportField> kFields = {
      {"external_id", true, "The customer's id in the upstream system"},
      {"type", false, "individual, sole_proprietor or company (empty: keep, new: individual)"},
      {"salutation", false, "Salutation, e.g. Frau or Herr"},
      {"first_name", false, "First name"},
      {"last_name", false, "Last name"},
      {"company_name", false, "Company name (required for a company)"},
      {"email", false, "Email address"},
      {"phone", false, "Mobile number in E.164, e.g. +4930123456"},
      {"language", false, "Language tag such as de or en-US"},
      {"country", false, "ISO 3166-1 alpha-2 country code such as DE"},
      {"time_zone", false, "IANA time zone such as Europe/Berlin"},
      {"status", false, "active or inactive (empty: keep, new: active)"},
      {"tags", false, "Tags separated by |"},
      {"consent_email", false, "Email consent: granted or withdrawn (empty: keep)"},
      {"consent_sms", false, "SMS consent: granted or withdrawn (empty: keep)"},
      {"consent_push", false, "Push consent: granted or withdrawn (empty: keep)"},
  };
  return kFields;
}

const std::vector<ImportField>& SubscriptionFields() {
  static const std::vector<ImportField> kFields = {
      {"external_id", true, "The subscription's id in the upstream system"},
      {"customer", false, "The customer's external id (required for a new subscription)"},
      {"product", false, "The product code (required for a new subscription)"},
      {"status", false, "active, paused, cancelled or expired (empty: keep, new: active)"},
      {"starts_at", false, "RFC 3339 time, or a date YYYY-MM-DD (UTC midnight)"},
      {"ends_at", false, "RFC 3339 time, or a date YYYY-MM-DD (UTC midnight)"},
      {"source", false, "Where the subscription came from"},
  };
  return kFields;
}

std::string Normalize(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == ' ' || ch == '_' || ch == '-' || ch == '.' || ch == '\t') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  }
  return out;
}

// Normalized header name → field. German names are common in the files this replaces.
const std::map<std::string, std::string>& Aliases(ImportKind kind) {
  static const std::map<std::string, std::string> kCustomers = {
      {"externalid", "external_id"},
      {"id", "external_id"},
      {"customerid", "external_id"},
      {"customerno", "external_id"},
      {"customernumber", "external_id"},
      {"clientid", "external_id"},
      {"kundennummer", "external_id"},
      {"kundennr", "external_id"},
      {"kundenid", "external_id"},
      {"type", "type"},
      {"customertype", "type"},
      {"kundentyp", "type"},
      {"typ", "type"},
      {"salutation", "salutation"},
      {"anrede", "salutation"},
      {"firstname", "first_name"},
      {"givenname", "first_name"},
      {"forename", "first_name"},
      {"vorname", "first_name"},
      {"lastname", "last_name"},
      {"surname", "last_name"},
      {"familyname", "last_name"},
      {"nachname", "last_name"},
      {"company", "company_name"},
      {"companyname", "company_name"},
      {"organization", "company_name"},
      {"organisation", "company_name"},
      {"firma", "company_name"},
      {"firmenname", "company_name"},
      {"email", "email"},
      {"emailaddress", "email"},
      {"mail", "email"},
      {"emailadresse", "email"},
      {"phone", "phone"},
      {"phonenumber", "phone"},
      {"mobile", "phone"},
      {"mobilephone", "phone"},
      {"mobilenumber", "phone"},
      {"cellphone", "phone"},
      {"telephone", "phone"},
      {"tel", "phone"},
      {"msisdn", "phone"},
      {"telefon", "phone"},
      {"telefonnummer", "phone"},
      {"mobil", "phone"},
      {"mobilnummer", "phone"},
      {"handy", "phone"},
      {"handynummer", "phone"},
      {"language", "language"},
      {"lang", "language"},
      {"locale", "language"},
      {"sprache", "language"},
      {"country", "country"},
      {"countrycode", "country"},
      {"land", "country"},
      {"timezone", "time_zone"},
      {"tz", "time_zone"},
      {"zeitzone", "time_zone"},
      {"status", "status"},
      {"tags", "tags"},
      {"tag", "tags"},
      {"labels", "tags"},
      {"consentemail", "consent_email"},
      {"emailconsent", "consent_email"},
      {"newsletter", "consent_email"},
      {"emailoptin", "consent_email"},
      {"consentsms", "consent_sms"},
      {"smsconsent", "consent_sms"},
      {"consentpush", "consent_push"},
      {"pushconsent", "consent_push"},
  };
  static const std::map<std::string, std::string> kSubscriptions = {
      {"externalid", "external_id"},
      {"id", "external_id"},
      {"subscriptionid", "external_id"},
      {"subscription", "external_id"},
      {"aboid", "external_id"},
      {"abonummer", "external_id"},
      {"customer", "customer"},
      {"customerid", "customer"},
      {"customerexternalid", "customer"},
      {"customerno", "customer"},
      {"kunde", "customer"},
      {"kundennummer", "customer"},
      {"kundennr", "customer"},
      {"product", "product"},
      {"productcode", "product"},
      {"produkt", "product"},
      {"status", "status"},
      {"startsat", "starts_at"},
      {"start", "starts_at"},
      {"startdate", "starts_at"},
      {"beginn", "starts_at"},
      {"endsat", "ends_at"},
      {"end", "ends_at"},
      {"enddate", "ends_at"},
      {"ende", "ends_at"},
      {"source", "source"},
      {"quelle", "source"},
  };
  return kind == ImportKind::kCustomers ? kCustomers : kSubscriptions;
}

bool ValidAttributeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxAttributeName) return false;
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') return false;
  }
  return true;
}

bool IsKnownField(ImportKind kind, const std::string& field) {
  for (const auto& f : ImportFields(kind)) {
    if (f.name == field) return true;
  }
  return false;
}

std::string FieldList(ImportKind kind) {
  std::string out;
  for (const auto& f : ImportFields(kind)) out += (out.empty() ? "" : ", ") + f.name;
  if (kind == ImportKind::kCustomers) out += " or attributes.<name>";
  return out;
}

// Counts what a byte string looks like: valid multi-byte UTF-8 sequences, and bytes that cannot
// start or continue one (strict RFC 3629: no overlongs, surrogates or code points > U+10FFFF).
struct Utf8Census {
  size_t multibyte = 0;
  size_t invalid = 0;
};
Utf8Census CountUtf8(std::string_view s) {
  Utf8Census out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c < 0xE0) {
      need = 1;
    } else if (c >= 0xE0 && c < 0xF0) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c < 0xF5) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool ok = need > 0 && need < n - i;  // the sequence is complete
    if (ok) ok = p[i + 1] >= lo && p[i + 1] <= hi;
    for (size_t k = 2; ok && k <= need; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok) {
      ++out.multibyte;
      i += need + 1;
    } else {
      ++out.invalid;
      ++i;
    }
  }
  return out;
}

Status FileError(std::string message) { return Status::Validation({{"file", std::move(message)}}); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Spreadsheet-friendly spellings of a consent cell.
std::string ConsentStatus(std::string_view cell) {
  std::string v = Lower(TrimSpaces(cell));
  if (v == "granted" || v == "yes" || v == "true" || v == "1" || v == "ja" || v == "y")
    return "granted";
  if (v == "withdrawn" || v == "no" || v == "false" || v == "0" || v == "nein" || v == "n")
    return "withdrawn";
  return std::string(cell);  // ParseCustomer names it
}

// A date alone means UTC midnight; anything else goes to the RFC 3339 parser.
std::string TimeCell(const std::string& cell) {
  if (cell.size() == 10 && cell[4] == '-' && cell[7] == '-') return cell + "T00:00:00Z";
  return cell;
}

// The import field a ParseCustomer/ParseSubscription error names: "consent.email.status" →
// consent_email, "tags[3]" → tags.
std::string ImportFieldOf(const std::string& error_field) {
  if (error_field.starts_with("consent.")) {
    std::string rest = error_field.substr(8);
    return "consent_" + rest.substr(0, rest.find('.'));
  }
  return error_field.substr(0, std::min(error_field.find('['), error_field.find('.')));
}

void CollectErrors(const MappedRow& row, const Status& st, std::vector<RowError>* errors) {
  for (const auto& f : st.fields()) errors->push_back(row.Error(ImportFieldOf(f.field), f.message));
  if (st.fields().empty()) errors->push_back(row.Error("external_id", st.message()));
}

using ScalarMember = std::optional<std::string> CustomerInput::*;
const std::pair<const char*, ScalarMember> kScalars[] = {
    {"salutation", &CustomerInput::salutation}, {"first_name", &CustomerInput::first_name},
    {"last_name", &CustomerInput::last_name},   {"company_name", &CustomerInput::company_name},
    {"email", &CustomerInput::email},           {"phone", &CustomerInput::phone},
    {"language", &CustomerInput::language},     {"country", &CustomerInput::country},
    {"time_zone", &CustomerInput::time_zone},
};

}  // namespace

std::optional<ImportKind> ParseImportKind(std::string_view s) {
  if (s == "customers") return ImportKind::kCustomers;
  if (s == "subscriptions") return ImportKind::kSubscriptions;
  return std::nullopt;
}

const char* ImportKindName(ImportKind kind) {
  return kind == ImportKind::kCustomers ? "customers" : "subscriptions";
}

const std::vector<ImportField>& ImportFields(ImportKind kind) {
  return kind == ImportKind::kCustomers ? CustomerFields() : SubscriptionFields();
}

json::array ImportFieldsJson(ImportKind kind) {
  json::array out;
  for (const auto& f : ImportFields(kind)) {
    out.push_back({{"name", f.name}, {"required", f.required}, {"description", f.description}});
  }
  if (kind == ImportKind::kCustomers) {
    out.push_back({{"name", "attributes.<name>"},
                   {"required", false},
                   {"description", "A custom attribute (name: letters, digits, _ and -)"}});
  }
  return out;
}

std::optional<std::string> SuggestField(ImportKind kind, std::string_view column) {
  if (kind == ImportKind::kCustomers) {
    std::string lower = Lower(column);
    for (std::string_view prefix : {"attributes.", "attribute.", "attr."}) {
      if (lower.starts_with(prefix)) {
        std::string_view name = column.substr(prefix.size());
        if (ValidAttributeName(name)) return kAttributesPrefix + std::string(name);
        return std::nullopt;
      }
    }
  }
  const auto& aliases = Aliases(kind);
  auto it = aliases.find(Normalize(column));
  if (it == aliases.end()) return std::nullopt;
  return it->second;
}

std::vector<std::optional<std::string>> SuggestMapping(ImportKind kind,
                                                       const std::vector<std::string>& columns) {
  std::vector<std::optional<std::string>> out(columns.size());
  std::set<std::string> used;
  for (size_t i = 0; i < columns.size(); ++i) {
    auto f = SuggestField(kind, columns[i]);
    if (f && used.insert(*f).second) out[i] = *f;
  }
  return out;
}

Result<ColumnMapping> ParseMapping(ImportKind kind, const std::vector<std::string>& columns,
                                   const json::object& mapping) {
  ColumnMapping out(columns.size());
  std::vector<FieldError> errors;
  std::map<std::string, std::string> used;  // field → column
  for (const auto& kv : mapping) {
    const std::string column(kv.key());
    const std::string key = "mapping." + column;
    auto col = std::find(columns.begin(), columns.end(), column);
    if (col == columns.end()) {
      errors.push_back({key, "is not a column of the file"});
      continue;
    }
    if (kv.value().is_null()) continue;
    if (!kv.value().is_string()) {
      errors.push_back({key, "must be a field name or null"});
      continue;
    }
    std::string field(kv.value().get_string());
    if (kind == ImportKind::kCustomers && field.starts_with(kAttributesPrefix)) {
      if (!ValidAttributeName(std::string_view(field).substr(std::strlen(kAttributesPrefix)))) {
        errors.push_back({key, "attribute names are 1 to 64 letters, digits, _ or -"});
        continue;
      }
    } else if (!IsKnownField(kind, field)) {
      errors.push_back({key, "unknown field \"" + field + "\"; use " + FieldList(kind)});
      continue;
    }
    auto [it, fresh] = used.emplace(field, column);
    if (!fresh) {
      errors.push_back({key, "maps to " + field + " like column \"" + it->second +
                                 "\"; a field takes one column"});
      continue;
    }
    out[col - columns.begin()] = field;
  }
  for (const auto& f : ImportFields(kind)) {
    if (f.required && !used.count(f.name)) {
      errors.push_back({"mapping", f.name + " must be mapped to a column"});
    }
  }
  if (!errors.empty()) return Status::Validation(errors);
  return out;
}

json::object MappingToJson(const std::vector<std::string>& columns, const ColumnMapping& mapping) {
  json::object out;
  for (size_t i = 0; i < columns.size(); ++i) {
    out[columns[i]] =
        i < mapping.size() && mapping[i] ? json::value(*mapping[i]) : json::value(nullptr);
  }
  return out;
}

Result<CsvInspection> InspectCsv(std::string_view data) {
  if (data.starts_with("\xFF\xFE") || data.starts_with("\xFE\xFF")) {
    return FileError("is UTF-16 or UTF-32; save it as UTF-8 (\"CSV UTF-8\")");
  }
  if (data.find('\0') != std::string_view::npos) {
    return FileError(
        "contains NUL bytes (UTF-16 without a byte order mark?); save it as UTF-8 (\"CSV UTF-8\")");
  }
  Utf8Census census = CountUtf8(data);
  if (census.invalid > 0 && census.multibyte == 0) {
    return FileError(
        "is not UTF-8 (it looks like Latin-1 or Windows-1252); save it as UTF-8 (\"CSV UTF-8\")");
  }
  ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(data));
  CsvInspection out;
  out.delimiter = reader.delimiter();
  out.columns = reader.header();
  CsvRow row;
  std::optional<CsvError> error;
  while (reader.Next(&row, &error)) {
    if (!error && out.preview.size() < kPreviewRows) out.preview.push_back(row.fields);
  }
  out.records = reader.rows_read();
  return out;
}

MappedRow::MappedRow(const std::vector<std::string>& columns, const ColumnMapping& mapping,
                     const std::vector<std::string>& fields, int64_t row)
    : row_(row) {
  const size_t prefix = std::strlen(kAttributesPrefix);
  for (size_t i = 0; i < columns.size() && i < mapping.size(); ++i) {
    if (!mapping[i]) continue;
    const std::string& field = *mapping[i];
    std::string cell = i < fields.size() ? fields[i] : std::string();
    // Undo AppendCsvRecord's formula guard.
    if (cell.size() >= 2 && cell[0] == '\'' && std::strchr("=+-@\t", cell[1]) != nullptr)
      cell.erase(0, 1);
    columns_.emplace_back(field, columns[i]);
    if (field.starts_with(kAttributesPrefix)) {
      attributes_.emplace_back(field.substr(prefix), std::move(cell));
    } else {
      cells_.emplace_back(field, std::move(cell));
    }
  }
}

std::optional<std::string> MappedRow::Get(const std::string& field) const {
  for (const auto& [f, cell] : cells_) {
    if (f == field) return cell;
  }
  return std::nullopt;
}

RowError MappedRow::Error(const std::string& field, std::string message) const {
  for (const auto& [f, column] : columns_) {
    if (f == field || (field == "attributes" && f.starts_with(kAttributesPrefix))) {
      return {row_, column, f, std::move(message)};
    }
  }
  return {row_, "", field, std::move(message)};
}

Result<CustomerInput> BuildCustomer(const MappedRow& row,
                                    const std::optional<CustomerInput>& existing, int64_t now_ms,
                                    std::vector<RowError>* errors) {
  const CustomerInput* ex = existing ? &*existing : nullptr;
  json::object body;
  body["external_id"] = row.Get("external_id").value_or("");
  // Empty type and status keep what is stored.
  for (auto [name, member] :
       {std::pair{"type", &CustomerInput::type}, std::pair{"status", &CustomerInput::status}}) {
    auto cell = row.Get(name);
    if (cell && !cell->empty()) {
      body[name] = *cell;
    } else if (ex) {
      body[name] = ex->*member;
    }
  }
  for (const auto& [name, member] : kScalars) {
    if (auto cell = row.Get(name)) {
      if (!cell->empty()) body[name] = *cell;
    } else if (ex && ex->*member) {
      body[name] = *(ex->*member);
    }
  }
  json::array tags;
  if (auto cell = row.Get("tags")) {
    std::string_view rest = *cell;
    for (;;) {
      size_t bar = rest.find('|');
      std::string_view tag = TrimSpaces(rest.substr(0, bar));
      if (!tag.empty()) tags.emplace_back(tag);
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
  } else if (ex) {
    for (const auto& t : ex->tags) tags.emplace_back(t);
  }
  body["tags"] = std::move(tags);
  json::object attributes = ex ? ex->attributes : json::object();
  for (const auto& [name, cell] : row.attributes()) {
    if (cell.empty()) {
      attributes.erase(name);
      continue;
    }
    // The same text keeps the stored value and its JSON type (a number stays a number).
    const json::value* have = attributes.if_contains(name);
    if (have && AttributeCellText(*have) == cell) continue;
    attributes[name] = cell;
  }
  body["attributes"] = std::move(attributes);
  json::object consent;
  for (const char* channel : {"email", "sms", "push"}) {
    auto cell = row.Get(std::string("consent_") + channel);
    if (!cell || TrimSpaces(*cell).empty()) continue;
    std::string status = ConsentStatus(*cell);
    if (ex) {
      auto it = ex->consent.find(channel);
      if (it != ex->consent.end() && it->second.status == status) {
        // Same status: keep source and time, so the customer is unchanged.
        consent[channel] = {{"status", status}, {"source", it->second.source}};
        continue;
      }
    }
    consent[channel] = {{"status", status}, {"source", "import"}};
  }
  if (!consent.empty()) body["consent"] = std::move(consent);
  Result<CustomerInput> in = ParseCustomer(body, std::nullopt, now_ms);
  if (!in.ok()) CollectErrors(row, in.status(), errors);
  return in;
}

Result<SubscriptionInput> BuildSubscription(const MappedRow& row,
                                            const std::optional<SubscriptionInput>& existing,
                                            std::vector<RowError>* errors) {
  const SubscriptionInput* ex = existing ? &*existing : nullptr;
  const size_t before = errors->size();
  const std::string external_id = row.Get("external_id").value_or("");
  if (Status st = ValidateExternalId(external_id); !st.ok()) {
    CollectErrors(row, st, errors);
    return st;
  }
  json::object body;
  for (auto [name, member] : {std::pair{"customer", &SubscriptionInput::customer},
                              std::pair{"product", &SubscriptionInput::product},
                              std::pair{"status", &SubscriptionInput::status}}) {
    auto cell = row.Get(name);
    if (cell && !cell->empty()) {
      body[name] = *cell;
    } else if (ex) {
      body[name] = ex->*member;
    }
  }
  for (auto [name, member] : {std::pair{"starts_at", &SubscriptionInput::starts_at},
                              std::pair{"ends_at", &SubscriptionInput::ends_at}}) {
    if (auto cell = row.Get(name)) {
      if (cell->empty()) continue;
      // Years far from now overflow the nanosecond clock ParseRfc3339 converts through.
      const bool digits =
          cell->size() >= 4 && std::all_of(cell->begin(), cell->begin() + 4, [](char ch) {
            return std::isdigit(static_cast<unsigned char>(ch));
          });
      const int year = digits ? std::stoi(cell->substr(0, 4)) : 0;
      if (!digits || year < 1900 || year > 2200) {
        errors->push_back(
            row.Error(name, "must be an RFC 3339 time or a date YYYY-MM-DD between 1900 and 2200"));
        continue;
      }
      body[name] = TimeCell(*cell);
    } else if (ex && ex->*member) {
      body[name] = FormatRfc3339(*(ex->*member));
    }
  }
  if (auto cell = row.Get("source")) {
    body["source"] = *cell;
  } else if (ex) {
    body["source"] = ex->source;
  }
  Result<SubscriptionInput> in = ParseSubscription(body, external_id);
  if (!in.ok()) CollectErrors(row, in.status(), errors);
  if (in.ok() && errors->size() > before)
    return Status::Validation({{errors->back().field, errors->back().message}});
  return in;
}

// ---------------------------------------------------------------------------
// ImportService

namespace {

constexpr const char* kImportSelect =
    "SELECT i.id, i.kind, i.filename, i.size_bytes, i.sha256, i.state, i.delimiter, i.columns, "
    "i.suggested_mapping, i.mapping, i.preview, i.job_id, i.rows_total, i.rows_done, "
    "i.created_count, "
    "i.updated_count, i.unchanged_count, i.failed_count, i.error, i.previous_import_id, i.actor, "
    "i.created_by, i.created_at, i.started_at, i.finished_at, j.state, j.last_error "
    "FROM imports i LEFT JOIN jobs j ON j.id = i.job_id";

std::optional<json::object> OptObject(const store::Row& r, size_t i) {
  if (r.IsNull(i)) return std::nullopt;
  auto o = ParseJsonObject(r.Str(i));
  return o.ok() ? std::optional<json::object>(std::move(o).value()) : std::nullopt;
}

Import RowToImport(const store::Row& r) {
  Import m;
  m.id = r.Int(0);
  m.kind = ParseImportKind(r.Str(1)).value_or(ImportKind::kCustomers);
  m.filename = r.Str(2);
  m.size_bytes = r.Int(3);
  m.sha256 = r.Str(4);
  m.state = r.Str(5);
  m.delimiter = r.Str(6).empty() ? ',' : r.Str(6)[0];
  m.columns = ParseStringArray(r.Str(7));
  m.suggested_mapping = OptObject(r, 8).value_or(json::object());
  m.mapping = OptObject(r, 9);
  std::error_code ec;
  json::value preview = json::parse(r.Str(10), ec);
  if (!ec && preview.is_array()) m.preview = std::move(preview.as_array());
  m.job_id = r.OptInt(11);
  m.rows_total = r.Int(12);
  m.counts = {r.Int(13), r.Int(14), r.Int(15), r.Int(16), r.Int(17)};
  m.error = r.OptStr(18);
  m.previous_import_id = r.OptInt(19);
  m.actor = OptObject(r, 20);
  m.created_by = r.Str(21);
  m.created_at = r.Int(22);
  m.started_at = r.OptInt(23);
  m.finished_at = r.OptInt(24);
  // A job that failed for good (or was cancelled while still queued) never gets to say so in
  // the import row: its state is the import's.
  const std::string job_state = r.Str(25);
  if ((m.state == "queued" || m.state == "running") &&
      (job_state == "failed" || job_state == "cancelled")) {
    m.state = job_state;
    if (!m.error) m.error = r.OptStr(26);
  }
  return m;
}

json::object ActorToJson(const audit::Actor& a) {
  return {{"type", a.type},
          {"id", a.id},
          {"label", a.label},
          {"request_id", a.request_id},
          {"client_ip", a.client_ip}};
}

audit::Actor ActorFromJson(const std::optional<json::object>& o, int64_t now_ms) {
  audit::Actor a = audit::Actor::System("import", now_ms);
  if (!o) return a;
  auto str = [&](const char* key) -> std::string {
    const json::value* v = o->if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  a.type = str("type");
  a.id = str("id");
  a.label = str("label");
  a.request_id = str("request_id");
  a.client_ip = str("client_ip");
  return a;
}

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::Internal("odd hex length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::Internal("bad hex");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// SQLite keeps the bytes as a BLOB; the PostgreSQL driver passes parameters as text, so bytes
// that are not UTF-8 travel hex-encoded into and out of the BYTEA column.
Status StoreFile(store::Connection& c, int64_t id, std::string_view data) {
  if (c.dialect() == store::Dialect::kPostgres) {
    return c
        .Execute("INSERT INTO import_files (import_id, data) VALUES (?, decode(?, 'hex'))",
                 {id, HexEncode(data)})
        .status();
  }
  return c
      .Execute("INSERT INTO import_files (import_id, data) VALUES (?, CAST(? AS BLOB))", {id, data})
      .status();
}

Result<std::string> LoadFile(store::Connection& c, int64_t id) {
  const bool pg = c.dialect() == store::Dialect::kPostgres;
  ASSIGN_OR_RETURN(
      auto row, c.QueryRow(pg ? "SELECT encode(data, 'hex') FROM import_files WHERE import_id = ?"
                              : "SELECT data FROM import_files WHERE import_id = ?",
                           {id}));
  if (!row) return Status::InvalidArgument("the file of import " + std::to_string(id) + " is gone");
  if (pg) return HexDecode(row->Str(0));
  return row->Str(0);
}

Result<std::vector<RowError>> LoadErrors(store::Connection& c, int64_t id,
                                         std::optional<size_t> limit) {
  std::string sql =
      "SELECT row_no, column_name, field, message FROM import_errors WHERE import_id = ? ORDER BY "
      "id";
  store::Params p{id};
  if (limit) {
    sql += " LIMIT ?";
    p.emplace_back(static_cast<int64_t>(*limit));
  }
  ASSIGN_OR_RETURN(store::QueryResult r, c.Execute(sql, p));
  std::vector<RowError> out;
  out.reserve(r.rows.size());
  for (const auto& row : r.rows) out.push_back({row.Int(0), row.Str(1), row.Str(2), row.Str(3)});
  return out;
}

struct StoredCustomer {
  CustomerInput data;
  bool erased = false;
};

// What CustomerService::Upsert will compare with, read on the import's connection so rows of the
// same chunk see each other. Locked on PostgreSQL like Upsert's own read, so nothing changes the
// customer between the merge and the write.
Result<std::optional<StoredCustomer>> LoadCustomer(store::Connection& c,
                                                   const std::string& external_id) {
  const bool pg = c.dialect() == store::Dialect::kPostgres;
  ASSIGN_OR_RETURN(
      auto row,
      c.QueryRow(
          std::string("SELECT id, type, salutation, first_name, last_name, company_name, email, "
                      "phone, language, country, time_zone, status, attributes, erased_at "
                      "FROM customers WHERE external_id = ?") +
              (pg ? " FOR UPDATE" : ""),
          {external_id}));
  if (!row) return std::optional<StoredCustomer>();
  StoredCustomer out;
  CustomerInput& d = out.data;
  const int64_t id = row->Int(0);
  d.external_id = external_id;
  d.type = row->Str(1);
  for (size_t i = 0; i < std::size(kScalars); ++i) d.*kScalars[i].second = row->OptStr(2 + i);
  d.status = row->Str(11);
  if (auto attrs = ParseJsonObject(row->Str(12)); attrs.ok())
    d.attributes = std::move(attrs).value();
  out.erased = !row->IsNull(13);
  ASSIGN_OR_RETURN(
      auto tags,
      c.Execute("SELECT tag FROM customer_tags WHERE customer_id = ? ORDER BY tag", {id}));
  for (const auto& r : tags.rows) d.tags.push_back(r.Str(0));
  ASSIGN_OR_RETURN(
      auto consents,
      c.Execute("SELECT channel, status, source, at FROM consents WHERE customer_id = ?", {id}));
  for (const auto& r : consents.rows) d.consent[r.Str(0)] = {r.Str(1), r.Str(2), r.Int(3)};
  return std::optional<StoredCustomer>(std::move(out));
}

Result<std::optional<SubscriptionInput>> LoadSubscription(store::Connection& c,
                                                          const std::string& external_id) {
  ASSIGN_OR_RETURN(
      auto row,
      c.QueryRow("SELECT c.external_id, p.code, s.status, s.starts_at, s.ends_at, s.source "
                 "FROM subscriptions s JOIN customers c ON c.id = s.customer_id "
                 "JOIN products p ON p.id = s.product_id WHERE s.external_id = ?",
                 {external_id}));
  if (!row) return std::optional<SubscriptionInput>();
  SubscriptionInput in;
  in.external_id = external_id;
  in.customer = row->Str(0);
  in.product = row->Str(1);
  in.status = row->Str(2);
  in.starts_at = row->OptInt(3);
  in.ends_at = row->OptInt(4);
  in.source = row->Str(5);
  return std::optional<SubscriptionInput>(std::move(in));
}

struct Record {
  int64_t number = 0;
  std::vector<std::string> fields;
  std::optional<CsvError> error;
};

// The database, not the row: the chunk is retried (or the job fails) rather than the row
// being reported as bad.
bool IsInfrastructure(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kInternal;
}

}  // namespace

json::object ImportToJson(const Import& m) {
  json::array columns, errors;
  for (const auto& c : m.columns) columns.emplace_back(c);
  for (const auto& e : m.first_errors) {
    errors.push_back(
        {{"row", e.row}, {"column", e.column}, {"field", e.field}, {"message", e.message}});
  }
  auto id_or_null = [](const std::optional<int64_t>& v) {
    return v ? json::value(std::to_string(*v)) : json::value(nullptr);
  };
  return {{"id", std::to_string(m.id)},
          {"kind", ImportKindName(m.kind)},
          {"filename", m.filename},
          {"size_bytes", m.size_bytes},
          {"sha256", m.sha256},
          {"state", m.state},
          {"delimiter", std::string(1, m.delimiter)},
          {"columns", std::move(columns)},
          {"mapping", m.mapping ? json::value(*m.mapping) : json::value(nullptr)},
          {"suggested_mapping", m.suggested_mapping},
          {"preview", m.preview},
          {"fields", ImportFieldsJson(m.kind)},
          {"job_id", id_or_null(m.job_id)},
          {"progress", {{"done", m.counts.rows}, {"total", m.rows_total}}},
          {"counts",
           {{"rows", m.counts.rows},
            {"created", m.counts.created},
            {"updated", m.counts.updated},
            {"unchanged", m.counts.unchanged},
            {"failed", m.counts.failed}}},
          {"errors", std::move(errors)},
          {"error", NullOr(m.error)},
          {"previous_import_id", id_or_null(m.previous_import_id)},
          {"created_by", m.created_by},
          {"created_at", FormatRfc3339(m.created_at)},
          {"started_at", TimeOrNull(m.started_at)},
          {"finished_at", TimeOrNull(m.finished_at)}};
}

ImportService::ImportService(store::Database& db, const Clock& clock, CustomerService& customers,
                             SubscriptionService& subscriptions, jobs::JobService& jobs,
                             ImportOptions options)
    : db_(db),
      clock_(clock),
      customers_(customers),
      subscriptions_(subscriptions),
      jobs_(jobs),
      options_(options) {}

Result<Import> ImportService::Load(store::Connection& c, int64_t id, bool for_update) {
  if (for_update && c.dialect() == store::Dialect::kPostgres) {
    RETURN_IF_ERROR(c.Execute("SELECT id FROM imports WHERE id = ? FOR UPDATE", {id}).status());
  }
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kImportSelect) + " WHERE i.id = ?", {id}));
  if (!row) return Status::NotFound("no import " + std::to_string(id));
  Import m = RowToImport(*row);
  ASSIGN_OR_RETURN(m.first_errors, LoadErrors(c, id, kMaxErrorsShown));
  return m;
}

Result<Import> ImportService::Upload(const audit::Actor& actor, ImportKind kind,
                                     const std::string& filename, std::string_view data) {
  if (filename.empty() || filename.size() > kMaxFilename ||
      std::any_of(filename.begin(), filename.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) < 0x20; }) ||
      CountUtf8(filename).invalid > 0) {
    return Status::BadParameter("filename", "must be 1 to 255 characters of UTF-8 text");
  }
  ASSIGN_OR_RETURN(CsvInspection inspection, InspectCsv(data));
  const std::string sha256 = Sha256Hex(data);
  json::array columns, preview;
  for (const auto& c : inspection.columns) columns.emplace_back(c);
  for (const auto& row : inspection.preview) {
    json::array cells;
    for (const auto& cell : row) cells.emplace_back(cell);
    preview.push_back(std::move(cells));
  }
  const json::object suggested =
      MappingToJson(inspection.columns, SuggestMapping(kind, inspection.columns));
  int64_t id = 0;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(
        auto prev,
        c.QueryRow("SELECT id FROM imports WHERE sha256 = ? AND kind = ? ORDER BY id DESC "
                   "LIMIT 1",
                   {sha256, ImportKindName(kind)}));
    ASSIGN_OR_RETURN(
        auto row,
        c.QueryRow(
            "INSERT INTO imports (kind, filename, size_bytes, sha256, state, delimiter, columns, "
            "suggested_mapping, preview, rows_total, previous_import_id, created_by, created_at) "
            "VALUES (?, ?, ?, ?, 'uploaded', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            {ImportKindName(kind), filename, static_cast<int64_t>(data.size()), sha256,
             std::string(1, inspection.delimiter), json::serialize(columns),
             json::serialize(suggested), json::serialize(preview), inspection.records,
             prev ? store::Value(prev->Int(0)) : store::Value(nullptr), actor.label,
             actor.now_ms}));
    id = row->Int(0);
    RETURN_IF_ERROR(StoreFile(c, id, data));
    return audit::Record(
        c, actor,
        {"import.create", "import", std::to_string(id), std::nullopt,
         json::value(json::object{{"kind", ImportKindName(kind)},
                                  {"filename", filename},
                                  {"size_bytes", static_cast<int64_t>(data.size())},
                                  {"sha256", sha256},
                                  {"rows", inspection.records}})});
  }));
  return Get(id);
}

Result<Import> ImportService::Start(const audit::Actor& actor, int64_t id,
                                    const json::object* mapping) {
  // Read back in the transaction: a worker may pick the job up as soon as it commits, and the
  // answer is the import as this call left it.
  Result<Import> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Import m, Load(c, id, true));
    if (m.state != "uploaded") {
      return Status::FailedPrecondition("import " + std::to_string(id) + " is " + m.state +
                                        "; upload the file again to import it again");
    }
    ASSIGN_OR_RETURN(ColumnMapping parsed,
                     ParseMapping(m.kind, m.columns, mapping ? *mapping : m.suggested_mapping));
    const json::object stored = MappingToJson(m.columns, parsed);
    jobs::EnqueueRequest req;
    req.kind = kJobKind;
    req.payload = {{"import_id", id}};
    req.created_by = actor.label;
    ASSIGN_OR_RETURN(int64_t job_id, jobs_.Enqueue(c, req));
    RETURN_IF_ERROR(
        c.Execute("UPDATE imports SET state = 'queued', mapping = ?, job_id = ?, actor = ?, "
                  "started_at = ? WHERE id = ?",
                  {json::serialize(stored), job_id, json::serialize(ActorToJson(actor)),
                   actor.now_ms, id})
            .status());
    RETURN_IF_ERROR(audit::Record(
        c, actor,
        {"import.start", "import", std::to_string(id), std::nullopt,
         json::value(json::object{{"mapping", stored}, {"job_id", std::to_string(job_id)}})}));
    out = Load(c, id, false);
    return out.status();
  }));
  return out;
}

Result<Import> ImportService::Cancel(const audit::Actor& actor, int64_t id) {
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Import m, Load(c, id, true));
    if (m.state == "uploaded") {
      RETURN_IF_ERROR(
          c.Execute("UPDATE imports SET state = 'cancelled', finished_at = ? WHERE id = ?",
                    {actor.now_ms, id})
              .status());
    } else if ((m.state == "queued" || m.state == "running") && m.job_id) {
      RETURN_IF_ERROR(jobs_.RequestCancel(c, *m.job_id).status());
    } else {
      return Status::FailedPrecondition("import " + std::to_string(id) + " is " + m.state);
    }
    return audit::Record(
        c, actor, {"import.cancel", "import", std::to_string(id), std::nullopt, std::nullopt});
  }));
  return Get(id);
}

Result<Import> ImportService::Get(int64_t id) {
  Result<Import> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    out = Load(c, id, false);
    return out.status();
  }));
  return out;
}

Result<std::pair<std::vector<Import>, std::optional<int64_t>>> ImportService::List(
    std::optional<int64_t> before_id, int limit) {
  std::vector<Import> items;
  std::optional<int64_t> next;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    std::string sql = kImportSelect;
    store::Params p;
    if (before_id) {
      sql += " WHERE i.id < ?";
      p.emplace_back(*before_id);
    }
    sql += " ORDER BY i.id DESC LIMIT ?";
    p.emplace_back(static_cast<int64_t>(limit + 1));
    ASSIGN_OR_RETURN(store::QueryResult r, c.Execute(sql, p));
    for (size_t i = 0; i < r.rows.size() && static_cast<int>(i) < limit; ++i) {
      Import m = RowToImport(r.rows[i]);
      ASSIGN_OR_RETURN(m.first_errors, LoadErrors(c, m.id, kMaxErrorsShown));
      items.push_back(std::move(m));
    }
    if (static_cast<int>(r.rows.size()) > limit) next = items.back().id;
    return Status::Ok();
  }));
  return std::make_pair(std::move(items), next);
}

Result<std::string> ImportService::ErrorsCsv(int64_t id) {
  std::string out;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto exists, c.QueryRow("SELECT id FROM imports WHERE id = ?", {id}));
    if (!exists) return Status::NotFound("no import " + std::to_string(id));
    ASSIGN_OR_RETURN(std::vector<RowError> errors, LoadErrors(c, id, std::nullopt));
    AppendCsvRecord(&out, {"row", "column", "field", "message"});
    for (const auto& e : errors)
      AppendCsvRecord(&out, {std::to_string(e.row), e.column, e.field, e.message});
    return Status::Ok();
  }));
  return out;
}

Status ImportService::SetFinalState(int64_t id, const std::string& state,
                                    const std::optional<std::string>& error) {
  return db_
      .Execute(
          "UPDATE imports SET state = ?, error = ?, finished_at = ? WHERE id = ? AND state IN "
          "('queued', 'running')",
          {state, error, clock_.NowMs(), id})
      .status();
}

Status ImportService::Run(int64_t id, int64_t job_id,
                          const std::function<bool(int64_t, int64_t)>& progress) {
  Import m;
  std::string data;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    auto loaded = Load(c, id, false);
    if (loaded.status().code() == StatusCode::kNotFound)
      return Status::InvalidArgument(loaded.status().message());
    ASSIGN_OR_RETURN(m, std::move(loaded));
    if (m.state != "queued" && m.state != "running") return Status::Ok();
    ASSIGN_OR_RETURN(data, LoadFile(c, id));
    return Status::Ok();
  }));
  if (m.state != "queued" && m.state != "running")
    return Status::Ok();  // finished by an earlier attempt
  if (m.job_id != job_id) {
    return Status::InvalidArgument("import " + std::to_string(id) + " belongs to another job");
  }
  auto fail = [&](const std::string& why) -> Status {
    RETURN_IF_ERROR(SetFinalState(id, "failed", why));
    return Status::InvalidArgument(why);
  };
  auto mapping = ParseMapping(m.kind, m.columns, m.mapping.value_or(json::object()));
  if (!mapping.ok()) return fail("the mapping is not valid: " + mapping.status().ToString());
  auto opened = CsvReader::Open(data);
  if (!opened.ok() || opened->header() != m.columns) return fail("the stored file cannot be read");
  CsvReader& reader = *opened;
  RETURN_IF_ERROR(
      db_.Execute(
             "UPDATE imports SET state = 'running' WHERE id = ? AND state IN ('queued', 'running')",
             {id})
          .status());

  const int64_t total = m.rows_total;
  ImportCounts counts = m.counts;
  CsvRow row;
  std::optional<CsvError> csv_error;
  // Records an earlier attempt committed.
  while (reader.rows_read() < counts.rows && reader.Next(&row, &csv_error)) {
  }
  if (!progress(counts.rows, total)) return Status::FailedPrecondition("stopped");

  std::vector<Record> chunk;
  for (bool more = true; more;) {
    chunk.clear();
    while (static_cast<int>(chunk.size()) < options_.chunk_rows &&
           (more = reader.Next(&row, &csv_error))) {
      chunk.push_back({row.number, row.fields, csv_error});
    }
    if (chunk.empty()) break;
    const int64_t done_before = counts.rows;
    const int64_t done_after = chunk.back().number;
    ImportCounts after;
    RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
      after = counts;
      std::vector<RowError> errors;
      // Another run (a job whose lease was taken over) may have committed this chunk already.
      ASSIGN_OR_RETURN(
          auto cur, c.QueryRow(std::string("SELECT rows_done, state FROM imports WHERE id = ?") +
                                   (c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : ""),
                               {id}));
      if (!cur || cur->Int(0) != done_before || cur->Str(1) != "running") {
        return Status::FailedPrecondition("import " + std::to_string(id) +
                                          " was advanced by another run");
      }
      audit::Actor actor = ActorFromJson(m.actor, clock_.NowMs());
      for (const Record& rec : chunk) {
        ++after.rows;
        const int64_t row_no = rec.number + 1;  // the header is row 1
        if (rec.error) {
          std::string field;
          auto col = std::find(m.columns.begin(), m.columns.end(), rec.error->column);
          if (col != m.columns.end() && (*mapping)[col - m.columns.begin()])
            field = *(*mapping)[col - m.columns.begin()];
          errors.push_back({row_no, rec.error->column, field, rec.error->message});
          ++after.failed;
          continue;
        }
        MappedRow mapped(m.columns, *mapping, rec.fields, row_no);
        const std::string external_id = mapped.Get("external_id").value_or("");
        const size_t errors_before = errors.size();
        Status applied = Status::Ok();
        bool created = false, changed = false;
        RETURN_IF_ERROR(c.ExecuteScript("SAVEPOINT import_row"));
        if (m.kind == ImportKind::kCustomers) {
          std::optional<StoredCustomer> stored;
          if (ValidateExternalId(external_id).ok()) {
            ASSIGN_OR_RETURN(stored, LoadCustomer(c, external_id));
          }
          if (stored && stored->erased) {
            errors.push_back(mapped.Error("external_id", "the customer was erased"));
          } else {
            auto in = BuildCustomer(mapped, stored ? std::optional(stored->data) : std::nullopt,
                                    actor.now_ms, &errors);
            if (in.ok()) {
              auto up = customers_.Upsert(c, actor, *in, std::nullopt);
              applied = up.status();
              if (up.ok()) {
                created = up->created;
                changed = up->changed;
              }
            }
          }
        } else {
          std::optional<SubscriptionInput> stored;
          if (ValidateExternalId(external_id).ok()) {
            ASSIGN_OR_RETURN(stored, LoadSubscription(c, external_id));
          }
          auto in = BuildSubscription(mapped, stored, &errors);
          if (in.ok()) {
            auto up = subscriptions_.Upsert(c, actor, *in, std::nullopt);
            applied = up.status();
            if (up.ok()) {
              created = !stored && up->second;
              changed = up->second;
            }
          }
        }
        if (!applied.ok() && IsInfrastructure(applied)) return applied;
        if (!applied.ok()) CollectErrors(mapped, applied, &errors);
        if (errors.size() > errors_before) {
          RETURN_IF_ERROR(c.ExecuteScript("ROLLBACK TO SAVEPOINT import_row"));
          RETURN_IF_ERROR(c.ExecuteScript("RELEASE SAVEPOINT import_row"));
          ++after.failed;
          continue;
        }
        RETURN_IF_ERROR(c.ExecuteScript("RELEASE SAVEPOINT import_row"));
        ++(created ? after.created : changed ? after.updated : after.unchanged);
      }
      for (const RowError& e : errors) {
        RETURN_IF_ERROR(
            c.Execute("INSERT INTO import_errors (import_id, row_no, column_name, field, message) "
                      "VALUES (?, ?, ?, ?, ?)",
                      {id, e.row, e.column, e.field, e.message})
                .status());
      }
      after.rows = done_after;
      ASSIGN_OR_RETURN(
          store::QueryResult upd,
          c.Execute("UPDATE imports SET rows_done = ?, created_count = ?, updated_count = ?, "
                    "unchanged_count = ?, failed_count = ? WHERE id = ? AND rows_done = ?",
                    {after.rows, after.created, after.updated, after.unchanged, after.failed, id,
                     done_before}));
      if (upd.affected != 1)
        return Status::FailedPrecondition("import " + std::to_string(id) + " moved on");
      return Status::Ok();
    }));
    counts = after;
    if (!progress(counts.rows, total)) return Status::FailedPrecondition("stopped");
  }
  RETURN_IF_ERROR(
      db_.Execute(
             "UPDATE imports SET state = 'succeeded', finished_at = ? WHERE id = ? AND state = "
             "'running' AND rows_done = ?",
             {clock_.NowMs(), id, counts.rows})
          .status());
  LogInfo("import finished", {{"import_id", id},
                              {"rows", counts.rows},
                              {"created", counts.created},
                              {"updated", counts.updated},
                              {"unchanged", counts.unchanged},
                              {"failed", counts.failed}});
  return Status::Ok();
}

jobs::JobKind ImportService::JobKind() {
  auto read_id = [](const json::object& payload) -> Result<int64_t> {
    JsonReader r(payload, "payload.");
    auto id = r.Int("import_id", true, 1, INT64_MAX);
    RETURN_IF_ERROR(r.Finish());
    return *id;
  };
  jobs::JobKind kind;
  kind.kind = kJobKind;
  kind.description = "Applies an uploaded CSV import (payload.import_id), chunk by chunk";
  kind.max_attempts = 5;
  kind.validate = [read_id](const json::object& p) { return read_id(p).status(); };
  kind.handler = [this, read_id](jobs::JobContext& ctx) -> Status {
    ASSIGN_OR_RETURN(int64_t id, read_id(ctx.payload()));
    bool cancelled = false, lease_lost = false;
    Status st = Run(id, ctx.job_id(), [&](int64_t done, int64_t total) {
      if (!ctx.SetProgress(done, std::max(done, total)).ok()) {
        lease_lost = true;
        return false;
      }
      cancelled = ctx.CancelRequested();
      return !cancelled;
    });
    if (cancelled && !lease_lost) {
      RETURN_IF_ERROR(SetFinalState(id, "cancelled", std::nullopt));
      return jobs::Cancelled();
    }
    // Errors other than kInvalidArgument are retried by the job service (resuming after the last
    // committed chunk); after the last attempt the import shows the job's error.
    return st;
  };
  return kind;
}

}  // namespace kontor::clients
