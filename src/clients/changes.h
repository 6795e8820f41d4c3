// The change feed: every create, update and delete of client-hub records is
// appended here in the same transaction as the change, so a downstream
// system can sync incrementally from a cursor and resume after a break.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct Change {
  // customer | subscription | list_membership | device | product | list | payment
  std::string entity;
  std::string key;  // the record's external key
  std::string op;   // create | update | delete
  std::optional<int64_t> version;
  json::value data;  // the record after the change (null for deletes)
  // The customer (external id) the change concerns, for the customer's
  // timeline and for erasure; nullopt for products and lists.
  std::optional<std::string> customer;
};

// REQUIRES: inside the transaction that makes the change. On PostgreSQL it
// takes a transaction-scoped advisory lock first, so sequence numbers are
// handed out in commit order and a reader never skips a row that commits late.
Status RecordChange(store::Connection& c, int64_t now_ms, const Change& change);
// The same for many changes, in a few multi-row statements (in order).
Status RecordChanges(store::Connection& c, int64_t now_ms, const std::vector<Change>& changes);

// RecordChanges in two steps, for bulk writers that build the rows with
// less work (the data comes serialized, written without a json::value) or
// before their write transaction; the rows are inserted inside it.
struct SerializedChange {
  std::string entity;
  std::string key;
  std::string op;
  std::optional<int64_t> version;
  std::optional<std::string> data;  // nullopt for deletes
  std::optional<std::string> customer;
};
void AppendChangeRow(int64_t now_ms, SerializedChange change, store::Params* rows);
// REQUIRES: inside the transaction that makes the changes (see RecordChange).
Status RecordChangeRows(store::Connection& c, store::Params rows);

struct ChangePage {
  json::array items;    // {"seq","entity","key","op","version","at","data"}
  int64_t next_cursor;  // pass back as `since`; equals `since` when nothing new
};
Result<ChangePage> ReadChanges(store::Database& db, int64_t since, int limit);

// One customer's changes (the customer, its subscriptions, list memberships
// and devices), newest first, with seq < `before` when given.
struct TimelinePage {
  json::array items;  // as ChangePage
  std::optional<int64_t> next_before;
};
Result<TimelinePage> ReadCustomerTimeline(store::Database& db, const std::string& customer,
                                          std::optional<int64_t> before, int limit);

// Erasure: drops the recorded data of the customer's own changes (what the
// feed keeps is that and when it changed, not the personal data).
Status ScrubCustomerChanges(store::Connection& c, const std::string& customer);

}  // namespace kontor::clients
