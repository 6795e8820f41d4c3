// Segment rules: a small JSON language for choosing customers, compiled into a
// parameterised SQL condition over `customers c` for SQLite or PostgreSQL.
//
//   {"all": [rule, ...]}  {"any": [rule, ...]}  {"not": rule}
//   {"field": "country", "op": "eq", "value": "DE"}
//   {"attribute": "address.city", "op": "starts_with", "value": "Ber"}
//   {"has_subscription": {"products": ["GOLD"], "status": "active"}}
//   {"member_of": "list-key"}  {"segment": "segment-key"}
//   {"tag": "vip"}  {"consent": "email"}
//
// Semantics every caller can rely on:
// - Every condition is two-valued: a missing field or attribute makes a
//   comparison false (never SQL NULL), so `not` is the exact complement.
//   Hence `ne` and `not_in` also match customers where the value is missing.
// - Text equality and the LIKE operators ignore case (LOWER on both sides; on
//   SQLite that folds ASCII only).
// - Attribute comparisons are typed by the rule's value: a number matches only
//   JSON numbers, compared numerically (10 > 9); a string only JSON strings;
//   a boolean only JSON booleans. Ordering of strings is by code point.
// - `exists` means present, not null and, for text fields, not empty.
// - The SQL holds only fixed text from the compiler; every user value,
//   attribute path included, is a bound parameter.
// - Erased customers are not excluded by the compiled condition; callers add
//   kNotErased (PreviewSegment does).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "store/database.h"

namespace kontor::clients {

// The condition that keeps erased customers out of every segment.
inline constexpr std::string_view kNotErased = "c.status <> 'erased'";

// Limits on a rule, counted after segments and segment lists are inlined.
inline constexpr int kMaxRuleDepth = 16;
inline constexpr int kMaxRuleNodes = 200;
inline constexpr size_t kMaxRuleListValues = 1000;
inline constexpr size_t kMaxRuleStringLength = 1000;

struct CompiledSegment {
  std::string where;     // a boolean SQL expression over the customers table aliased `c`
  store::Params params;  // for its `?` placeholders, in order
  // Only when compiled with id sets (SQLite): the sets `where` probes with
  // kontor_in_set(c.id, i). Each query selects customer ids and ends with
  // `BETWEEN ? AND ?` for an id range, bound after `params`.
  struct Set {
    std::string sql;
    store::Params params;
  };
  std::vector<Set> sets;
};

// Where the compiler looks up saved segments and lists referenced by key.
class SegmentResolver {
 public:
  virtual ~SegmentResolver() = default;

  // The stored rule of segment `key`, or kNotFound.
  virtual Result<json::value> SegmentRule(const std::string& key) = 0;

  struct ListInfo {
    int64_t id = 0;
    std::string kind;  // static | products | segment
    std::vector<std::string> product_codes;
    std::string segment_key;  // for kind "segment"
  };
  // The list `key`, or kNotFound.
  virtual Result<ListInfo> List(const std::string& key) = 0;
};

// Reads the `segments` and `lists` tables through a connection.
class DbSegmentResolver : public SegmentResolver {
 public:
  explicit DbSegmentResolver(store::Connection& c) : c_(c) {}
  Result<json::value> SegmentRule(const std::string& key) override;
  Result<ListInfo> List(const std::string& key) override;

 private:
  store::Connection& c_;
};

// Compiles a rule tree for one dialect. `now_ms` resolves relative dates.
// Errors are kValidation with FieldErrors whose field is the JSON path from
// `path_prefix` (e.g. "rule.all[2].op"); an error inside a referenced segment
// is reported at the reference, its message naming the inner path. Unknown
// segment and list keys and reference cycles are validation errors too; only
// resolver failures other than kNotFound (database errors) pass through.
// `self_key` names the segment the rule is about to be saved as, so that a
// reference back to it counts as a cycle before the stale stored rule is read.
// `id_sets` (SQLite only; ignored on PostgreSQL) compiles set conditions to
// probes into CompiledSegment::sets, which the caller reads into store::IdSet
// and puts in scope (see CountSegment).
Result<CompiledSegment> CompileSegment(const json::value& rule, store::Dialect dialect,
                                       int64_t now_ms, SegmentResolver& resolver,
                                       const std::string& path_prefix = "rule",
                                       const std::string& self_key = "", bool id_sets = false);

// Convenience used by the API: count and a sample of matching customers (not
// erased), the sample being the lowest ids; `sample` is clamped to [0, 1000].
struct SegmentPreview {
  int64_t count = 0;
  std::vector<int64_t> sample_ids;
};
Result<SegmentPreview> PreviewSegment(store::Connection& c, const CompiledSegment& s,
                                      int sample = 20);

}  // namespace kontor::clients
