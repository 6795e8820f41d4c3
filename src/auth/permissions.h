// Components, permission levels and built-in roles.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace kontor::auth {

enum class Component { kCustomers, kMessaging, kEditions, kDocuments, kPortal, kPayments, kAnalytics, kAdmin };
constexpr size_t kComponentCount = 8;
enum class Level { kNone = 0, kRead = 1, kWrite = 2 };

const std::array<Component, kComponentCount>& AllComponents();
std::string_view ComponentName(Component c);
std::optional<Component> ParseComponent(std::string_view s);
std::string_view LevelName(Level l);
std::optional<Level> ParseLevel(std::string_view s);

// Level per component; default-constructed grants nothing.
class PermissionSet {
 public:
  PermissionSet() { levels_.fill(Level::kNone); }
  static PermissionSet All(Level l);
  Level Get(Component c) const { return levels_[static_cast<size_t>(c)]; }
  void Set(Component c, Level l) { levels_[static_cast<size_t>(c)] = l; }
  bool Allows(Component c, Level needed) const { return Get(c) >= needed; }
  // Component-wise minimum (token scopes narrow the owner's rights).
  PermissionSet Intersect(const PermissionSet& o) const;
  json::object ToJson() const;
  // {"customers":"write",...}; components not named stay `none`.
  static Result<PermissionSet> FromJson(const json::object& o, const std::string& field);
  bool operator==(const PermissionSet&) const = default;

 private:
  std::array<Level, kComponentCount> levels_;
};

struct BuiltinRole {
  std::string name;
  std::string description;
  PermissionSet permissions;
};
const std::vector<BuiltinRole>& BuiltinRoles();
bool IsBuiltinRole(std::string_view name);

// Per-user overrides: component → level (allow = write, restrict = read, deny = none).
using Overrides = std::vector<std::pair<Component, Level>>;
PermissionSet ApplyOverrides(PermissionSet base, const Overrides& o);
Result<Overrides> OverridesFromJson(const json::object& o, const std::string& field);
json::object OverridesToJson(const Overrides& o);

// Parses what the database stores: a role's permissions and a user's
// overrides (both JSON objects).
Result<PermissionSet> StoredPermissions(std::string_view role_permissions_json);
Result<Overrides> StoredOverrides(std::string_view overrides_json);

// Token scopes: "*" or "component:read|write". Returns the permissions they grant.
Result<PermissionSet> ScopesToPermissions(const std::vector<std::string>& scopes);

}  // namespace kontor::auth
