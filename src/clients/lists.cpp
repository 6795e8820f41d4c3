#include "clients/lists.h"

#include <set>

#include "clients/changes.h"
#include "clients/customers.h"
#include "clients/segment.h"
#include "clients/segment_count.h"
#include "core/clock.h"

namespace kontor::clients {
namespace {

constexpr const char* kSelect =
    "SELECT l.id, l.key, l.name, l.kind, l.product_codes, s.key, l.version, l.created_at, "
    "l.updated_at "
    "FROM lists l LEFT JOIN segments s ON s.id = l.segment_id";

DistributionList RowToList(const store::Row& r) {
  DistributionList l;
  l.id = r.Int(0);
  l.data.key = r.Str(1);
  l.data.name = r.Str(2);
  l.data.kind = r.Str(3);
  l.data.product_codes = ParseStringArray(r.Str(4));
  l.data.segment_key = r.OptStr(5);
  l.version = r.Int(6);
  l.created_at = r.Int(7);
  l.updated_at = r.Int(8);
  return l;
}

}  // namespace

json::object ListToJson(const DistributionList& l) {
  json::array codes;
  for (const auto& c : l.data.product_codes) codes.emplace_back(c);
  return {{"id", l.id},  // what a campaign's audience names
          {"key", l.data.key},
          {"name", l.data.name},
          {"kind", l.data.kind},
          {"product_codes", std::move(codes)},
          {"segment", NullOr(l.data.segment_key)},
          {"version", l.version},
          {"created_at", FormatRfc3339(l.created_at)},
          {"updated_at", FormatRfc3339(l.updated_at)}};
}

Result<ListInput> ParseList(const json::object& body, const std::string& key) {
  JsonReader r(body);
  ListInput in;
  in.key = key;
  in.name = r.String("name", true, 200, 1).value_or("");
  in.kind = r.Enum("kind", false, {"static", "products", "segment"}).value_or("static");
  if (const json::array* codes = r.Array("product_codes", false, 100)) {
    std::set<std::string> unique;
    for (size_t i = 0; i < codes->size(); ++i) {
      if (!(*codes)[i].is_string()) {
        r.AddError("product_codes[" + std::to_string(i) + "]", "must be a string");
        continue;
      }
      unique.emplace((*codes)[i].get_string());
    }
    in.product_codes.assign(unique.begin(), unique.end());
  }
  in.segment_key = r.String("segment", false, 128, 1);
  if (in.kind == "products" && in.product_codes.empty())
    r.AddError("product_codes", "is required for kind products");
  if (in.kind != "products" && !in.product_codes.empty())
    r.AddError("product_codes", "only for kind products");
  if (in.kind == "segment" && !in.segment_key)
    r.AddError("segment", "is required for kind segment");
  if (in.kind != "segment" && in.segment_key) r.AddError("segment", "only for kind segment");
  RETURN_IF_ERROR(r.Finish());
  return in;
}

Result<std::pair<DistributionList, bool>> ListService::Upsert(const audit::Actor& actor,
                                                              const ListInput& in,
                                                              std::optional<int64_t> if_match) {
  Result<std::pair<DistributionList, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    std::optional<int64_t> segment_id;
    if (in.segment_key) {
      ASSIGN_OR_RETURN(auto seg,
                       c.QueryRow("SELECT id FROM segments WHERE key = ?", {*in.segment_key}));
      if (!seg) return Status::Validation({{"segment", "no segment " + *in.segment_key}});
      segment_id = seg->Int(0);
    }
    const std::string lock = c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE OF l" : "";
    ASSIGN_OR_RETURN(auto row,
                     c.QueryRow(std::string(kSelect) + " WHERE l.key = ?" + lock, {in.key}));
    std::optional<DistributionList> before;
    if (row) before = RowToList(*row);
    if (if_match && (!before || before->version != *if_match)) {
      return Status::Conflict(
          "list " + in.key +
          (before ? " is at version " + std::to_string(before->version) : " does not exist"));
    }
    if (before && before->data.name == in.name && before->data.kind == in.kind &&
        before->data.product_codes == in.product_codes &&
        before->data.segment_key == in.segment_key) {
      out = std::make_pair(*before, false);
      return Status::Ok();
    }
    json::array codes;
    for (const auto& code : in.product_codes) codes.emplace_back(code);
    if (before) {
      if (before->data.kind == "static" && in.kind != "static") {
        RETURN_IF_ERROR(
            c.Execute("DELETE FROM list_members WHERE list_id = ?", {before->id}).status());
      }
      RETURN_IF_ERROR(
          c.Execute(
               "UPDATE lists SET name = ?, kind = ?, product_codes = ?, segment_id = ?, "
               "version = version + 1, updated_at = ? WHERE id = ?",
               {in.name, in.kind, json::serialize(codes), segment_id, actor.now_ms, before->id})
              .status());
    } else {
      auto ins = c.Execute(
          "INSERT INTO lists (key, name, kind, product_codes, segment_id, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
          {in.key, in.name, in.kind, json::serialize(codes), segment_id, actor.now_ms,
           actor.now_ms});
      if (!ins.ok() && ins.status().code() == StatusCode::kConflict)
        return Status::Unavailable("concurrent create");
      RETURN_IF_ERROR(ins.status());
    }
    ASSIGN_OR_RETURN(auto now_row, c.QueryRow(std::string(kSelect) + " WHERE l.key = ?", {in.key}));
    DistributionList now = RowToList(*now_row);
    const char* op = before ? "update" : "create";
    RETURN_IF_ERROR(
        RecordChange(c, actor.now_ms, {"list", in.key, op, now.version, ListToJson(now)}));
    RETURN_IF_ERROR(
        audit::Record(c, actor,
                      {std::string("list.") + op, "list", in.key,
                       before ? std::optional<json::value>(ListToJson(*before)) : std::nullopt,
                       json::value(ListToJson(now))}));
    out = std::make_pair(now, true);
    return Status::Ok();
  }));
  return out;
}

Result<DistributionList> ListService::Get(const std::string& key) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string(kSelect) + " WHERE l.key = ?", {key}));
  if (!row) return Status::NotFound("no list " + key);
  return RowToList(*row);
}

Result<std::vector<DistributionList>> ListService::ListAll() {
  ASSIGN_OR_RETURN(auto r, db_.Execute(std::string(kSelect) + " ORDER BY l.key"));
  std::vector<DistributionList> out;
  for (const auto& row : r.rows) out.push_back(RowToList(row));
  return out;
}

namespace {

// Shared by AddMember and RemoveMember: resolves the list and customer ids.
Result<std::pair<int64_t, int64_t>> StaticListAndCustomer(store::Connection& c,
                                                          const std::string& key,
                                                          const std::string& customer) {
  ASSIGN_OR_RETURN(auto list, c.QueryRow("SELECT id, kind FROM lists WHERE key = ?", {key}));
  if (!list) return Status::NotFound("no list " + key);
  if (list->Str(1) != "static") {
    return Status::FailedPrecondition("list " + key + " is " + list->Str(1) +
                                      "; its members follow its rule");
  }
  ASSIGN_OR_RETURN(
      auto cust, c.QueryRow("SELECT id FROM customers WHERE external_id = ? AND status <> 'erased'",
                            {customer}));
  if (!cust) return Status::NotFound("no customer " + customer);
  return std::make_pair(list->Int(0), cust->Int(0));
}

}  // namespace

Status ListService::AddMember(const audit::Actor& actor, const std::string& key,
                              const std::string& customer) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto ids, StaticListAndCustomer(c, key, customer));
    ASSIGN_OR_RETURN(
        auto r,
        c.Execute("INSERT INTO list_members (list_id, customer_id, added_at) VALUES (?, ?, ?) "
                  "ON CONFLICT (list_id, customer_id) DO NOTHING",
                  {ids.first, ids.second, actor.now_ms}));
    if (r.affected == 0) return Status::Ok();
    const std::string member = key + "/" + customer;
    RETURN_IF_ERROR(RecordChange(c, actor.now_ms,
                                 {"list_membership", member, "create", std::nullopt,
                                  json::object{{"list", key}, {"customer", customer}}, customer}));
    return audit::Record(c, actor,
                         {"list.membership_changed", "list", key, std::nullopt,
                          json::value(json::object{{"added", customer}})});
  });
}

Status ListService::RemoveMember(const audit::Actor& actor, const std::string& key,
                                 const std::string& customer) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto ids, StaticListAndCustomer(c, key, customer));
    ASSIGN_OR_RETURN(auto r,
                     c.Execute("DELETE FROM list_members WHERE list_id = ? AND customer_id = ?",
                               {ids.first, ids.second}));
    if (r.affected == 0) return Status::Ok();
    RETURN_IF_ERROR(RecordChange(
        c, actor.now_ms,
        {"list_membership", key + "/" + customer, "delete", std::nullopt, nullptr, customer}));
    return audit::Record(c, actor,
                         {"list.membership_changed", "list", key, std::nullopt,
                          json::value(json::object{{"removed", customer}})});
  });
}

Result<int64_t> ListService::CountMembers(const std::string& key, int64_t now_ms) {
  ASSIGN_OR_RETURN(SegmentCount counted,
                   CountSegment(db_, json::value(json::object{{"member_of", key}}), now_ms));
  return counted.count;
}

Result<std::vector<DistributionList>> ListService::ListsOf(const std::string& customer,
                                                           int64_t now_ms) {
  std::vector<DistributionList> out;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto cust,
                     c.QueryRow("SELECT id FROM customers WHERE external_id = ?", {customer}));
    if (!cust) return Status::NotFound("no customer " + customer);
    const int64_t id = cust->Int(0);
    ASSIGN_OR_RETURN(auto lists, c.Execute(std::string(kSelect) + " ORDER BY l.key"));
    DbSegmentResolver resolver(c);
    // One indexed probe per list: dynamic lists are evaluated for this
    // customer only, through the same compiler as counts and exports.
    for (const auto& row : lists.rows) {
      DistributionList l = RowToList(row);
      ASSIGN_OR_RETURN(CompiledSegment s,
                       CompileSegment(json::value(json::object{{"member_of", l.data.key}}),
                                      c.dialect(), now_ms, resolver));
      store::Params p{id};
      p.insert(p.end(), s.params.begin(), s.params.end());
      ASSIGN_OR_RETURN(auto hit, c.QueryRow("SELECT 1 FROM customers c WHERE c.id = ? AND " +
                                                std::string(kNotErased) + " AND (" + s.where + ")",
                                            p));
      if (hit) out.push_back(std::move(l));
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace kontor::clients
