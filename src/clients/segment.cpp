#include "clients/segment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <utility>

#include "core/clock.h"

namespace kontor::clients {
namespace {

using store::Dialect;

constexpr std::array<std::string_view, 10> kKinds = {
    "all",       "any",     "not", "field",  "attribute", "has_subscription",
    "member_of", "segment", "tag", "consent"};
constexpr std::string_view kKindList =
    "all, any, not, field, attribute, has_subscription, member_of, segment, tag or consent";

// The whitelist of customer columns a rule may name; only these texts reach the SQL.
struct FieldSpec {
  std::string_view name;
  bool time;  // Unix ms BIGINT rather than TEXT
};
constexpr std::array<FieldSpec, 13> kFields = {{
    {"type", false},
    {"salutation", false},
    {"first_name", false},
    {"last_name", false},
    {"company_name", false},
    {"email", false},
    {"phone", false},
    {"language", false},
    {"country", false},
    {"time_zone", false},
    {"status", false},
    {"created_at", true},
    {"updated_at", true},
}};

enum class Op {
  kEq,
  kNe,
  kIn,
  kNotIn,
  kContains,
  kStartsWith,
  kEndsWith,
  kGt,
  kGte,
  kLt,
  kLte,
  kExists,
  kNotExists,
  kWithinLast,
  kBeforeLast,
};
struct OpSpec {
  std::string_view name;
  Op op;
};
constexpr std::array<OpSpec, 15> kOps = {{
    {"eq", Op::kEq},
    {"ne", Op::kNe},
    {"in", Op::kIn},
    {"not_in", Op::kNotIn},
    {"contains", Op::kContains},
    {"starts_with", Op::kStartsWith},
    {"ends_with", Op::kEndsWith},
    {"gt", Op::kGt},
    {"gte", Op::kGte},
    {"lt", Op::kLt},
    {"lte", Op::kLte},
    {"exists", Op::kExists},
    {"not_exists", Op::kNotExists},
    {"within_last", Op::kWithinLast},
    {"before_last", Op::kBeforeLast},
}};

constexpr std::string_view kInSetPrefix = "(kontor_in_set(c.id, ";

constexpr size_t kMaxAttributeSegments = 16;
constexpr size_t kMaxAttributeSegmentLength = 64;
// More errors than this only bury the first ones.
constexpr size_t kMaxErrors = 50;
// Keys echoed in error paths are the client's own text; keep them readable.
constexpr size_t kMaxKeyInPath = 64;

std::string Key(const std::string& path, std::string_view key) {
  std::string k(key.substr(0, kMaxKeyInPath));
  if (key.size() > kMaxKeyInPath) k += "...";
  return path + "." + k;
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

size_t CodePoints(std::string_view s) {
  // Input comes from boost::json, which validates UTF-8: count the lead bytes.
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

// Negative operators compile as NOT of their positive twin, which keeps
// missing values on the matching side (every positive condition is two-valued).
Op Positive(Op op) {
  switch (op) {
    case Op::kNe:
      return Op::kEq;
    case Op::kNotIn:
      return Op::kIn;
    case Op::kNotExists:
      return Op::kExists;
    default:
      return op;
  }
}

bool IsLike(Op op) { return op == Op::kContains || op == Op::kStartsWith || op == Op::kEndsWith; }

bool IsOrder(Op op) { return op == Op::kGt || op == Op::kGte || op == Op::kLt || op == Op::kLte; }

const char* OrderSql(Op op) {
  switch (op) {
    case Op::kGt:
      return " > ";
    case Op::kGte:
      return " >= ";
    case Op::kLt:
      return " < ";
    default:
      return " <= ";
  }
}

// A LIKE pattern that matches `s` literally: `!` escapes itself, `%` and `_`.
// Not backslash: its meaning in a PostgreSQL literal depends on
// standard_conforming_strings.
std::string LikePattern(std::string_view s, Op op) {
  std::string out;
  out.reserve(s.size() + 4);
  if (op != Op::kStartsWith) out += '%';
  for (char ch : s) {
    if (ch == '!' || ch == '%' || ch == '_') out += '!';
    out += ch;
  }
  if (op != Op::kEndsWith) out += '%';
  return out;
}

// "30d" → 30 days in ms. Units: m(inutes), h(ours), d(ays), w(eeks).
std::optional<int64_t> ParseDuration(std::string_view s) {
  if (s.size() < 2 || s.size() > 8) return std::nullopt;
  int64_t unit_ms = 0;
  switch (s.back()) {
    case 'm':
      unit_ms = 60'000;
      break;
    case 'h':
      unit_ms = 3'600'000;
      break;
    case 'd':
      unit_ms = 86'400'000;
      break;
    case 'w':
      unit_ms = 7 * 86'400'000LL;
      break;
    default:
      return std::nullopt;
  }
  int64_t n = 0;
  for (char ch : s.substr(0, s.size() - 1)) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + (ch - '0');
  }
  // At most 7 digits of weeks: far from overflowing int64 milliseconds.
  if (n <= 0) return std::nullopt;
  return n * unit_ms;
}

bool ValidAttributeName(std::string_view name, std::vector<std::string_view>* parts) {
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view part =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > kMaxAttributeSegmentLength) return false;
    for (char ch : part) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_';
      if (!ok) return false;
    }
    parts->push_back(part);
    if (parts->size() > kMaxAttributeSegments) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// A JSON number as a bound value: integers stay exact, the rest are doubles.
store::Value NumberValue(const json::value& v) {
  if (v.is_int64()) return store::Value(v.get_int64());
  if (v.is_uint64()) {
    if (v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return store::Value(static_cast<int64_t>(v.get_uint64()));
    }
    return store::Value(static_cast<double>(v.get_uint64()));
  }
  return store::Value(v.get_double());
}

// JSON can spell numbers beyond double range ("1e400"), which parse as
// infinities that neither database can compare with.
bool FiniteNumber(const json::value& v) {
  return v.is_number() && (!v.is_double() || std::isfinite(v.get_double()));
}

class Compiler {
 public:
  Compiler(Dialect dialect, int64_t now_ms, SegmentResolver& resolver, bool id_sets)
      : pg_(dialect == Dialect::kPostgres),
        id_sets_(id_sets),
        now_ms_(now_ms),
        resolver_(resolver) {}

  // Appends the condition for `v` to sql_. Problems with the rule are
  // collected in errors_; the returned Status reports only resolver failures,
  // which end compilation.
  Status Rule(const json::value& v, const std::string& path, int depth);

  void PushSegment(const std::string& key) { stack_.push_back(key); }

  std::string sql_;
  store::Params params_;
  std::vector<CompiledSegment::Set> sets_;
  std::vector<FieldError> errors_;

 private:
  // A comparison's left-hand side, resolved from the rule.
  struct Target {
    enum Kind { kText, kTime, kAttribute } kind = kText;
    std::string_view column;        // from kFields, for kText / kTime
    std::string name;               // as written, for messages
    std::string path;               // SQLite: the attribute's JSON path (bound)
    std::vector<std::string> keys;  // PostgreSQL: its keys, one `->` each
  };
  // PostgreSQL: c.attributes -> k1 -> k2 (->> for the last when as_text).
  // A chain of `->` reads about twice as fast as `#>` with a text[] path.
  void PgAttrPath(const Target& t, bool as_text);

  void Fail(std::string field, std::string message);
  std::optional<std::string> String(const json::value& v, const std::string& at);

  Status Group(const json::value& arg, const std::string& at, int depth, bool all);
  void Comparison(const json::object& o, const std::string& path, bool attribute);
  void TextField(const Target& t, Op op, const json::value* v, const std::string& at);
  void TimeField(const Target& t, Op op, const json::value* v, const std::string& at);
  void Attribute(const Target& t, Op op, const json::value* v, const std::string& at);
  void HasSubscription(const json::value& arg, const std::string& at);
  Status MemberOf(const json::value& arg, const std::string& at, int depth);
  Status Inline(const std::string& key, const std::string& at, int depth);
  void Tag(const json::value& arg, const std::string& at);
  void Consent(const json::value& arg, const std::string& at);

  // SQL pieces; each one that contains `?` binds its parameter as it is appended.
  void Text(const std::string& s) {
    sql_ += "CAST(? AS TEXT)";
    params_.emplace_back(s);
  }
  void StringSet(const json::array& values);
  void SubscriptionExists(const std::string& status, const json::array* codes);
  // A condition on the customers in a set read from `table` (aliased
  // `alias`) through its index: `where()` appends the WHERE condition.
  // Either `c.id IN (SELECT ...)` or, with id sets, a probe into
  // CompiledSegment::sets.
  template <class F>
  void SetCondition(std::string_view table, std::string_view alias, F&& where);
  void AttrType(const Target& t);
  // A typed comparison: TypedBegin, the comparison of AttrText or
  // AttrNumber, TypedEnd. The result is false, never NULL, when the
  // attribute is missing or of another JSON type (`k`). On SQLite the
  // kontor_json_* readers return NULL for other types, so one read of the
  // document serves both the type check and the value.
  void TypedBegin(const Target& t, json::kind k);
  void TypedEnd();
  void AttrText(const Target& t);
  void AttrNumber(const Target& t);
  void NumberParam(const json::value& v);

  const bool pg_;
  const bool id_sets_;
  const int64_t now_ms_;
  SegmentResolver& resolver_;
  int nodes_ = 0;
  bool stopped_ = false;
  std::vector<std::string> stack_;  // segments being inlined, outermost first
};

void Compiler::Fail(std::string field, std::string message) {
  errors_.push_back({std::move(field), std::move(message)});
  if (errors_.size() >= kMaxErrors) stopped_ = true;
}

std::optional<std::string> Compiler::String(const json::value& v, const std::string& at) {
  const json::string* s = v.if_string();
  if (!s) {
    Fail(at, "must be a string");
    return std::nullopt;
  }
  std::string_view sv(*s);
  if (CodePoints(sv) > kMaxRuleStringLength) {
    Fail(at, "must be at most " + std::to_string(kMaxRuleStringLength) + " characters");
    return std::nullopt;
  }
  // PostgreSQL text cannot hold NUL, and no customer value contains one.
  if (sv.find('\0') != std::string_view::npos) {
    Fail(at, "must not contain NUL characters");
    return std::nullopt;
  }
  return std::string(sv);
}

Status Compiler::Rule(const json::value& v, const std::string& path, int depth) {
  if (stopped_) return Status::Ok();
  if (depth > kMaxRuleDepth) {
    Fail(path, "rules nest at most " + std::to_string(kMaxRuleDepth) + " levels deep");
    return Status::Ok();
  }
  if (++nodes_ > kMaxRuleNodes) {
    Fail(path, "a rule has at most " + std::to_string(kMaxRuleNodes) + " conditions");
    stopped_ = true;
    return Status::Ok();
  }
  const json::object* o = v.if_object();
  if (!o) {
    Fail(path, "must be an object");
    return Status::Ok();
  }
  std::string_view kind;
  bool conflict = false;
  for (const auto& kv : *o) {
    std::string_view key = kv.key();
    if (std::find(kKinds.begin(), kKinds.end(), key) == kKinds.end()) continue;
    if (kind.empty()) {
      kind = key;
    } else {
      Fail(Key(path, key), "cannot be combined with \"" + std::string(kind) + "\"");
      conflict = true;
    }
  }
  if (kind.empty()) {
    Fail(path, "must have one of " + std::string(kKindList));
    return Status::Ok();
  }
  const bool comparison = kind == "field" || kind == "attribute";
  for (const auto& kv : *o) {
    std::string_view key = kv.key();
    if (key == kind || (comparison && (key == "op" || key == "value"))) continue;
    if (std::find(kKinds.begin(), kKinds.end(), key) != kKinds.end()) continue;  // reported
    Fail(Key(path, key), "unknown field");
  }
  if (conflict) return Status::Ok();

  const json::value& arg = o->at(kind);
  const std::string at = Key(path, kind);
  if (kind == "all" || kind == "any") return Group(arg, at, depth, kind == "all");
  if (kind == "not") {
    sql_ += "(NOT ";
    RETURN_IF_ERROR(Rule(arg, at, depth + 1));
    sql_ += ")";
    return Status::Ok();
  }
  if (comparison) {
    Comparison(*o, path, kind == "attribute");
    return Status::Ok();
  }
  if (kind == "has_subscription") {
    HasSubscription(arg, at);
    return Status::Ok();
  }
  if (kind == "member_of") return MemberOf(arg, at, depth);
  if (kind == "segment") {
    std::optional<std::string> key = String(arg, at);
    if (!key) return Status::Ok();
    if (key->empty()) {
      Fail(at, "must not be empty");
      return Status::Ok();
    }
    return Inline(*key, at, depth);
  }
  if (kind == "tag") {
    Tag(arg, at);
    return Status::Ok();
  }
  Consent(arg, at);
  return Status::Ok();
}

Status Compiler::Group(const json::value& arg, const std::string& at, int depth, bool all) {
  const json::array* items = arg.if_array();
  if (!items) {
    Fail(at, "must be an array of rules");
    return Status::Ok();
  }
  if (items->empty()) {
    // The neutral element: all of nothing holds, any of nothing does not.
    sql_ += all ? "(1 = 1)" : "(1 = 0)";
    return Status::Ok();
  }
  // Each member compiles on its own, then set conditions (`c.id IN (...)`,
  // a probe into a set read once) go before the rest, so that SQLite, which
  // evaluates terms in the order written, parses a customer's JSON
  // attributes only when the cheap terms have not decided the row already.
  // AND and OR of two-valued terms commute, so the order changes no result.
  struct Part {
    std::string sql;
    store::Params params;
  };
  std::vector<Part> parts;
  for (size_t i = 0; i < items->size() && !stopped_; ++i) {
    std::string outer_sql = std::exchange(sql_, {});
    store::Params outer_params = std::exchange(params_, {});
    Status st = Rule((*items)[i], Index(at, i), depth + 1);
    parts.push_back({std::exchange(sql_, std::move(outer_sql)),
                     std::exchange(params_, std::move(outer_params))});
    RETURN_IF_ERROR(st);
  }
  std::stable_partition(parts.begin(), parts.end(), [](const Part& p) {
    return p.sql.starts_with("(c.id IN (") || p.sql.starts_with(kInSetPrefix);
  });
  sql_ += "(";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) sql_ += all ? " AND " : " OR ";
    sql_ += parts[i].sql;
    for (auto& v : parts[i].params) params_.push_back(std::move(v));
  }
  sql_ += ")";
  return Status::Ok();
}

void Compiler::Comparison(const json::object& o, const std::string& path, bool attribute) {
  Target t;
  bool target_ok = false;
  if (!attribute) {
    const std::string at = Key(path, "field");
    if (std::optional<std::string> name = String(o.at("field"), at)) {
      auto it = std::find_if(kFields.begin(), kFields.end(),
                             [&](const FieldSpec& f) { return f.name == *name; });
      if (it == kFields.end()) {
        Fail(at,
             "unknown field; one of type, salutation, first_name, last_name, company_name, "
             "email, phone, language, country, time_zone, status, created_at, updated_at");
      } else {
        t.kind = it->time ? Target::kTime : Target::kText;
        t.column = it->name;
        t.name = *name;
        target_ok = true;
      }
    }
  } else {
    const std::string at = Key(path, "attribute");
    if (std::optional<std::string> name = String(o.at("attribute"), at)) {
      std::vector<std::string_view> parts;
      if (!ValidAttributeName(*name, &parts)) {
        Fail(at, "must be names of letters, digits and _ (at most 64 each), joined by dots");
      } else {
        // Names are [A-Za-z0-9_], so quoting needs no escapes; the quotes keep
        // a name like "null" or "1" a plain key in both path syntaxes.
        t.kind = Target::kAttribute;
        t.name = *name;
        t.path = "$";
        for (size_t i = 0; i < parts.size(); ++i) {
          if (pg_) {
            t.keys.emplace_back(parts[i]);
          } else {
            t.path += ".\"" + std::string(parts[i]) + "\"";
          }
        }
        target_ok = true;
      }
    }
  }

  const std::string op_at = Key(path, "op");
  const json::value* op_value = o.if_contains("op");
  if (!op_value) {
    Fail(op_at, "required");
    return;
  }
  std::optional<std::string> op_name = String(*op_value, op_at);
  if (!op_name) return;
  auto op_it =
      std::find_if(kOps.begin(), kOps.end(), [&](const OpSpec& s) { return s.name == *op_name; });
  if (op_it == kOps.end()) {
    Fail(op_at, "unknown operator");
    return;
  }
  const Op op = op_it->op;
  const std::string value_at = Key(path, "value");
  const json::value* value = o.if_contains("value");
  if (Positive(op) == Op::kExists) {
    if (value) {
      Fail(value_at, "not allowed with " + *op_name);
      return;
    }
  } else if (!value) {
    Fail(value_at, "required");
    return;
  }
  if (!target_ok) return;

  const bool negate = Positive(op) != op;
  if (negate) sql_ += "(NOT ";
  switch (t.kind) {
    case Target::kText:
      TextField(t, Positive(op), value, path);
      break;
    case Target::kTime:
      TimeField(t, Positive(op), value, path);
      break;
    case Target::kAttribute:
      Attribute(t, Positive(op), value, path);
      break;
  }
  if (negate) sql_ += ")";
}

void Compiler::StringSet(const json::array& values) {
  // One JSON array parameter however long the list: keeps clear of the
  // drivers' parameter limits and gives one statement text per rule shape.
  sql_ += pg_ ? "(SELECT LOWER(j.v) FROM jsonb_array_elements_text(CAST(? AS jsonb)) AS j(v))"
              : "(SELECT LOWER(value) FROM json_each(?))";
  params_.emplace_back(json::serialize(values));
}

void Compiler::TextField(const Target& t, Op op, const json::value* v, const std::string& path) {
  const std::string col = "c." + std::string(t.column);
  const std::string at = Key(path, "value");
  if (op == Op::kExists) {
    sql_ += "(" + col + " IS NOT NULL AND " + col + " <> '')";
    return;
  }
  if (op == Op::kIn) {
    const json::array* a = v->if_array();
    if (!a) {
      Fail(at, "must be an array of strings");
      return;
    }
    if (a->size() > kMaxRuleListValues) {
      Fail(at, "must have at most " + std::to_string(kMaxRuleListValues) + " values");
      return;
    }
    for (size_t i = 0; i < a->size(); ++i) {
      if (!String((*a)[i], Index(at, i))) return;
    }
    sql_ += "(" + col + " IS NOT NULL AND LOWER(" + col + ") IN ";
    StringSet(*a);
    sql_ += ")";
    return;
  }
  if (op != Op::kEq && !IsLike(op)) {
    Fail(Key(path, "op"), "not supported for field " + t.name +
                              "; use eq, ne, in, not_in, contains, starts_with, ends_with, "
                              "exists or not_exists");
    return;
  }
  std::optional<std::string> s = String(*v, at);
  if (!s) return;
  sql_ += "(" + col + " IS NOT NULL AND LOWER(" + col + ")";
  if (op == Op::kEq) {
    sql_ += " = LOWER(";
    Text(*s);
    sql_ += "))";
  } else {
    sql_ += " LIKE LOWER(";
    Text(LikePattern(*s, op));
    sql_ += ") ESCAPE '!')";
  }
}

void Compiler::TimeField(const Target& t, Op op, const json::value* v, const std::string& path) {
  const std::string col = "c." + std::string(t.column);
  const std::string at = Key(path, "value");
  if (op == Op::kExists) {
    sql_ += "(" + col + " IS NOT NULL)";
    return;
  }
  if (op == Op::kWithinLast || op == Op::kBeforeLast) {
    std::optional<std::string> s = String(*v, at);
    if (!s) return;
    std::optional<int64_t> d = ParseDuration(*s);
    if (!d) {
      Fail(at, "must be a duration like 90m, 12h, 30d or 2w");
      return;
    }
    sql_ += "(" + col + (op == Op::kWithinLast ? " >= ?)" : " < ?)");
    params_.emplace_back(now_ms_ - *d);
    return;
  }
  if (op != Op::kEq && !IsOrder(op)) {
    Fail(Key(path, "op"), "not supported for field " + t.name +
                              "; use eq, ne, gt, gte, lt, lte, within_last, before_last, "
                              "exists or not_exists");
    return;
  }
  std::optional<std::string> s = String(*v, at);
  if (!s) return;
  Result<int64_t> ms = ParseRfc3339(*s);
  if (!ms.ok()) {
    Fail(at, "must be an RFC 3339 time like 2026-01-31T12:00:00Z");
    return;
  }
  sql_ += "(" + col + (op == Op::kEq ? " = " : OrderSql(op)) + "?)";
  params_.emplace_back(*ms);
}

// COALESCE(type of the attribute, ''): '' when the path is missing.
void Compiler::AttrType(const Target& t) {
  if (pg_) {
    sql_ += "COALESCE(jsonb_typeof(";
    PgAttrPath(t, false);
    sql_ += "), '')";
    return;
  }
  sql_ += "COALESCE(kontor_json_type(c.attributes, ?), '')";
  params_.emplace_back(t.path);
}

void Compiler::PgAttrPath(const Target& t, bool as_text) {
  sql_ += "(c.attributes";
  for (size_t i = 0; i < t.keys.size(); ++i) {
    sql_ += as_text && i + 1 == t.keys.size() ? " ->> CAST(? AS text)" : " -> CAST(? AS text)";
    params_.emplace_back(t.keys[i]);
  }
  sql_ += ")";
}

void Compiler::TypedBegin(const Target& t, json::kind k) {
  if (!pg_) {
    sql_ += "IFNULL((";
    return;
  }
  sql_ += "(";
  AttrType(t);
  sql_ += k == json::kind::string ? " = 'string'" : " = 'number'";
  sql_ += " AND ";
}

void Compiler::TypedEnd() { sql_ += pg_ ? ")" : "), 0)"; }

void Compiler::AttrText(const Target& t) {
  if (pg_) return PgAttrPath(t, true);
  sql_ += "kontor_json_text(c.attributes, ?)";
  params_.emplace_back(t.path);
}

// On PostgreSQL numbers stay jsonb: jsonb compares two numbers numerically,
// and unlike a cast to numeric it cannot fail on a row whose value is not a
// number (PostgreSQL does not promise to evaluate the type check first).
void Compiler::AttrNumber(const Target& t) {
  if (pg_) return PgAttrPath(t, false);
  sql_ += "kontor_json_number(c.attributes, ?)";
  params_.emplace_back(t.path);
}

void Compiler::NumberParam(const json::value& v) {
  if (pg_) {
    // Text keeps every digit; Value's double-to-text would round.
    sql_ += "CAST(? AS jsonb)";
    params_.emplace_back(json::serialize(v));
  } else {
    sql_ += "?";
    params_.push_back(NumberValue(v));
  }
}

void Compiler::Attribute(const Target& t, Op op, const json::value* v, const std::string& path) {
  const std::string at = Key(path, "value");
  if (op == Op::kExists) {
    sql_ += "(";
    AttrType(t);
    sql_ += " NOT IN ('', 'null'))";
    return;
  }
  if (op == Op::kWithinLast || op == Op::kBeforeLast) {
    Fail(Key(path, "op"), "only for the fields created_at and updated_at");
    return;
  }
  if (op == Op::kIn) {
    const json::array* a = v->if_array();
    if (!a) {
      Fail(at, "must be an array of strings or of numbers");
      return;
    }
    if (a->size() > kMaxRuleListValues) {
      Fail(at, "must have at most " + std::to_string(kMaxRuleListValues) + " values");
      return;
    }
    const bool numbers = !a->empty() && (*a)[0].is_number();
    for (size_t i = 0; i < a->size(); ++i) {
      const json::value& e = (*a)[i];
      if (numbers) {
        if (!FiniteNumber(e)) {
          Fail(Index(at, i), "must be a finite number like the first value");
          return;
        }
      } else if (!String(e, Index(at, i))) {
        return;
      }
    }
    if (numbers) {
      TypedBegin(t, json::kind::double_);
      AttrNumber(t);
      sql_ += pg_ ? " IN (SELECT jsonb_array_elements(CAST(? AS jsonb)))"
                  : " IN (SELECT value FROM json_each(?))";
      params_.emplace_back(json::serialize(*a));
    } else {
      TypedBegin(t, json::kind::string);
      sql_ += "LOWER(";
      AttrText(t);
      sql_ += ") IN ";
      StringSet(*a);
    }
    TypedEnd();
    return;
  }

  if (v->is_bool()) {
    if (op != Op::kEq) {
      Fail(at, "must be a string or a number for " + std::string(IsLike(op) ? "text" : "ordering") +
                   " operators");
      return;
    }
    const char* b = v->get_bool() ? "true" : "false";
    sql_ += "(";
    AttrType(t);
    if (pg_) {
      sql_ += " = 'boolean' AND ";
      AttrText(t);
      sql_ += " = '" + std::string(b) + "')";
    } else {
      sql_ += " = '" + std::string(b) + "')";
    }
    return;
  }
  if (v->is_number()) {
    if (IsLike(op)) {
      Fail(at, "must be a string for " + std::string(op == Op::kContains     ? "contains"
                                                     : op == Op::kStartsWith ? "starts_with"
                                                                             : "ends_with"));
      return;
    }
    if (!FiniteNumber(*v)) {
      Fail(at, "must be a finite number");
      return;
    }
    TypedBegin(t, json::kind::double_);
    AttrNumber(t);
    sql_ += op == Op::kEq ? " = " : OrderSql(op);
    NumberParam(*v);
    TypedEnd();
    return;
  }
  if (!v->is_string()) {
    Fail(at, "must be a string, a number or a boolean");
    return;
  }
  std::optional<std::string> s = String(*v, at);
  if (!s) return;
  TypedBegin(t, json::kind::string);
  if (IsOrder(op)) {
    // Byte order on both: SQLite's BINARY collation, PostgreSQL's "C".
    AttrText(t);
    if (pg_) sql_ += " COLLATE \"C\"";
    sql_ += OrderSql(op);
    Text(*s);
  } else {
    sql_ += "LOWER(";
    AttrText(t);
    if (op == Op::kEq) {
      sql_ += ") = LOWER(";
      Text(*s);
      sql_ += ")";
    } else {
      sql_ += ") LIKE LOWER(";
      Text(LikePattern(*s, op));
      sql_ += ") ESCAPE '!'";
    }
  }
  TypedEnd();
}

// Set conditions are non-correlated `c.id IN (SELECT customer_id ...)`: the
// set is read once through its index (SQLite materializes it, PostgreSQL
// hash-joins it) instead of one correlated probe per customer, which over a
// million customers is several times faster. customer_id is never NULL, so
// IN stays two-valued under `not`.
void Compiler::SubscriptionExists(const std::string& status, const json::array* codes) {
  SetCondition("subscriptions", "s", [&] {
    sql_ += "s.status = ";
    Text(status);
    if (codes) {
      sql_ += pg_ ? " AND s.product_id IN (SELECT p.id FROM products p WHERE p.code IN "
                    "(SELECT jsonb_array_elements_text(CAST(? AS jsonb))))"
                  : " AND s.product_id IN (SELECT p.id FROM products p WHERE p.code IN (SELECT "
                    "value FROM json_each(?)))";
      params_.emplace_back(json::serialize(*codes));
    }
  });
}

template <class F>
void Compiler::SetCondition(std::string_view table, std::string_view alias, F&& where) {
  std::string outer_sql = std::exchange(sql_, {});
  store::Params outer_params = std::exchange(params_, {});
  where();
  std::string select = "SELECT " + std::string(alias) + ".customer_id FROM " + std::string(table) +
                       " " + std::string(alias) + " WHERE " +
                       std::exchange(sql_, std::move(outer_sql));
  store::Params params = std::exchange(params_, std::move(outer_params));
  if (!id_sets_) {
    sql_ += "(c.id IN (" + select + "))";
    for (auto& v : params) params_.push_back(std::move(v));
    return;
  }
  select += " AND " + std::string(alias) + ".customer_id BETWEEN ? AND ?";
  sql_ += std::string(kInSetPrefix) + "?))";
  params_.emplace_back(static_cast<int64_t>(sets_.size()));
  sets_.push_back({std::move(select), std::move(params)});
}

void Compiler::HasSubscription(const json::value& arg, const std::string& at) {
  const json::object* o = arg.if_object();
  if (!o) {
    Fail(at, "must be an object with products and status");
    return;
  }
  bool ok = true;
  for (const auto& kv : *o) {
    if (kv.key() != "products" && kv.key() != "status") {
      Fail(Key(at, kv.key()), "unknown field");
      ok = false;
    }
  }
  const json::array* codes = nullptr;
  if (const json::value* p = o->if_contains("products")) {
    const std::string pat = Key(at, "products");
    codes = p->if_array();
    if (!codes || codes->empty() || codes->size() > kMaxRuleListValues) {
      Fail(pat,
           "must be an array of 1 to " + std::to_string(kMaxRuleListValues) + " product codes");
      ok = false;
    } else {
      for (size_t i = 0; i < codes->size() && ok; ++i)
        ok = String((*codes)[i], Index(pat, i)).has_value();
    }
  }
  std::string status = "active";
  if (const json::value* s = o->if_contains("status")) {
    std::optional<std::string> st = String(*s, Key(at, "status"));
    if (!st || st->empty()) {
      if (st) Fail(Key(at, "status"), "must not be empty");
      ok = false;
    } else {
      status = *st;
    }
  }
  if (ok) SubscriptionExists(status, codes);
}

Status Compiler::MemberOf(const json::value& arg, const std::string& at, int depth) {
  std::optional<std::string> key = String(arg, at);
  if (!key) return Status::Ok();
  if (key->empty()) {
    Fail(at, "must not be empty");
    return Status::Ok();
  }
  Result<SegmentResolver::ListInfo> list = resolver_.List(*key);
  if (!list.ok()) {
    if (list.status().code() != StatusCode::kNotFound) return list.status();
    Fail(at, "unknown list");
    return Status::Ok();
  }
  if (list->kind == "static") {
    SetCondition("list_members", "m", [&] {
      sql_ += "m.list_id = ?";
      params_.emplace_back(list->id);
    });
  } else if (list->kind == "products") {
    if (list->product_codes.empty()) {
      sql_ += "(1 = 0)";
    } else {
      json::array codes;
      for (const auto& code : list->product_codes) codes.emplace_back(code);
      SubscriptionExists("active", &codes);
    }
  } else if (list->kind == "segment") {
    if (list->segment_key.empty()) {
      Fail(at, "the list has no segment");
      return Status::Ok();
    }
    return Inline(list->segment_key, at, depth);
  } else {
    Fail(at, "the list has an unknown kind");
  }
  return Status::Ok();
}

Status Compiler::Inline(const std::string& key, const std::string& at, int depth) {
  auto seen = std::find(stack_.begin(), stack_.end(), key);
  if (seen != stack_.end()) {
    std::string chain;
    for (auto it = seen; it != stack_.end(); ++it) chain += "\"" + *it + "\" -> ";
    Fail(at, "segments refer to each other in a cycle: " + chain + "\"" + key + "\"");
    return Status::Ok();
  }
  Result<json::value> rule = resolver_.SegmentRule(key);
  if (!rule.ok()) {
    if (rule.status().code() != StatusCode::kNotFound) return rule.status();
    Fail(at, "unknown segment");
    return Status::Ok();
  }
  // The inlined rule counts one level deeper, so chains of segments stay
  // within the depth limit (and the SQL parsers' nesting limits).
  const size_t mark = errors_.size();
  stack_.push_back(key);
  Status st = Rule(*rule, "rule", depth + 1);
  stack_.pop_back();
  RETURN_IF_ERROR(st);
  if (errors_.size() > mark) {
    // The client can only fix the reference, so that is where the error goes.
    std::string msg =
        "segment \"" + key + "\" is invalid: " + errors_[mark].field + ": " + errors_[mark].message;
    if (errors_.size() - mark > 1) {
      msg += " (and " + std::to_string(errors_.size() - mark - 1) + " more)";
    }
    errors_.resize(mark);
    Fail(at, std::move(msg));
  }
  return Status::Ok();
}

void Compiler::Tag(const json::value& arg, const std::string& at) {
  std::optional<std::string> tag = String(arg, at);
  if (!tag) return;
  if (tag->empty()) {
    Fail(at, "must not be empty");
    return;
  }
  SetCondition("customer_tags", "t", [&] {
    sql_ += "t.tag = ";
    Text(*tag);
  });
}

void Compiler::Consent(const json::value& arg, const std::string& at) {
  std::optional<std::string> channel = String(arg, at);
  if (!channel) return;
  if (*channel != "email" && *channel != "sms" && *channel != "push") {
    Fail(at, "must be email, sms or push");
    return;
  }
  SetCondition("consents", "k", [&] {
    sql_ += "k.channel = ";
    Text(*channel);
    sql_ += " AND k.status = 'granted'";
  });
}

}  // namespace

Result<json::value> DbSegmentResolver::SegmentRule(const std::string& key) {
  ASSIGN_OR_RETURN(auto row, c_.QueryRow("SELECT rule FROM segments WHERE key = ?", {key}));
  if (!row) return Status::NotFound("segment " + key);
  std::error_code ec;
  json::value rule = json::parse(row->Str(0), ec);
  if (ec) return Status::Internal("segment " + key + ": stored rule is not JSON");
  return rule;
}

Result<SegmentResolver::ListInfo> DbSegmentResolver::List(const std::string& key) {
  ASSIGN_OR_RETURN(auto row,
                   c_.QueryRow("SELECT l.id, l.kind, l.product_codes, s.key FROM lists l "
                               "LEFT JOIN segments s ON s.id = l.segment_id WHERE l.key = ?",
                               {key}));
  if (!row) return Status::NotFound("list " + key);
  ListInfo info;
  info.id = row->Int(0);
  info.kind = row->Str(1);
  info.product_codes = ParseStringArray(row->Str(2));
  info.segment_key = row->Str(3);
  return info;
}

Result<CompiledSegment> CompileSegment(const json::value& rule, store::Dialect dialect,
                                       int64_t now_ms, SegmentResolver& resolver,
                                       const std::string& path_prefix,
                                       const std::string& self_key, bool id_sets) {
  Compiler compiler(dialect, now_ms, resolver, id_sets && dialect == Dialect::kSqlite);
  if (!self_key.empty()) compiler.PushSegment(self_key);
  RETURN_IF_ERROR(compiler.Rule(rule, path_prefix, 1));
  if (!compiler.errors_.empty()) {
    return Status::Validation(std::move(compiler.errors_), "invalid segment rule");
  }
  return CompiledSegment{std::move(compiler.sql_), std::move(compiler.params_),
                         std::move(compiler.sets_)};
}

Result<SegmentPreview> PreviewSegment(store::Connection& c, const CompiledSegment& s, int sample) {
  const std::string from = "FROM customers c WHERE " + std::string(kNotErased) + " AND " + s.where;
  SegmentPreview out;
  // PostgreSQL cannot estimate how many rows a JSON attribute condition
  // keeps (it guesses a handful), so it probes the set conditions once per
  // customer in nested loops; a count over the whole population is always
  // cheaper with hash joins. Planned for its values every time, not from a
  // cached generic plan. The settings are put back whatever the outcome.
  const bool pg = c.dialect() == store::Dialect::kPostgres;
  if (pg)
    RETURN_IF_ERROR(
        c.ExecuteScript("SET enable_nestloop = off; SET plan_cache_mode = force_custom_plan"));
  auto row = c.QueryRow("SELECT COUNT(*) " + from, s.params);
  if (pg) RETURN_IF_ERROR(c.ExecuteScript("RESET enable_nestloop; RESET plan_cache_mode"));
  RETURN_IF_ERROR(row.status());
  out.count = *row ? (*row)->Int(0) : 0;
  sample = std::clamp(sample, 0, 1000);
  if (sample > 0 && out.count > 0) {
    store::Params p = s.params;
    p.emplace_back(static_cast<int64_t>(sample));
    ASSIGN_OR_RETURN(auto rows, c.Execute("SELECT c.id " + from + " ORDER BY c.id LIMIT ?", p));
    for (const auto& r : rows.rows) out.sample_ids.push_back(r.Int(0));
  }
  return out;
}

}  // namespace kontor::clients
