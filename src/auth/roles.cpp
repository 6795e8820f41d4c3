// AuthService: roles.
#include "auth/auth_service.h"

namespace kontor::auth {

json::object RoleToJson(const Role& r) {
  return {{"name", r.name},
          {"description", r.description},
          {"builtin", r.builtin},
          {"permissions", r.permissions.ToJson()},
          {"users", r.users}};
}

Status AuthService::SeedRoles() {
  const int64_t now = clock_.NowMs();
  return db_.Transact([&](store::Connection& c) -> Status {
    for (const auto& r : BuiltinRoles()) {
      RETURN_IF_ERROR(c.Execute(
          "INSERT INTO roles (name, description, permissions, builtin, created_at, updated_at) "
          "VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO UPDATE SET description = excluded.description, "
          "permissions = excluded.permissions, builtin = 1",
          {r.name, r.description, json::serialize(r.permissions.ToJson()), now, now}).status());
    }
    return Status::Ok();
  });
}

namespace {

Result<Role> RowToRole(const store::Row& row) {
  Role r;
  r.name = row.Str(0);
  r.description = row.Str(1);
  ASSIGN_OR_RETURN(r.permissions, StoredPermissions(row.Str(2)));
  r.builtin = row.Int(3) != 0;
  r.users = row.Int(4);
  return r;
}

constexpr const char* kRoleSelect =
    "SELECT r.name, r.description, r.permissions, r.builtin, "
    "(SELECT COUNT(*) FROM users u WHERE u.role = r.name) FROM roles r";

}  // namespace

Result<std::vector<Role>> AuthService::ListRoles() {
  ASSIGN_OR_RETURN(store::QueryResult res,
                   db_.Execute(std::string(kRoleSelect) + " ORDER BY r.builtin DESC, r.name"));
  std::vector<Role> out;
  for (const auto& row : res.rows) {
    ASSIGN_OR_RETURN(Role r, RowToRole(row));
    out.push_back(std::move(r));
  }
  return out;
}

Result<Role> AuthService::GetRole(const std::string& name) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string(kRoleSelect) + " WHERE r.name = ?", {name}));
  if (!row) return Status::NotFound("no role " + name);
  return RowToRole(*row);
}

Result<Role> AuthService::CreateRole(const audit::Actor& actor, const Role& r) {
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    auto ins = c.Execute(
        "INSERT INTO roles (name, description, permissions, builtin, created_at, updated_at) "
        "VALUES (?, ?, ?, 0, ?, ?)",
        {r.name, r.description, json::serialize(r.permissions.ToJson()), actor.now_ms, actor.now_ms});
    if (!ins.ok()) {
      return ins.status().code() == StatusCode::kConflict
                 ? Status::Conflict("a role named " + r.name + " exists")
                 : ins.status();
    }
    return audit::Record(c, actor, {"role.create", "role", r.name, std::nullopt, json::value(RoleToJson(r))});
  }));
  return GetRole(r.name);
}

Result<Role> AuthService::UpdateRole(const audit::Actor& actor, const std::string& name,
                                     std::optional<std::string> description, const PermissionSet& p) {
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kRoleSelect) + " WHERE r.name = ?", {name}));
    if (!row) return Status::NotFound("no role " + name);
    ASSIGN_OR_RETURN(Role before, RowToRole(*row));
    if (before.builtin) return Status::FailedPrecondition("built-in roles cannot be changed; create a custom role");
    Role after = before;
    after.permissions = p;
    if (description) after.description = *description;
    RETURN_IF_ERROR(c.Execute("UPDATE roles SET description = ?, permissions = ?, updated_at = ? WHERE name = ?",
                              {after.description, json::serialize(p.ToJson()), actor.now_ms, name}).status());
    return audit::Record(c, actor, {"role.update", "role", name, json::value(RoleToJson(before)),
                                    json::value(RoleToJson(after))});
  }));
  InvalidateCache();
  return GetRole(name);
}

Status AuthService::DeleteRole(const audit::Actor& actor, const std::string& name) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kRoleSelect) + " WHERE r.name = ?", {name}));
    if (!row) return Status::NotFound("no role " + name);
    ASSIGN_OR_RETURN(Role before, RowToRole(*row));
    if (before.builtin) return Status::FailedPrecondition("built-in roles cannot be deleted");
    if (before.users > 0) {
      return Status::FailedPrecondition("the role is assigned to " + std::to_string(before.users) +
                                        " user(s); reassign them first");
    }
    RETURN_IF_ERROR(c.Execute("DELETE FROM roles WHERE name = ?", {name}).status());
    return audit::Record(c, actor, {"role.delete", "role", name, json::value(RoleToJson(before)), std::nullopt});
  });
}

}  // namespace kontor::auth
