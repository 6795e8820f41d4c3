#include "store/sqlite_functions.h"

#include <sqlite3.h>

#include <boost/json/basic_parser_impl.hpp>
#include <optional>
#include <vector>

#include "store/id_set.h"

namespace kontor::store {

namespace {

thread_local const std::vector<IdSet>* current_sets = nullptr;

using boost::json::error_code;
using boost::json::string_view;

// `$`, then `."key"` or `.key` steps.
std::optional<std::vector<std::string>> ParsePath(std::string_view path) {
  if (path.empty() || path[0] != '$') return std::nullopt;
  std::vector<std::string> keys;
  size_t i = 1;
  while (i < path.size()) {
    if (path[i] != '.' || i + 1 >= path.size()) return std::nullopt;
    ++i;
    size_t end;
    if (path[i] == '"') {
      end = path.find('"', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      keys.emplace_back(path.substr(i + 1, end - i - 1));
      ++end;
    } else {
      end = path.find('.', i);
      if (end == std::string_view::npos) end = path.size();
      keys.emplace_back(path.substr(i, end - i));
      if (keys.back().empty()) return std::nullopt;
    }
    i = end;
  }
  return keys;
}

enum class Kind { kMissing, kObject, kArray, kText, kInteger, kReal, kTrue, kFalse, kNull };

const char* TypeName(Kind k) {
  switch (k) {
    case Kind::kObject:
      return "object";
    case Kind::kArray:
      return "array";
    case Kind::kText:
      return "text";
    case Kind::kInteger:
      return "integer";
    case Kind::kReal:
      return "real";
    case Kind::kTrue:
      return "true";
    case Kind::kFalse:
      return "false";
    case Kind::kNull:
      return "null";
    default:
      return nullptr;
  }
}

// Streams the document and stops at the value the path names, or as soon as
// it is known to be missing. After `level_` keys have been followed, the next
// one must be a key of the object open at depth `target_depth_` (the root
// object is depth 1); the value right after a matching key is that key's.
class Finder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  void Start(const std::vector<std::string>* keys) {
    keys_ = keys;
    depth_ = 0;
    level_ = 0;
    target_depth_ = 1;
    pending_ = keys->empty();  // the root itself
    key_.clear();
    text_.clear();
    kind = Kind::kMissing;
    done = false;
  }

  Kind kind = Kind::kMissing;
  int64_t integer = 0;
  double real = 0;
  std::string text_;
  bool done = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    ++depth_;
    if (!pending_) return true;
    pending_ = false;
    if (level_ == keys_->size()) return Found(Kind::kObject);
    target_depth_ = depth_;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    // The object the next key had to be in closed without it.
    if (depth_ == target_depth_) return Found(Kind::kMissing);
    --depth_;
    return true;
  }
  bool on_array_begin(error_code&) {
    ++depth_;
    if (!pending_) return true;
    return Found(level_ == keys_->size() ? Kind::kArray : Kind::kMissing);
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (depth_ == target_depth_) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (depth_ != target_depth_) return true;
    key_.append(s.data(), s.size());
    if (key_ == (*keys_)[level_]) {
      pending_ = true;
      ++level_;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (Wanted()) text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (!Wanted()) return Scalar();
    text_.append(s.data(), s.size());
    return Found(Kind::kText);
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(int64_t i, string_view, error_code&) {
    if (!Wanted()) return Scalar();
    integer = i;
    return Found(Kind::kInteger);
  }
  bool on_uint64(uint64_t u, string_view, error_code&) {
    if (!Wanted()) return Scalar();
    real = static_cast<double>(u);
    return Found(Kind::kReal);
  }
  bool on_double(double d, string_view, error_code&) {
    if (!Wanted()) return Scalar();
    real = d;
    return Found(Kind::kReal);
  }
  bool on_bool(bool b, error_code&) {
    if (!Wanted()) return Scalar();
    return Found(b ? Kind::kTrue : Kind::kFalse);
  }
  bool on_null(error_code&) {
    if (!Wanted()) return Scalar();
    return Found(Kind::kNull);
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  // The scalar being read is the value the path names.
  bool Wanted() const { return pending_ && level_ == keys_->size(); }
  // A scalar that is not the target: if it was under the key we followed,
  // the path goes on below a scalar, so it is missing.
  bool Scalar() { return pending_ ? Found(Kind::kMissing) : true; }
  bool Found(Kind k) {
    kind = k;
    done = true;
    return false;  // stop parsing
  }

  const std::vector<std::string>* keys_ = nullptr;
  int depth_ = 0;
  size_t level_ = 0;
  int target_depth_ = 1;
  bool pending_ = false;
  std::string key_;
};

// Every connection of a thread shares one parser: parsing allocates nothing
// once its buffers have grown.
Finder& Find(std::string_view doc, const std::vector<std::string>& keys) {
  thread_local boost::json::basic_parser<Finder> parser{boost::json::parse_options{}};
  parser.reset();
  Finder& f = parser.handler();
  f.Start(&keys);
  error_code ec;
  parser.write_some(false, doc.data(), doc.size(), ec);
  if (!f.done) f.kind = Kind::kMissing;  // invalid, or the path never met
  return f;
}

void DeletePath(void* p) { delete static_cast<std::vector<std::string>*>(p); }

// The parsed path of argument 1, cached for the statement's run.
const std::vector<std::string>* PathArg(sqlite3_context* ctx, sqlite3_value* arg) {
  if (auto* cached = static_cast<const std::vector<std::string>*>(sqlite3_get_auxdata(ctx, 1)))
    return cached;
  const char* text = reinterpret_cast<const char*>(sqlite3_value_text(arg));
  if (!text) {
    sqlite3_result_error(ctx, "JSON path must be text", -1);
    return nullptr;
  }
  auto keys = ParsePath(std::string_view(text, sqlite3_value_bytes(arg)));
  if (!keys) {
    sqlite3_result_error(ctx, "bad JSON path", -1);
    return nullptr;
  }
  auto* owned = new std::vector<std::string>(std::move(*keys));
  sqlite3_set_auxdata(ctx, 1, owned, DeletePath);
  // SQLite may have dropped it at once (e.g. when the argument is not
  // constant); then it is freed already, so parse again into our own copy.
  if (auto* kept = static_cast<const std::vector<std::string>*>(sqlite3_get_auxdata(ctx, 1)))
    return kept;
  thread_local std::vector<std::string> scratch;
  scratch = *ParsePath(std::string_view(text, sqlite3_value_bytes(arg)));
  return &scratch;
}

// Runs the finder for a (doc, path) call; nullptr when the result is NULL.
Finder* Lookup(sqlite3_context* ctx, sqlite3_value** argv) {
  const std::vector<std::string>* keys = PathArg(ctx, argv[1]);
  if (!keys) return nullptr;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return nullptr;
  }
  const char* doc = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  Finder& f = Find(std::string_view(doc ? doc : "", sqlite3_value_bytes(argv[0])), *keys);
  if (f.kind == Kind::kMissing) {
    sqlite3_result_null(ctx);
    return nullptr;
  }
  return &f;
}

void JsonNumber(sqlite3_context* ctx, int, sqlite3_value** argv) {
  Finder* f = Lookup(ctx, argv);
  if (!f) return;
  if (f->kind == Kind::kInteger) {
    sqlite3_result_int64(ctx, f->integer);
  } else if (f->kind == Kind::kReal) {
    sqlite3_result_double(ctx, f->real);
  } else {
    sqlite3_result_null(ctx);
  }
}

void JsonText(sqlite3_context* ctx, int, sqlite3_value** argv) {
  Finder* f = Lookup(ctx, argv);
  if (!f) return;
  if (f->kind == Kind::kText) {
    sqlite3_result_text(ctx, f->text_.data(), static_cast<int>(f->text_.size()),
                        SQLITE_TRANSIENT);
  } else {
    sqlite3_result_null(ctx);
  }
}

void JsonType(sqlite3_context* ctx, int, sqlite3_value** argv) {
  Finder* f = Lookup(ctx, argv);
  if (!f) return;
  sqlite3_result_text(ctx, TypeName(f->kind), -1, SQLITE_STATIC);
}

void InSet(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const std::vector<IdSet>* sets = current_sets;
  const int64_t slot = sqlite3_value_int64(argv[1]);
  if (!sets || slot < 0 || slot >= static_cast<int64_t>(sets->size())) {
    sqlite3_result_error(ctx, "kontor_in_set: no such set in scope", -1);
    return;
  }
  sqlite3_result_int(ctx, (*sets)[slot].Contains(sqlite3_value_int64(argv[0])) ? 1 : 0);
}

}  // namespace

IdSetScope::IdSetScope(const std::vector<IdSet>* sets) : previous_(current_sets) {
  current_sets = sets;
}
IdSetScope::~IdSetScope() { current_sets = previous_; }
const std::vector<IdSet>* IdSetScope::Current() { return current_sets; }

Status RegisterSqliteFunctions(sqlite3* db) {
  struct Fn {
    const char* name;
    void (*fn)(sqlite3_context*, int, sqlite3_value**);
    int flags;
  };
  // kontor_in_set depends on the thread's scope, so it is not deterministic.
  const int pure = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  for (const Fn& f : {Fn{"kontor_json_number", JsonNumber, pure},
                      Fn{"kontor_json_text", JsonText, pure},
                      Fn{"kontor_json_type", JsonType, pure},
                      Fn{"kontor_in_set", InSet, SQLITE_UTF8 | SQLITE_DIRECTONLY}}) {
    int rc = sqlite3_create_function_v2(db, f.name, 2, f.flags, nullptr, f.fn, nullptr, nullptr,
                                        nullptr);
    if (rc != SQLITE_OK)
      return Status::Internal(std::string("sqlite: registering ") + f.name + ": " +
                              sqlite3_errstr(rc));
  }
  return Status::Ok();
}

Result<JsonAt> FindJsonAt(std::string_view doc, std::string_view path) {
  auto keys = ParsePath(path);
  if (!keys) return Status::InvalidArgument("bad JSON path: " + std::string(path));
  Finder& f = Find(doc, *keys);
  JsonAt out;
  if (f.kind == Kind::kMissing) return out;
  out.type = TypeName(f.kind);
  if (f.kind == Kind::kInteger) out.value = f.integer;
  if (f.kind == Kind::kReal) out.value = f.real;
  if (f.kind == Kind::kText) out.value = f.text_;
  return out;
}

}  // namespace kontor::store
