#include "auth/permissions.h"

namespace kontor::auth {
namespace {

constexpr std::array<std::string_view, kComponentCount> kComponentNames = {
    "customers", "messaging", "editions", "documents", "portal", "payments", "analytics", "admin"};

PermissionSet Make(std::initializer_list<std::pair<Component, Level>> l) {
  PermissionSet p;
  for (auto [c, lv] : l) p.Set(c, lv);
  return p;
}

}  // namespace

const std::array<Component, kComponentCount>& AllComponents() {
  static const std::array<Component, kComponentCount> kAll = {
      Component::kCustomers, Component::kMessaging, Component::kEditions, Component::kDocuments,
      Component::kPortal,    Component::kPayments,  Component::kAnalytics, Component::kAdmin};
  return kAll;
}

std::string_view ComponentName(Component c) { return kComponentNames[static_cast<size_t>(c)]; }

std::optional<Component> ParseComponent(std::string_view s) {
  for (size_t i = 0; i < kComponentCount; ++i) {
    if (kComponentNames[i] == s) return static_cast<Component>(i);
  }
  return std::nullopt;
}

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kNone: return "none";
    case Level::kRead: return "read";
    case Level::kWrite: return "write";
  }
  return "none";
}

std::optional<Level> ParseLevel(std::string_view s) {
  if (s == "none") return Level::kNone;
  if (s == "read") return Level::kRead;
  if (s == "write") return Level::kWrite;
  return std::nullopt;
}

PermissionSet PermissionSet::All(Level l) {
  PermissionSet p;
  p.levels_.fill(l);
  return p;
}

PermissionSet PermissionSet::Intersect(const PermissionSet& o) const {
  PermissionSet p;
  for (size_t i = 0; i < kComponentCount; ++i) p.levels_[i] = std::min(levels_[i], o.levels_[i]);
  return p;
}

json::object PermissionSet::ToJson() const {
  json::object o;
  for (Component c : AllComponents()) o[ComponentName(c)] = LevelName(Get(c));
  return o;
}

Result<PermissionSet> PermissionSet::FromJson(const json::object& o, const std::string& field) {
  PermissionSet p;
  std::vector<FieldError> errors;
  for (const auto& kv : o) {
    auto c = ParseComponent(kv.key());
    std::string name = field + "." + std::string(kv.key());
    if (!c) {
      errors.push_back({name, "unknown component"});
      continue;
    }
    auto l = kv.value().is_string() ? ParseLevel(kv.value().get_string()) : std::nullopt;
    if (!l) {
      errors.push_back({name, "must be none, read or write"});
      continue;
    }
    p.Set(*c, *l);
  }
  if (!errors.empty()) return Status::Validation(errors);
  return p;
}

const std::vector<BuiltinRole>& BuiltinRoles() {
  using C = Component;
  constexpr Level N = Level::kNone, R = Level::kRead, W = Level::kWrite;
  static const std::vector<BuiltinRole> kRoles = {
      {"admin", "Full access to every component", PermissionSet::All(W)},
      {"editor", "Writes and approves newsletter editions and documents",
       Make({{C::kCustomers, R}, {C::kMessaging, R}, {C::kEditions, W}, {C::kDocuments, W},
             {C::kAnalytics, R}})},
      {"marketing", "Runs campaigns and keeps the client hub current",
       Make({{C::kCustomers, W}, {C::kMessaging, W}, {C::kEditions, R}, {C::kDocuments, R},
             {C::kAnalytics, R}})},
      {"payments-operator", "Uploads, schedules and follows payments",
       Make({{C::kCustomers, R}, {C::kPayments, W}, {C::kAnalytics, R}})},
      {"analyst", "Reads everything business-related, writes reports",
       Make({{C::kCustomers, R}, {C::kMessaging, R}, {C::kEditions, R}, {C::kDocuments, R},
             {C::kPortal, R}, {C::kPayments, R}, {C::kAnalytics, W}, {C::kAdmin, N}})},
      {"auditor", "Read-only everywhere, including the audit log", PermissionSet::All(R)},
  };
  return kRoles;
}

bool IsBuiltinRole(std::string_view name) {
  for (const auto& r : BuiltinRoles()) {
    if (r.name == name) return true;
  }
  return false;
}

PermissionSet ApplyOverrides(PermissionSet base, const Overrides& o) {
  for (auto [c, l] : o) base.Set(c, l);
  return base;
}

Result<Overrides> OverridesFromJson(const json::object& o, const std::string& field) {
  ASSIGN_OR_RETURN(PermissionSet p, PermissionSet::FromJson(o, field));
  Overrides out;
  for (const auto& kv : o) {
    Component c = *ParseComponent(kv.key());
    out.emplace_back(c, p.Get(c));
  }
  return out;
}

json::object OverridesToJson(const Overrides& o) {
  json::object out;
  for (auto [c, l] : o) out[ComponentName(c)] = LevelName(l);
  return out;
}

Result<PermissionSet> StoredPermissions(std::string_view role_permissions_json) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(role_permissions_json));
  return PermissionSet::FromJson(o, "permissions");
}

Result<Overrides> StoredOverrides(std::string_view overrides_json) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(overrides_json));
  return OverridesFromJson(o, "overrides");
}

Result<PermissionSet> ScopesToPermissions(const std::vector<std::string>& scopes) {
  PermissionSet p;
  std::vector<FieldError> errors;
  for (size_t i = 0; i < scopes.size(); ++i) {
    const std::string& s = scopes[i];
    if (s == "*") {
      p = PermissionSet::All(Level::kWrite);
      continue;
    }
    auto colon = s.find(':');
    auto c = colon == std::string::npos ? std::nullopt : ParseComponent(s.substr(0, colon));
    auto l = colon == std::string::npos ? std::nullopt : ParseLevel(s.substr(colon + 1));
    if (!c || !l || *l == Level::kNone) {
      errors.push_back({"scopes[" + std::to_string(i) + "]", "must be * or component:read|write"});
      continue;
    }
    if (p.Get(*c) < *l) p.Set(*c, *l);
  }
  if (!errors.empty()) return Status::Validation(errors);
  return p;
}

}  // namespace kontor::auth
