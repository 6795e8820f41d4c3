// AuthService: staff users.
#include <algorithm>

#include "auth/auth_service.h"
#include "auth/password.h"

namespace kontor::auth {
namespace {

constexpr const char* kUserColumns =
    "u.id, u.email, u.name, u.role, u.status, u.overrides, u.preferences, u.version, "
    "u.created_at, u.updated_at, u.last_login_at, r.permissions";

Result<User> RowToUser(const store::Row& row) {
  User u;
  u.id = row.Int(0);
  u.email = row.Str(1);
  u.name = row.Str(2);
  u.role = row.Str(3);
  u.status = row.Str(4);
  ASSIGN_OR_RETURN(u.overrides, StoredOverrides(row.Str(5)));
  auto prefs = ParseJsonObject(row.Str(6));
  if (prefs.ok()) u.preferences = *prefs;
  u.version = row.Int(7);
  u.created_at = row.Int(8);
  u.updated_at = row.Int(9);
  u.last_login_at = row.OptInt(10);
  ASSIGN_OR_RETURN(PermissionSet base, StoredPermissions(row.Str(11)));
  u.permissions = ApplyOverrides(base, u.overrides);
  return u;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

json::object UserToJson(const User& u) {
  return {{"id", std::to_string(u.id)},
          {"email", u.email},
          {"name", u.name},
          {"status", u.status},
          {"role", u.role},
          {"overrides", OverridesToJson(u.overrides)},
          {"permissions", u.permissions.ToJson()},
          {"preferences", u.preferences},
          {"created_at", FormatRfc3339(u.created_at)},
          {"updated_at", FormatRfc3339(u.updated_at)},
          {"last_login_at", u.last_login_at ? json::value(FormatRfc3339(*u.last_login_at)) : nullptr},
          {"version", u.version}};
}

Result<User> AuthService::LoadUser(store::Connection& c, int64_t id, bool for_update) {
  // SQLite transactions already hold the write lock (BEGIN IMMEDIATE); on
  // PostgreSQL the row lock makes concurrent updates queue instead of failing
  // the version check.
  const bool lock = for_update && c.dialect() == store::Dialect::kPostgres;
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kUserColumns +
                                            " FROM users u JOIN roles r ON r.name = u.role WHERE u.id = ?" +
                                            (lock ? " FOR UPDATE OF u" : ""),
                                        {id}));
  if (!row) return Status::NotFound("no user " + std::to_string(id));
  return RowToUser(*row);
}

Result<User> AuthService::GetUser(int64_t id) {
  Result<User> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) {
    out = LoadUser(c, id);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<User>> AuthService::FindUserByEmail(const std::string& email) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string("SELECT ") + kUserColumns +
                                              " FROM users u JOIN roles r ON r.name = u.role WHERE u.email = ?",
                                          {Lower(email)}));
  if (!row) return std::optional<User>();
  ASSIGN_OR_RETURN(User u, RowToUser(*row));
  return std::optional<User>(std::move(u));
}

int64_t AuthService::UserCount() {
  auto row = db_.QueryRow("SELECT COUNT(*) FROM users");
  return row.ok() && row->has_value() ? (*row)->Int(0) : 0;
}

Result<std::pair<std::vector<User>, std::optional<int64_t>>> AuthService::ListUsers(const UserFilter& f) {
  std::string sql = std::string("SELECT ") + kUserColumns +
                    " FROM users u JOIN roles r ON r.name = u.role WHERE 1=1";
  store::Params p;
  if (f.q) {
    sql += " AND (LOWER(u.email) LIKE ? OR LOWER(u.name) LIKE ?)";
    std::string like = "%" + Lower(*f.q) + "%";
    p.emplace_back(like);
    p.emplace_back(like);
  }
  if (f.status) { sql += " AND u.status = ?"; p.emplace_back(*f.status); }
  if (f.after_id) { sql += " AND u.id > ?"; p.emplace_back(*f.after_id); }
  sql += " ORDER BY u.id LIMIT ?";
  p.emplace_back(static_cast<int64_t>(f.limit + 1));
  ASSIGN_OR_RETURN(store::QueryResult r, db_.Execute(sql, p));
  std::vector<User> users;
  for (size_t i = 0; i < r.rows.size() && static_cast<int>(i) < f.limit; ++i) {
    ASSIGN_OR_RETURN(User u, RowToUser(r.rows[i]));
    users.push_back(std::move(u));
  }
  std::optional<int64_t> next;
  if (static_cast<int>(r.rows.size()) > f.limit) next = users.back().id;
  return std::make_pair(std::move(users), next);
}

Result<User> AuthService::CreateUser(const audit::Actor& actor, const NewUser& nu) {
  RETURN_IF_ERROR(ValidatePassword(nu.password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(nu.password));
  const std::string email = Lower(nu.email);
  Result<User> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    auto role = c.QueryRow("SELECT 1 FROM roles WHERE name = ?", {nu.role});
    RETURN_IF_ERROR(role.status());
    if (!role->has_value()) return Status::Validation({{"role", "no role named " + nu.role}});
    auto ins = c.QueryRow(
        "INSERT INTO users (email, name, password_hash, role, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'active', ?, ?) RETURNING id",
        {email, nu.name, hash, nu.role, actor.now_ms, actor.now_ms});
    if (!ins.ok()) {
      if (ins.status().code() == StatusCode::kConflict) {
        return Status::Conflict("a user with email " + email + " exists");
      }
      return ins.status();
    }
    ASSIGN_OR_RETURN(User u, LoadUser(c, (*ins)->Int(0)));
    RETURN_IF_ERROR(audit::Record(c, actor, {"user.create", "user", std::to_string(u.id), std::nullopt,
                                             json::value(UserToJson(u))}));
    out = std::move(u);
    return Status::Ok();
  }));
  return out;
}

Status AuthService::KeepOneAdmin(store::Connection& c, int64_t changing_user_id) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT COUNT(*) FROM users WHERE role = 'admin' AND "
                                        "status = 'active' AND id <> ?",
                                        {changing_user_id}));
  if (row && (*row).Int(0) == 0) {
    return Status::FailedPrecondition("this is the last active admin; make another admin first");
  }
  return Status::Ok();
}

Result<User> AuthService::UpdateUser(const audit::Actor& actor, int64_t id, const UserPatch& p) {
  std::optional<std::string> hash;
  if (p.password) {
    RETURN_IF_ERROR(ValidatePassword(*p.password));
    ASSIGN_OR_RETURN(hash, HashPassword(*p.password));
  }
  Result<User> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(User before, LoadUser(c, id, /*for_update=*/true));
    if (p.if_version && *p.if_version != before.version) {
      return Status::Conflict("the user changed since version " + std::to_string(*p.if_version) +
                              " (now " + std::to_string(before.version) + ")");
    }
    User after = before;
    if (p.name) after.name = *p.name;
    if (p.status) after.status = *p.status;
    if (p.role) {
      auto role = c.QueryRow("SELECT 1 FROM roles WHERE name = ?", {*p.role});
      RETURN_IF_ERROR(role.status());
      if (!role->has_value()) return Status::Validation({{"role", "no role named " + *p.role}});
      after.role = *p.role;
    }
    for (const auto& change : p.overrides) {
      const Component comp = change.first;
      auto& ov = after.overrides;
      ov.erase(std::remove_if(ov.begin(), ov.end(), [comp](auto& e) { return e.first == comp; }), ov.end());
      if (change.second) ov.emplace_back(comp, *change.second);
    }
    std::sort(after.overrides.begin(), after.overrides.end());
    if (p.preferences) after.preferences = *p.preferences;
    const bool loses_admin = before.role == "admin" && before.status == "active" &&
                             (after.role != "admin" || after.status != "active");
    if (loses_admin) RETURN_IF_ERROR(KeepOneAdmin(c, id));

    ASSIGN_OR_RETURN(auto upd, c.Execute(
        "UPDATE users SET name = ?, role = ?, status = ?, overrides = ?, preferences = ?, "
        "password_hash = COALESCE(?, password_hash), version = version + 1, updated_at = ? "
        "WHERE id = ? AND version = ?",
        {after.name, after.role, after.status, json::serialize(OverridesToJson(after.overrides)),
         json::serialize(after.preferences), hash, actor.now_ms, id, before.version}));
    if (upd.affected != 1) return Status::Conflict("the user changed concurrently; retry");
    if (after.status != "active" || hash) {
      // Disabled users and changed passwords end every open session.
      RETURN_IF_ERROR(c.Execute("DELETE FROM sessions WHERE user_id = ?", {id}).status());
    }
    ASSIGN_OR_RETURN(User now, LoadUser(c, id));
    json::object before_json = UserToJson(before), after_json = UserToJson(now);
    if (hash) after_json["password"] = "changed";
    RETURN_IF_ERROR(audit::Record(c, actor, {"user.update", "user", std::to_string(id),
                                             json::value(before_json), json::value(after_json)}));
    out = std::move(now);
    return Status::Ok();
  }));
  // Cached principals carry the user's permissions, name and preferences.
  InvalidateCache();
  return out;
}

}  // namespace kontor::auth
