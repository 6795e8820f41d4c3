// The audit log: who changed what, when, from where. Written through the
// caller's connection so the entry commits in the same transaction as the
// change it describes; the table itself refuses UPDATE and DELETE.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "store/database.h"

namespace kontor::audit {

// Who acts, and the request it came in. Built once per request.
struct Actor {
  std::string type = "system";  // user | token | system
  std::string id;
  std::string label;            // email, or "token <name> (<email>)"
  std::string request_id;
  std::string client_ip;
  int64_t now_ms = 0;

  static Actor System(std::string label, int64_t now_ms);
};

struct Entry {
  std::string action;         // "user.create"
  std::string resource_type;  // "user"
  std::string resource_id;
  std::optional<json::value> before;
  std::optional<json::value> after;
};

// REQUIRES: `c` is inside the transaction that makes the change.
Status Record(store::Connection& c, const Actor& actor, const Entry& e);
// The same for many entries of one actor, in a few multi-row statements.
Status RecordMany(store::Connection& c, const Actor& actor, const std::vector<Entry>& entries);

// RecordMany in two steps, for bulk writers: the rows are built before the
// write transaction, so that it holds the database's lock for less time,
// and inserted inside it. An entry's JSON comes serialized.
struct SerializedEntry {
  std::string action;
  std::string resource_type;
  std::string resource_id;
  std::optional<std::string> before_json;
  std::optional<std::string> after_json;
};
void AppendRow(const Actor& actor, SerializedEntry e, store::Params* rows);
// REQUIRES: `c` is inside the transaction that makes the change.
Status RecordRows(store::Connection& c, store::Params rows);

struct Filter {
  std::optional<std::string> actor;  // matches the actor label (substring) or id
  std::optional<std::string> action;  // exact, or prefix with a trailing '*'
  std::optional<std::string> resource_type, resource_id;
  std::optional<int64_t> since_ms, until_ms;
  std::optional<int64_t> before_id;   // cursor
  int limit = 50;
};

struct Page {
  json::array items;
  std::optional<int64_t> next_before_id;
};

Result<Page> Query(store::Database& db, const Filter& f);

}  // namespace kontor::audit
