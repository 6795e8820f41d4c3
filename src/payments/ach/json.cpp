#include "payments/ach/json.h"

#include <boost/json.hpp>

namespace kontor::payments::ach {
namespace json = boost::json;

json::object RecordToJson(const Record& record) {
  json::object o;
  if (!record.layout) return o;
  for (const Field& f : record.layout->fields) {
    if (f.kind == FieldKind::kConst || record.text.size() < static_cast<size_t>(f.end())) continue;
    std::string_view v = f.In(record.text);
    if (f.kind == FieldKind::kAmount && !v.empty() &&
        v.find_first_not_of("0123456789") == std::string_view::npos && v.size() <= 19) {
      uint64_t n = 0;
      for (char c : v) n = n * 10 + static_cast<unsigned>(c - '0');
      o[f.name] = n;
      continue;
    }
    size_t last = v.find_last_not_of(' ');
    o[f.name] = last == std::string_view::npos ? std::string_view() : v.substr(0, last + 1);
  }
  return o;
}

json::object ErrorToJson(const Error& e) {
  json::object o;
  o["line"] = e.line;
  o["recordType"] = e.record_type ? std::string(1, e.record_type) : std::string();
  o["record"] = e.record;
  if (*e.field) {
    o["field"] = e.field;
    o["start"] = e.start;
    o["end"] = e.end;
  }
  o["kind"] = e.kind;
  if (!e.detail.empty()) o["detail"] = e.detail;
  o["message"] = e.Message();
  return o;
}

std::string ErrorsToJson(const std::vector<Error>& errors) {
  json::array a;
  for (const Error& e : errors) a.push_back(ErrorToJson(e));
  return json::serialize(a);
}

std::string FileToJson(const ReadResult& result) {
  const File& f = result.file;
  json::object root;
  root["fileHeader"] = RecordToJson(f.header);
  json::array batches;
  for (const Batch& b : f.batches) {
    json::object bo;
    bo["batchHeader"] = RecordToJson(b.header);
    json::array entries;
    for (const Entry& e : b.entries) {
      json::object eo = RecordToJson(e.record);
      json::array addenda;
      for (const Record& a : e.addenda) addenda.push_back(RecordToJson(a));
      if (!addenda.empty()) eo["addenda"] = std::move(addenda);
      entries.push_back(std::move(eo));
    }
    bo["entries"] = std::move(entries);
    if (!b.control.text.empty()) bo["batchControl"] = RecordToJson(b.control);
    batches.push_back(std::move(bo));
  }
  root["batches"] = std::move(batches);
  if (!f.control.text.empty()) root["fileControl"] = RecordToJson(f.control);
  if (!result.errors.empty()) {
    json::array errs;
    for (const Error& e : result.errors) errs.push_back(ErrorToJson(e));
    root["errors"] = std::move(errs);
  }
  return json::serialize(root);
}

}  // namespace kontor::payments::ach
