#include "clients/devices.h"

#include "clients/changes.h"
#include "clients/customers.h"
#include "core/clock.h"
#include "core/validation.h"

namespace kontor::clients {
namespace {

constexpr const char* kSelect =
    "SELECT d.id, d.installation_id, d.platform, d.status, d.token, d.app_version, d.locale, "
    "c.external_id, "
    "d.last_seen_at, d.version, d.created_at, d.updated_at FROM devices d "
    "LEFT JOIN customers c ON c.id = d.customer_id";

Device RowToDevice(const store::Row& r) {
  Device d;
  d.id = r.Int(0);
  d.installation_id = r.Str(1);
  d.platform = r.Str(2);
  d.status = r.Str(3);
  d.token = r.OptStr(4);
  d.app_version = r.OptStr(5);
  d.locale = r.OptStr(6);
  d.customer = r.OptStr(7);
  d.last_seen_at = r.Int(8);
  d.version = r.Int(9);
  d.created_at = r.Int(10);
  d.updated_at = r.Int(11);
  return d;
}

}  // namespace

json::object DeviceToJson(const Device& d) {
  return {{"installation_id", d.installation_id},
          {"platform", d.platform},
          {"status", d.status},
          {"token", NullOr(d.token)},
          {"app_version", NullOr(d.app_version)},
          {"locale", NullOr(d.locale)},
          {"customer", NullOr(d.customer)},
          {"last_seen_at", FormatRfc3339(d.last_seen_at)},
          {"version", d.version},
          {"created_at", FormatRfc3339(d.created_at)},
          {"updated_at", FormatRfc3339(d.updated_at)}};
}

Result<DeviceInput> ParseDevice(const json::object& body, const std::string& installation_id) {
  JsonReader r(body);
  DeviceInput in;
  in.installation_id = installation_id;
  in.platform = r.Enum("platform", true, {"android", "ios", "web"}).value_or("");
  in.token = r.String("token", false, 4096, 1);
  in.app_version = r.String("app_version", false, 50, 1);
  in.locale = r.String("locale", false, 35, 1);
  if (in.locale && !IsLanguageTag(*in.locale))
    r.AddError("locale", "must be a language tag like de-DE");
  if (r.IsNull("customer")) {
    in.detach = true;
    (void)r.Raw("customer");
  } else {
    in.customer = r.String("customer", false, 128, 1);
  }
  RETURN_IF_ERROR(r.Finish());
  return in;
}

Result<std::pair<Device, bool>> DeviceService::Upsert(const audit::Actor& actor,
                                                      const DeviceInput& in) {
  Result<std::pair<Device, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    std::optional<int64_t> customer_id;
    if (in.customer) {
      ASSIGN_OR_RETURN(
          auto cust,
          c.QueryRow("SELECT id FROM customers WHERE external_id = ? AND status <> 'erased'",
                     {*in.customer}));
      if (!cust) return Status::Validation({{"customer", "no customer " + *in.customer}});
      customer_id = cust->Int(0);
    }
    const std::string lock = c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE OF d" : "";
    ASSIGN_OR_RETURN(auto row,
                     c.QueryRow(std::string(kSelect) + " WHERE d.installation_id = ?" + lock,
                                {in.installation_id}));
    std::optional<Device> before;
    if (row) before = RowToDevice(*row);
    Device want = before.value_or(Device{});
    want.installation_id = in.installation_id;
    want.platform = in.platform;
    if (in.token) want.token = in.token;
    if (in.app_version) want.app_version = in.app_version;
    if (in.locale) want.locale = in.locale;
    if (in.customer) want.customer = in.customer;
    if (in.detach) want.customer.reset();
    // A fresh token brings a device back; an unchanged one keeps its status.
    want.status = !before || (in.token && in.token != before->token) ? "active" : before->status;
    const bool changed = !before || want.platform != before->platform ||
                         want.token != before->token || want.app_version != before->app_version ||
                         want.locale != before->locale || want.customer != before->customer ||
                         want.status != before->status;
    if (!before) {
      auto ins = c.Execute(
          "INSERT INTO devices (installation_id, customer_id, platform, token, app_version, "
          "locale, "
          "status, last_seen_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {in.installation_id, customer_id, want.platform, want.token, want.app_version,
           want.locale, want.status, actor.now_ms, actor.now_ms, actor.now_ms});
      if (!ins.ok() && ins.status().code() == StatusCode::kConflict)
        return Status::Unavailable("concurrent create");
      RETURN_IF_ERROR(ins.status());
    } else if (changed) {
      RETURN_IF_ERROR(
          c.Execute("UPDATE devices SET customer_id = CASE WHEN ? = 1 THEN NULL ELSE COALESCE(?, "
                    "customer_id) END, "
                    "platform = ?, token = ?, app_version = ?, locale = ?, status = ?, "
                    "last_seen_at = ?, "
                    "version = version + 1, updated_at = ? WHERE id = ?",
                    {in.detach ? 1 : 0, customer_id, want.platform, want.token, want.app_version,
                     want.locale, want.status, actor.now_ms, actor.now_ms, before->id})
              .status());
    } else {
      RETURN_IF_ERROR(
          c.Execute("UPDATE devices SET last_seen_at = ? WHERE id = ?", {actor.now_ms, before->id})
              .status());
    }
    ASSIGN_OR_RETURN(auto now_row, c.QueryRow(std::string(kSelect) + " WHERE d.installation_id = ?",
                                              {in.installation_id}));
    Device now = RowToDevice(*now_row);
    if (changed && now.token && now.status == "active") {
      ASSIGN_OR_RETURN(auto others,
                       c.Execute("SELECT id FROM devices WHERE token = ? AND installation_id <> ? "
                                 "AND status <> 'unregistered'",
                                 {*now.token, in.installation_id}));
      for (const auto& o : others.rows)
        RETURN_IF_ERROR(MarkUnregistered(c, actor.now_ms, o.Int(0)));
    }
    if (changed) {
      // Push tokens are credentials of a kind: the feed and audit show whether
      // one is set, not its value.
      json::object data = DeviceToJson(now);
      data["token"] = now.token ? json::value("set") : json::value(nullptr);
      const char* op = before ? "update" : "create";
      // A detach belongs on the timeline of the customer it left.
      std::optional<std::string> owner = now.customer ? now.customer
                                         : before     ? before->customer
                                                      : std::nullopt;
      RETURN_IF_ERROR(RecordChange(c, actor.now_ms,
                                   {"device", in.installation_id, op, now.version, data, owner}));
      RETURN_IF_ERROR(audit::Record(c, actor,
                                    {std::string("device.") + op, "device", in.installation_id,
                                     std::nullopt, json::value(data)}));
    }
    out = std::make_pair(now, changed);
    return Status::Ok();
  }));
  return out;
}

Result<Device> DeviceService::Get(const std::string& installation_id) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string(kSelect) + " WHERE d.installation_id = ?",
                                          {installation_id}));
  if (!row) return Status::NotFound("no device " + installation_id);
  return RowToDevice(*row);
}

Result<std::vector<Device>> DeviceService::ListForCustomer(
    const std::string& customer_external_id) {
  ASSIGN_OR_RETURN(auto r,
                   db_.Execute(std::string(kSelect) + " WHERE c.external_id = ? ORDER BY d.id",
                               {customer_external_id}));
  std::vector<Device> out;
  for (const auto& row : r.rows) out.push_back(RowToDevice(row));
  return out;
}

Result<int64_t> DeviceService::MarkStale(int64_t now_ms, int64_t cutoff_ms) {
  int64_t n = 0;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto stale,
                     c.Execute("SELECT d.installation_id, d.version, c.external_id FROM devices d "
                               "LEFT JOIN customers c ON c.id = d.customer_id "
                               "WHERE d.status = 'active' AND d.last_seen_at < ?",
                               {cutoff_ms}));
    for (const auto& row : stale.rows) {
      RETURN_IF_ERROR(
          c.Execute("UPDATE devices SET status = 'stale', version = version + 1, updated_at = ? "
                    "WHERE installation_id = ?",
                    {now_ms, row.Str(0)})
              .status());
      RETURN_IF_ERROR(RecordChange(c, now_ms,
                                   {"device", row.Str(0), "update", row.Int(1) + 1,
                                    json::object{{"status", "stale"}}, row.OptStr(2)}));
    }
    n = static_cast<int64_t>(stale.rows.size());
    return Status::Ok();
  }));
  return n;
}

Result<Device> DeviceService::Unregister(const audit::Actor& actor,
                                         const std::string& installation_id) {
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(
        auto row,
        c.QueryRow("SELECT id, status FROM devices WHERE installation_id = ?", {installation_id}));
    if (!row) return Status::NotFound("no device " + installation_id);
    if (row->Str(1) == "unregistered") return Status::Ok();
    RETURN_IF_ERROR(MarkUnregistered(c, actor.now_ms, row->Int(0)));
    return audit::Record(c, actor,
                         {"device.unregister", "device", installation_id,
                          json::value(json::object{{"status", row->Str(1)}}),
                          json::value(json::object{{"status", "unregistered"}})});
  }));
  return Get(installation_id);
}

Result<std::vector<DeviceService::PlatformStats>> DeviceService::Stats() {
  ASSIGN_OR_RETURN(auto rows, db_.Execute("SELECT platform, status, COUNT(*) FROM devices "
                                          "GROUP BY platform, status ORDER BY platform"));
  std::vector<PlatformStats> out;
  for (const auto& r : rows.rows) {
    if (out.empty() || out.back().platform != r.Str(0)) out.push_back({r.Str(0)});
    PlatformStats& p = out.back();
    const std::string status = r.Str(1);
    (status == "active" ? p.active : status == "stale" ? p.stale : p.unregistered) += r.Int(2);
  }
  return out;
}

Status DeviceService::MarkUnregistered(store::Connection& c, int64_t now_ms, int64_t device_id) {
  ASSIGN_OR_RETURN(auto row,
                   c.QueryRow("SELECT d.installation_id, d.version, c.external_id FROM devices d "
                              "LEFT JOIN customers c ON c.id = d.customer_id "
                              "WHERE d.id = ? AND d.status <> 'unregistered'",
                              {device_id}));
  if (!row) return Status::Ok();
  RETURN_IF_ERROR(c.Execute("UPDATE devices SET status = 'unregistered', version = version + 1, "
                            "updated_at = ? WHERE id = ?",
                            {now_ms, device_id})
                      .status());
  return RecordChange(c, now_ms,
                      {"device", row->Str(0), "update", row->Int(1) + 1,
                       json::object{{"status", "unregistered"}}, row->OptStr(2)});
}

}  // namespace kontor::clients
