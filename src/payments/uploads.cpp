#include "payments/uploads.h"

#include <algorithm>
#include <map>

#include "clients/csv_reader.h"
#include "core/crypto.h"

namespace kontor::payments {
namespace {

constexpr const char* kUploadColumns =
    "id, originator_id, filename, sha256, status, total_rows, valid_rows, error_rows, "
    "submitted_rows, errors, created_by, created_at, submitted_at";
const std::vector<std::string> kKnownColumns = {
    "counterparty_id", "direction",         "amount",          "amount_cents",
    "sec_code",        "effective_date",    "same_day",        "entry_description",
    "addenda",         "payment_type_code", "idempotency_key", "individual_id"};

Upload RowToUpload(const store::Row& r) {
  Upload u;
  u.id = r.Int(0);
  u.originator_id = r.Int(1);
  u.filename = r.Str(2);
  u.sha256 = r.Str(3);
  u.status = r.Str(4);
  u.total_rows = r.Int(5);
  u.valid_rows = r.Int(6);
  u.error_rows = r.Int(7);
  u.submitted_rows = r.Int(8);
  std::error_code ec;
  json::value v = json::parse(r.Str(9), ec);
  if (!ec && v.is_array()) u.errors = v.get_array();
  u.created_by = r.Str(10);
  u.created_at = r.Int(11);
  u.submitted_at = r.OptInt(12);
  return u;
}

// "1234.56", "1234.5", "1234", "1,234.56" → cents; nullopt when not money.
std::optional<int64_t> ParseDollars(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  if (!s.empty() && s[0] == '$') s.erase(0, 1);
  if (s.empty()) return std::nullopt;
  int64_t whole = 0, cents = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (s[i] < '0' || s[i] > '9' || whole > 99999999999LL) return std::nullopt;
    whole = whole * 10 + (s[i] - '0');
  }
  if (i < s.size()) {
    std::string frac = s.substr(i + 1);
    if (frac.empty() || frac.size() > 2) return std::nullopt;
    for (char ch : frac) {
      if (ch < '0' || ch > '9') return std::nullopt;
    }
    if (frac.size() == 1) frac += '0';
    cents = std::stoi(frac);
  }
  return whole * 100 + cents;
}

std::optional<bool> ParseBool(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (s == "true" || s == "yes" || s == "1" || s == "y") return true;
  if (s == "false" || s == "no" || s == "0" || s == "n" || s.empty()) return false;
  return std::nullopt;
}

// The CSV column an API field error belongs to.
std::string ColumnOf(const std::string& field, bool dollars) {
  if (field == "amount_cents") return dollars ? "amount" : "amount_cents";
  if (field.rfind("counterparty", 0) == 0) return "counterparty_id";
  if (field == "originator" || field == "originator_id") return "";
  return field;
}

}  // namespace

json::object UploadToJson(const Upload& u, bool with_errors) {
  json::object o{{"id", std::to_string(u.id)},
                 {"originator_id", std::to_string(u.originator_id)},
                 {"filename", u.filename},
                 {"sha256", u.sha256},
                 {"status", u.status},
                 {"total_rows", u.total_rows},
                 {"valid_rows", u.valid_rows},
                 {"error_rows", u.error_rows},
                 {"submitted_rows", u.submitted_rows},
                 {"created_by", u.created_by},
                 {"created_at", FormatRfc3339(u.created_at)},
                 {"submitted_at", TimeOrNull(u.submitted_at)}};
  if (with_errors) o["errors"] = u.errors;
  return o;
}

UploadService::UploadService(store::Database& db, const Clock& clock, PaymentService& payments)
    : db_(db), clock_(clock), payments_(payments) {}

Result<Upload> UploadService::Create(const audit::Actor& a, int64_t originator_id,
                                     const std::string& filename, std::string_view csv) {
  RETURN_IF_ERROR(payments_.registry().GetOriginator(originator_id).status());
  clients::CsvOptions opts;
  opts.max_rows = 100000;
  opts.max_field_bytes = 9999 * 80;
  ASSIGN_OR_RETURN(clients::CsvReader reader, clients::CsvReader::Open(csv, opts));
  const auto& header = reader.header();
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) {
    if (std::find(kKnownColumns.begin(), kKnownColumns.end(), header[i]) == kKnownColumns.end()) {
      return Status::Validation(
          {{"file", "unknown column \"" + header[i] +
                        "\"; the columns are counterparty_id, direction, "
                        "amount or amount_cents, sec_code, effective_date, "
                        "same_day, entry_description, addenda, "
                        "payment_type_code, idempotency_key, individual_id"}});
    }
    col[header[i]] = i;
  }
  for (const char* need : {"counterparty_id", "direction", "sec_code"}) {
    if (!col.count(need)) {
      return Status::Validation({{"file", std::string("the header lacks the column ") + need}});
    }
  }
  const bool dollars = col.count("amount") > 0;
  if (!dollars && !col.count("amount_cents")) {
    return Status::Validation({{"file", "the header needs an amount or amount_cents column"}});
  }
  const std::string sha = Sha256Hex(csv);
  Upload u;
  u.originator_id = originator_id;
  u.filename = filename;
  u.sha256 = sha;
  u.status = "validated";
  json::array rows;
  clients::CsvRow row;
  std::optional<clients::CsvError> err;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    while (reader.Next(&row, &err)) {
      ++u.total_rows;
      auto add_error = [&](int64_t n, const std::string& column, const std::string& message) {
        u.errors.push_back({{"row", n}, {"column", column}, {"message", message}});
      };
      if (err) {
        add_error(err->row + 1, err->column, err->message);
        ++u.error_rows;
        continue;
      }
      // Rows are numbered as a spreadsheet shows them: the header is row 1.
      const int64_t line = row.number + 1;
      auto get = [&](const char* name) -> std::string {
        auto it = col.find(name);
        return it == col.end() ? std::string() : row.fields[it->second];
      };
      json::object body{{"originator_id", std::to_string(originator_id)}};
      bool bad = false;
      body["counterparty_id"] = get("counterparty_id");
      body["direction"] = get("direction");
      body["sec_code"] = get("sec_code");
      if (dollars) {
        auto cents = ParseDollars(get("amount"));
        if (!cents) {
          add_error(line, "amount", "must be an amount in dollars such as 1234.56");
          bad = true;
        } else {
          body["amount_cents"] = *cents;
        }
      } else {
        const std::string v = get("amount_cents");
        char* end = nullptr;
        long long cents = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || cents < 0) {
          add_error(line, "amount_cents", "must be a whole number of cents");
          bad = true;
        } else {
          body["amount_cents"] = static_cast<int64_t>(cents);
        }
      }
      for (const char* opt : {"effective_date", "entry_description", "addenda", "payment_type_code",
                              "individual_id"}) {
        std::string v = get(opt);
        if (!v.empty()) body[opt] = v;
      }
      if (col.count("same_day")) {
        auto b = ParseBool(get("same_day"));
        if (!b) {
          add_error(line, "same_day", "must be true or false");
          bad = true;
        } else {
          body["same_day"] = *b;
        }
      }
      std::string key = get("idempotency_key");
      if (key.empty()) key = "upload-" + sha.substr(0, 16) + "-row-" + std::to_string(line);
      body["idempotency_key"] = key;
      if (!bad) {
        Status st = payments_.Check(c, body);
        if (!st.ok()) {
          bad = true;
          if (st.fields().empty()) {
            add_error(line, "", st.message());
          } else {
            for (const auto& f : st.fields()) {
              add_error(line, ColumnOf(f.field, dollars), f.message);
            }
          }
        }
      }
      if (bad) {
        ++u.error_rows;
      } else {
        ++u.valid_rows;
        rows.push_back({{"row", line}, {"body", body}});
      }
    }
    return Status::Ok();
  }));
  if (u.total_rows == 0) return Status::Validation({{"file", "the file has no data rows"}});
  u.created_by = a.label.empty() ? a.type : a.label;
  u.created_at = clock_.NowMs();
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(
        auto ins,
        c.Execute("INSERT INTO payment_uploads (originator_id, filename, sha256, status, "
                  "total_rows, valid_rows, error_rows, errors, rows_json, created_by, created_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                  {originator_id, filename, sha, u.status, u.total_rows, u.valid_rows, u.error_rows,
                   json::serialize(u.errors), json::serialize(rows), u.created_by, u.created_at}));
    u.id = ins.rows.front().Int(0);
    return audit::Record(c, a,
                         {"payment_upload.create", "payment_upload", std::to_string(u.id),
                          std::nullopt, json::value(UploadToJson(u, false))});
  }));
  return u;
}

Result<Upload> UploadService::Get(int64_t id) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string("SELECT ") + kUploadColumns +
                                              " FROM payment_uploads WHERE id = ?",
                                          {id}));
  if (!row) return Status::NotFound("no payment upload " + std::to_string(id));
  return RowToUpload(*row);
}

Result<Page<Upload>> UploadService::List(std::optional<int64_t> before, int limit) {
  ASSIGN_OR_RETURN(auto res, db_.Execute(std::string("SELECT ") + kUploadColumns +
                                             " FROM payment_uploads WHERE id < ? ORDER BY id "
                                             "DESC LIMIT ?",
                                         {before.value_or(INT64_MAX), limit + 1}));
  std::vector<Upload> items;
  for (const auto& r : res.rows) items.push_back(RowToUpload(r));
  return MakePage(std::move(items), limit);
}

Result<std::string> UploadService::ErrorsCsv(int64_t id) {
  ASSIGN_OR_RETURN(Upload u, Get(id));
  std::string out;
  clients::AppendCsvRecord(&out, {"row", "column", "message"});
  for (const auto& e : u.errors) {
    const auto& o = e.as_object();
    clients::AppendCsvRecord(
        &out, {std::to_string(o.at("row").as_int64()), std::string(o.at("column").as_string()),
               std::string(o.at("message").as_string())});
  }
  return out;
}

Result<Upload> UploadService::Submit(const audit::Actor& a, int64_t id, bool only_valid) {
  Upload out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kUploadColumns +
                                              ", rows_json FROM payment_uploads WHERE id = ?",
                                          {id}));
    if (!row) return Status::NotFound("no payment upload " + std::to_string(id));
    Upload u = RowToUpload(*row);
    if (u.status != "validated") {
      return Status::FailedPrecondition("upload " + std::to_string(id) + " is " + u.status);
    }
    if (u.error_rows > 0 && !only_valid) {
      return Status::FailedPrecondition(
          "the file has " + std::to_string(u.error_rows) +
          " row(s) with errors; nothing was queued. Fix the file, or submit with "
          "{\"only_valid\": true} to queue its " +
          std::to_string(u.valid_rows) + " valid row(s)");
    }
    std::error_code ec;
    json::value rows = json::parse(row->Str(13), ec);
    if (ec || !rows.is_array()) return Status::Internal("upload rows unreadable");
    std::vector<FieldError> failed;
    int64_t queued = 0;
    for (const auto& r : rows.as_array()) {
      const auto& o = r.as_object();
      const int64_t n = o.at("row").as_int64();
      auto made = payments_.CreateIn(c, a, o.at("body").as_object(), std::nullopt,
                                     std::pair<int64_t, int64_t>{id, n});
      if (!made.ok()) {
        if (made.status().code() != StatusCode::kValidation &&
            made.status().code() != StatusCode::kConflict) {
          return made.status();
        }
        const auto& fs = made.status().fields();
        failed.push_back(
            {"rows[" + std::to_string(n) + "]",
             fs.empty() ? made.status().message() : fs.front().field + ": " + fs.front().message});
        continue;
      }
      ++queued;
    }
    if (!failed.empty()) {
      // Something changed since validation (a counterparty disabled, a date
      // passed): all or none, so the operator sees one consistent outcome.
      return Status::Validation(std::move(failed),
                                "rows no longer valid; nothing was queued. Upload the file again");
    }
    const int64_t now = clock_.NowMs();
    RETURN_IF_ERROR(c.Execute("UPDATE payment_uploads SET status = 'submitted', submitted_rows = "
                              "?, submitted_at = ?, rows_json = '[]' WHERE id = ?",
                              {queued, now, id})
                        .status());
    u.status = "submitted";
    u.submitted_rows = queued;
    u.submitted_at = now;
    RETURN_IF_ERROR(
        audit::Record(c, a,
                      {"payment_upload.submit", "payment_upload", std::to_string(id), std::nullopt,
                       json::value(json::object{{"queued", queued}, {"only_valid", only_valid}})}));
    out = u;
    return Status::Ok();
  }));
  return out;
}

Result<Upload> UploadService::Discard(const audit::Actor& a, int64_t id) {
  Upload out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kUploadColumns +
                                              " FROM payment_uploads WHERE id = ?",
                                          {id}));
    if (!row) return Status::NotFound("no payment upload " + std::to_string(id));
    Upload u = RowToUpload(*row);
    if (u.status != "validated") {
      return Status::FailedPrecondition("upload " + std::to_string(id) + " is " + u.status);
    }
    RETURN_IF_ERROR(c.Execute("UPDATE payment_uploads SET status = 'discarded', rows_json = '[]' "
                              "WHERE id = ?",
                              {id})
                        .status());
    u.status = "discarded";
    RETURN_IF_ERROR(audit::Record(c, a,
                                  {"payment_upload.discard", "payment_upload", std::to_string(id),
                                   std::nullopt, std::nullopt}));
    out = u;
    return Status::Ok();
  }));
  return out;
}

}  // namespace kontor::payments
