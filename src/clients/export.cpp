#include "clients/export.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "clients/csv_reader.h"
#include "clients/import.h"

namespace kontor::clients {
namespace {

// The conditions of CustomerService::List, over alias c. Kept in step with it: the black-box
// export test compares an export with GET /v1/customers for the same list and segment.
void AppendFilter(const CustomerService::Filter& f, std::string* sql, store::Params* p) {
  *sql += " WHERE 1=1";
  if (f.q) {
    std::string like;
    for (char ch : *f.q) {
      if (ch == '%' || ch == '_' || ch == '\\') like += '\\';
      like += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    like = "%" + like + "%";
    *sql +=
        " AND (LOWER(c.email) LIKE ? ESCAPE '\\' OR LOWER(c.first_name) LIKE ? ESCAPE '\\' OR "
        "LOWER(c.last_name) LIKE ? ESCAPE '\\' OR LOWER(c.company_name) LIKE ? ESCAPE '\\' OR "
        "c.external_id = ?)";
    for (int i = 0; i < 4; ++i) p->emplace_back(like);
    p->emplace_back(*f.q);
  }
  if (f.status) {
    *sql += " AND c.status = ?";
    p->emplace_back(*f.status);
  }
  if (f.tag) {
    *sql += " AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)";
    p->emplace_back(*f.tag);
  }
  if (f.updated_since) {
    *sql += " AND c.updated_at >= ?";
    p->emplace_back(*f.updated_since);
  }
  if (f.segment_where) {
    *sql += " AND (" + *f.segment_where + ") AND c.status <> 'erased'";
    p->insert(p->end(), f.segment_params.begin(), f.segment_params.end());
  }
}

constexpr const char* kRowColumns =
    "c.id, c.external_id, c.type, c.salutation, c.first_name, c.last_name, c.company_name, "
    "c.email, c.phone, c.language, c.country, c.time_zone, c.status, c.attributes, c.erased_at";
constexpr int kFirstScalar = 3;  // salutation ... time_zone: columns 3-11, in field order
constexpr int kScalarCount = 9;

}  // namespace

std::string AttributeCellText(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), v.get_double());
      return std::string(buf, r.ptr);
    }
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::null:
      return "";
    default:
      return json::serialize(v);
  }
}

Result<CustomerExport> ExportCustomersCsv(store::Database& db,
                                          const CustomerService::Filter& filter,
                                          const CsvSink& sink, int page_size) {
  CustomerExport out;
  std::string text;
  std::vector<std::string> header;
  for (const ImportField& f : ImportFields(ImportKind::kCustomers)) header.push_back(f.name);

  RETURN_IF_ERROR(db.WithConnection([&](store::Connection& c) -> Status {
    const bool pg = c.dialect() == store::Dialect::kPostgres;
    std::string where;
    store::Params params;
    AppendFilter(filter, &where, &params);
    ASSIGN_OR_RETURN(
        store::QueryResult keys,
        c.Execute(
            std::string(pg ? "SELECT DISTINCT k FROM customers c, jsonb_object_keys(c.attributes) k"
                           : "SELECT DISTINCT j.key FROM customers c, json_each(c.attributes) j") +
                where,
            params));
    for (const auto& r : keys.rows) out.attribute_names.push_back(r.Str(0));
    std::sort(out.attribute_names.begin(), out.attribute_names.end());
    for (const auto& name : out.attribute_names) header.push_back("attributes." + name);
    AppendCsvRecord(&text, header);
    RETURN_IF_ERROR(sink(text));

    std::vector<std::string> cells(header.size());
    int64_t after = 0;
    for (;;) {
      store::Params p = params;
      p.emplace_back(after);
      p.emplace_back(static_cast<int64_t>(page_size));
      ASSIGN_OR_RETURN(store::QueryResult page,
                       c.Execute(std::string("SELECT ") + kRowColumns + " FROM customers c" +
                                     where + " AND c.id > ? ORDER BY c.id LIMIT ?",
                                 p));
      if (page.rows.empty()) break;
      text.clear();
      const int64_t first = page.rows.front().Int(0), last = page.rows.back().Int(0);
      // Tags and consent of the id range in one query each; ids in the range that the filter
      // left out are simply not looked up.
      std::map<int64_t, std::string> tags;
      ASSIGN_OR_RETURN(
          store::QueryResult tag_rows,
          c.Execute("SELECT customer_id, tag FROM customer_tags WHERE customer_id >= ? AND "
                    "customer_id <= ? ORDER BY customer_id, tag",
                    {first, last}));
      for (const auto& r : tag_rows.rows) {
        std::string& t = tags[r.Int(0)];
        if (!t.empty()) t += '|';
        t += r.Str(1);
      }
      std::map<std::pair<int64_t, std::string>, std::string> consent;
      ASSIGN_OR_RETURN(
          store::QueryResult consent_rows,
          c.Execute("SELECT customer_id, channel, status FROM consents WHERE customer_id >= ? AND "
                    "customer_id <= ?",
                    {first, last}));
      for (const auto& r : consent_rows.rows) consent[{r.Int(0), r.Str(1)}] = r.Str(2);

      for (const auto& r : page.rows) {
        const int64_t id = r.Int(0);
        size_t k = 0;
        cells[k++] = r.Str(1);
        cells[k++] = r.Str(2);
        for (int i = 0; i < kScalarCount; ++i) cells[k++] = r.Str(kFirstScalar + i);
        cells[k++] = r.IsNull(14) ? r.Str(12) : "erased";
        auto t = tags.find(id);
        cells[k++] = t == tags.end() ? "" : t->second;
        for (const char* channel : {"email", "sms", "push"}) {
          auto it = consent.find({id, channel});
          cells[k++] = it == consent.end() ? "" : it->second;
        }
        json::object attrs;
        if (auto parsed = ParseJsonObject(r.Str(13)); parsed.ok())
          attrs = std::move(parsed).value();
        for (const auto& name : out.attribute_names) {
          const json::value* v = attrs.if_contains(name);
          cells[k++] = v ? AttributeCellText(*v) : "";
        }
        AppendCsvRecord(&text, cells);
        ++out.rows;
      }
      RETURN_IF_ERROR(sink(text));
      after = last;
      if (static_cast<int>(page.rows.size()) < page_size) break;
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace kontor::clients
