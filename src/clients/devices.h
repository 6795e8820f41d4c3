// App installations and their push tokens. A device may be anonymous and is
// attached to a customer when the app user logs in; tokens that have not been
// seen for a long time are marked stale by a periodic job.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/json.h"
#include "store/database.h"

namespace kontor::clients {

struct DeviceInput {
  std::string installation_id;
  std::string platform;  // android | ios | web
  std::optional<std::string> token, app_version, locale;
  std::optional<std::string> customer;  // external id; nullopt keeps the current owner
  bool detach = false;                  // "customer": null detaches (logout)
};

struct Device {
  int64_t id = 0;
  std::string installation_id, platform, status;
  std::optional<std::string> token, app_version, locale, customer;
  int64_t last_seen_at = 0, version = 0, created_at = 0, updated_at = 0;
};
json::object DeviceToJson(const Device& d);

Result<DeviceInput> ParseDevice(const json::object& body, const std::string& installation_id);

class DeviceService {
 public:
  explicit DeviceService(store::Database& db) : db_(db) {}
  // Registers or refreshes a device. Every call moves last_seen_at; only a
  // change of the other fields bumps the version and reaches the change feed.
  // A new token on an unregistered or stale device makes it active again.
  // An active token held by another installation (the app reinstalled, or
  // registered anonymously before login under another id) is unregistered
  // there, so one token never gets a message twice.
  Result<std::pair<Device, bool>> Upsert(const audit::Actor& actor, const DeviceInput& in);
  Result<Device> Get(const std::string& installation_id);
  Result<std::vector<Device>> ListForCustomer(const std::string& customer_external_id);
  // Marks active devices not seen since `cutoff_ms` stale; returns how many.
  Result<int64_t> MarkStale(int64_t now_ms, int64_t cutoff_ms);
  // Inside the caller's transaction: the push provider said the device's
  // token is gone for good (FCM UNREGISTERED, APNs 410). No-op when it is
  // unregistered already.
  static Status MarkUnregistered(store::Connection& c, int64_t now_ms, int64_t device_id);
  // The app says the installation's token is no longer valid (logout with
  // push off, uninstall seen by the app's backend). Audited; idempotent.
  Result<Device> Unregister(const audit::Actor& actor, const std::string& installation_id);
  struct PlatformStats {
    std::string platform;
    int64_t active = 0, unregistered = 0, stale = 0;
  };
  // Devices per platform and status, platforms in name order.
  Result<std::vector<PlatformStats>> Stats();

 private:
  store::Database& db_;
};

}  // namespace kontor::clients
