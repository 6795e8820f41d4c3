// Staff identity: users, roles, API tokens, web sessions, login throttling,
// and the Authenticator the HTTP pipeline calls on every request.
//
// Every mutating method takes the audit Actor and writes its audit row in the
// same transaction as the change.
#pragma once

#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/audit.h"
#include "auth/permissions.h"
#include "auth/principal.h"
#include "core/clock.h"
#include "http/dispatcher.h"
#include "store/database.h"

namespace kontor::auth {

struct AuthOptions {
  int session_ttl_minutes = 720;
  int login_max_failures = 5;
  int login_window_minutes = 15;
  int lockout_minutes = 15;
  int token_cache_seconds = 5;
};

struct User {
  int64_t id = 0;
  std::string email, name, role, status;
  Overrides overrides;
  json::object preferences;
  int64_t version = 0, created_at = 0, updated_at = 0;
  std::optional<int64_t> last_login_at;
  PermissionSet permissions;  // role + overrides
};
json::object UserToJson(const User& u);

struct NewUser {
  std::string email, name, password, role;
};

struct UserPatch {
  std::optional<std::string> name, role, status, password;
  // component → level, or nullopt to remove the override.
  std::vector<std::pair<Component, std::optional<Level>>> overrides;
  std::optional<json::object> preferences;
  std::optional<int64_t> if_version;  // If-Match
};

struct UserFilter {
  std::optional<std::string> q, status;
  std::optional<int64_t> after_id;
  int limit = 50;
};

struct Role {
  std::string name, description;
  bool builtin = false;
  PermissionSet permissions;
  int64_t users = 0;
};
json::object RoleToJson(const Role& r);

struct TokenInfo {
  int64_t id = 0, user_id = 0;
  std::string name, prefix, user_email, created_by;
  std::vector<std::string> scopes;
  int64_t created_at = 0;
  std::optional<int64_t> expires_at, last_used_at, revoked_at;
};
json::object TokenToJson(const TokenInfo& t, int64_t now_ms);

struct NewToken {
  int64_t user_id = 0;
  std::string name;
  std::vector<std::string> scopes = {"*"};
  std::optional<int> expires_in_days;
};

struct LoginResult {
  std::string session_token;  // cookie value; only its hash is stored
  std::string csrf_token;
  int64_t expires_at = 0;
  User user;
};

class AuthService : public http::Authenticator {
 public:
  AuthService(store::Database& db, const Clock& clock, AuthOptions options);

  // Creates or refreshes the built-in roles. Idempotent; run at start.
  Status SeedRoles();

  // http::Authenticator: Bearer token or session cookie.
  Result<PrincipalPtr> Authenticate(const http::Request& req) override;

  // Sessions.
  Result<LoginResult> Login(const audit::Actor& actor, const std::string& email,
                            const std::string& password, const std::string& user_agent);
  Status Logout(const audit::Actor& actor, int64_t session_id);
  static std::string CsrfFor(const std::string& session_token);

  // Users.
  Result<User> CreateUser(const audit::Actor& actor, const NewUser& u);
  Result<User> GetUser(int64_t id);
  Result<std::optional<User>> FindUserByEmail(const std::string& email);
  Result<std::pair<std::vector<User>, std::optional<int64_t>>> ListUsers(const UserFilter& f);
  Result<User> UpdateUser(const audit::Actor& actor, int64_t id, const UserPatch& p);
  int64_t UserCount();

  // Roles.
  Result<std::vector<Role>> ListRoles();
  Result<Role> GetRole(const std::string& name);
  Result<Role> CreateRole(const audit::Actor& actor, const Role& r);
  Result<Role> UpdateRole(const audit::Actor& actor, const std::string& name,
                          std::optional<std::string> description, const PermissionSet& p);
  Status DeleteRole(const audit::Actor& actor, const std::string& name);

  // API tokens. The secret is returned once and never stored.
  Result<std::pair<std::string, TokenInfo>> CreateToken(const audit::Actor& actor, const NewToken& t);
  Status RevokeToken(const audit::Actor& actor, int64_t id);
  Result<std::vector<TokenInfo>> ListTokens(bool include_revoked);

  const Clock& clock() const { return clock_; }

 private:
  Result<PrincipalPtr> AuthenticateToken(const std::string& secret);
  Result<PrincipalPtr> AuthenticateSession(const std::string& cookie);
  Status CheckLockout(store::Connection& c, const std::string& email, const std::string& ip);
  Result<User> LoadUser(store::Connection& c, int64_t id, bool for_update = false);
  // Refuses a change that would leave no active admin.
  Status KeepOneAdmin(store::Connection& c, int64_t changing_user_id);
  void InvalidateCache();
  // Credential cache keyed by the credential's hash.
  PrincipalPtr CachedPrincipal(const std::string& hash, int64_t now);
  void CachePrincipal(const std::string& hash, PrincipalPtr p, int64_t now, int64_t last_touch);

  store::Database& db_;
  const Clock& clock_;
  AuthOptions options_;

  struct Cached {
    PrincipalPtr principal;
    int64_t cached_at;
    int64_t last_touch;  // last time last_used/last_seen was written
  };
  std::shared_mutex cache_mu_;
  std::unordered_map<std::string, Cached> cache_;  // key: credential hash
};

}  // namespace kontor::auth
