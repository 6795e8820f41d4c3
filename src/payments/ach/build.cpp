#include "payments/ach/build.h"

#include <boost/json.hpp>
#include <sstream>

#include "payments/ach/record.h"
#include "payments/ach/writer.h"

namespace kontor::payments::ach {
namespace json = boost::json;
namespace {

const char* ConstDefault(const Field& f) {
  std::string_view n = f.name;
  if (n == "recordSize") return "094";
  if (n == "blockingFactor") return "10";
  if (n == "formatCode") return "1";
  return "";
}

class Builder {
 public:
  std::vector<std::string> errors;

  // One record from a JSON object by its layout; unknown fields and wrong
  // types are errors, missing fields are blank (alphanumeric) or zero.
  std::string Record(const Layout& l, const json::value* v, const std::string& path,
                     const char* skip = nullptr) {
    std::string rec(kRecordLength, ' ');
    rec[0] = l.type;
    for (const Field& f : l.fields) {
      if (f.kind == FieldKind::kConst && f.start > 1) SetField(rec, f, ConstDefault(f));
      if (f.kind == FieldKind::kNumeric || f.kind == FieldKind::kAmount)
        SetField(rec, f, uint64_t{0});
    }
    if (!v) return rec;
    if (!v->is_object()) {
      errors.push_back(path + ": must be an object");
      return rec;
    }
    for (const auto& kv : v->as_object()) {
      std::string_view key = kv.key();
      if (skip && key == skip) continue;
      const Field* f = l.Find(key);
      if (!f || f->kind == FieldKind::kConst) {
        errors.push_back(path + "." + std::string(key) + ": unknown field for " + l.name);
        continue;
      }
      std::string text;
      if (kv.value().is_string()) {
        text = std::string(kv.value().as_string());
      } else if (kv.value().is_uint64() || kv.value().is_int64()) {
        if (kv.value().is_int64() && kv.value().as_int64() < 0) {
          errors.push_back(path + "." + std::string(key) + ": must not be negative");
          continue;
        }
        text = json::serialize(kv.value());
      } else {
        errors.push_back(path + "." + std::string(key) + ": must be a string or an integer");
        continue;
      }
      if (text.size() > f->length) {
        errors.push_back(path + "." + std::string(key) + ": longer than " +
                         std::to_string(f->length) + " characters");
        continue;
      }
      bool numeric = f->kind == FieldKind::kNumeric || f->kind == FieldKind::kAmount;
      if (numeric && text.find_first_not_of("0123456789") != std::string::npos) {
        errors.push_back(path + "." + std::string(key) + ": must be digits");
        continue;
      }
      SetField(rec, *f, text);
    }
    return rec;
  }

  const json::value* Get(const json::object& o, const char* key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
  }

  const json::array* Array(const json::object& o, const char* key, const std::string& path) {
    const json::value* v = Get(o, key);
    if (!v) return nullptr;
    if (!v->is_array()) {
      errors.push_back(path + "." + key + ": must be an array");
      return nullptr;
    }
    return &v->as_array();
  }

  void CheckKeys(const json::object& o, std::initializer_list<const char*> allowed,
                 const std::string& path) {
    for (const auto& kv : o) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || kv.key() == a;
      if (!ok) errors.push_back(path + "." + std::string(kv.key()) + ": unknown field");
    }
  }

  const Layout* AddendaFor(const json::object& a, const std::string& path) {
    const json::value* t = Get(a, "addendaTypeCode");
    if (!t || !t->is_string()) {
      errors.push_back(path + ".addendaTypeCode: required, a string such as \"05\"");
      return nullptr;
    }
    std::string_view code = t->as_string();
    if (code == "99") {
      if (Get(a, "dishonoredReturnReasonCode")) return &LayoutOf(RecordKind::kAddenda99Dishonored);
      if (Get(a, "contestedReturnCode")) return &LayoutOf(RecordKind::kAddenda99Contested);
    }
    std::string fake(kRecordLength, ' ');
    const Layout* l = AddendaLayout(code, fake);
    if (!l) errors.push_back(path + ".addendaTypeCode: unknown addenda type " + std::string(code));
    return l;
  }

  std::string Build(const json::value& root) {
    std::ostringstream out;
    if (!root.is_object()) {
      errors.push_back("$: must be an object");
      return {};
    }
    const json::object& o = root.as_object();
    CheckKeys(o, {"fileHeader", "batches", "fileControl", "errors"}, "$");
    if (!Get(o, "fileHeader")) errors.push_back("$.fileHeader: required");
    StreamWriter w(out);
    w.FileHeader(Record(LayoutOf(RecordKind::kFileHeader), Get(o, "fileHeader"), "$.fileHeader"));
    const json::array* batches = Array(o, "batches", "$");
    if (!batches || batches->empty()) errors.push_back("$.batches: at least one batch is required");
    size_t bi = 0;
    for (const json::value& bv : batches ? *batches : json::array()) {
      std::string bp = "$.batches[" + std::to_string(bi++) + "]";
      if (!bv.is_object()) {
        errors.push_back(bp + ": must be an object");
        continue;
      }
      const json::object& b = bv.as_object();
      CheckKeys(b, {"batchHeader", "entries", "batchControl"}, bp);
      const json::value* hv = Get(b, "batchHeader");
      std::string sec;
      if (hv && hv->is_object()) {
        if (const json::value* s = Get(hv->as_object(), "standardEntryClassCode");
            s && s->is_string())
          sec = std::string(s->as_string());
      }
      if (sec.empty()) errors.push_back(bp + ".batchHeader.standardEntryClassCode: required");
      w.BatchHeader(Record(BatchHeaderLayout(sec), hv, bp + ".batchHeader"));
      const Layout& el = EntryLayout(sec);
      const json::array* entries = Array(b, "entries", bp);
      if (!entries || entries->empty())
        errors.push_back(bp + ".entries: at least one entry is required");
      size_t ei = 0;
      for (const json::value& ev : entries ? *entries : json::array()) {
        std::string ep = bp + ".entries[" + std::to_string(ei++) + "]";
        std::string rec = Record(el, &ev, ep, "addenda");
        const json::array* addenda =
            ev.is_object() ? Array(ev.as_object(), "addenda", ep) : nullptr;
        rec[78] = addenda && !addenda->empty() ? '1' : '0';
        w.Entry(rec);
        size_t ai = 0;
        for (const json::value& av : addenda ? *addenda : json::array()) {
          std::string ap = ep + ".addenda[" + std::to_string(ai++) + "]";
          if (!av.is_object()) {
            errors.push_back(ap + ": must be an object");
            continue;
          }
          if (const Layout* al = AddendaFor(av.as_object(), ap)) w.Addenda(Record(*al, &av, ap));
        }
      }
      // Only the fields no control computes (message authentication code,
      // ACH operator data) are taken from a given control.
      const Layout& cl = BatchControlLayout(sec == "ADV");
      std::string control_template;
      if (const json::value* cv = Get(b, "batchControl"); cv && cv->is_object()) {
        control_template = Record(cl, cv, bp + ".batchControl");
      }
      w.EndBatch(control_template);
    }
    w.EndFile();
    return out.str();
  }
};

}  // namespace

BuildResult BuildFromJson(std::string_view json_text) {
  BuildResult r;
  boost::system::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec) {
    r.errors.push_back("$: not valid JSON: " + ec.message());
    return r;
  }
  Builder b;
  std::string out = b.Build(root);
  r.errors = std::move(b.errors);
  if (r.errors.empty()) r.nacha = std::move(out);
  return r;
}

}  // namespace kontor::payments::ach
