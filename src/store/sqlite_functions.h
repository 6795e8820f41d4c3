// SQL functions Kontor adds to every SQLite connection.
//
//   kontor_json_number(doc, path)  the JSON number at `path` (INTEGER or REAL),
//                                  NULL when missing or not a number (booleans
//                                  are not numbers)
//   kontor_json_text(doc, path)    the JSON string at `path`, NULL otherwise
//   kontor_json_type(doc, path)    json_type's names: 'object', 'array',
//                                  'text', 'integer', 'real', 'true', 'false',
//                                  'null'; NULL when missing
//   kontor_in_set(id, slot)        1 when `id` is in IdSetScope::Current()[slot]
//
// `path` is `$` followed by `."key"` or `.key` steps (object keys only), the
// form the segment compiler writes. The JSON functions read the document
// once, front to back, and stop at the value (SQLite's json_type and
// json_extract each parse the whole document, and a condition needs both):
// what makes attribute conditions over a million customers affordable.
// A document that is not valid JSON up to the value gives NULL, like a
// missing path; Kontor only stores valid JSON.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "core/status.h"

struct sqlite3;

namespace kontor::store {

Status RegisterSqliteFunctions(sqlite3* db);

// What the JSON functions see at `path` in `doc` (exposed for tests):
// monostate when missing, else the type name and, for numbers and strings,
// the value.
struct JsonAt {
  std::string type;  // as kontor_json_type; empty when missing
  std::variant<std::monostate, int64_t, double, std::string> value;
};
// kInvalidArgument when `path` is not of the form above.
Result<JsonAt> FindJsonAt(std::string_view doc, std::string_view path);

}  // namespace kontor::store
