// AuthService: authentication of requests, login with throttling, logout.
#include <algorithm>

#include "auth/auth_service.h"
#include "auth/password.h"
#include "core/crypto.h"

namespace kontor::auth {
namespace {

constexpr int64_t kTouchIntervalMs = 60000;  // how often last_used/last_seen is written

std::string CookieValue(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view part = header.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace

AuthService::AuthService(store::Database& db, const Clock& clock, AuthOptions options)
    : db_(db), clock_(clock), options_(options) {}

std::string AuthService::CsrfFor(const std::string& session_token) {
  // Derived, not stored: only a holder of the HttpOnly cookie can know it,
  // which a cross-site page cannot.
  return Base64UrlEncode(Sha256("kontor-csrf:" + session_token)).substr(0, 32);
}

PrincipalPtr AuthService::CachedPrincipal(const std::string& hash, int64_t now) {
  const int64_t ttl = int64_t{options_.token_cache_seconds} * 1000;
  std::shared_lock lock(cache_mu_);
  auto it = cache_.find(hash);
  // Also refetch when last use is due to be written, so the write happens.
  if (it != cache_.end() && now - it->second.cached_at < ttl &&
      now - it->second.last_touch < kTouchIntervalMs) {
    return it->second.principal;
  }
  return nullptr;
}

void AuthService::CachePrincipal(const std::string& hash, PrincipalPtr p, int64_t now,
                                 int64_t last_touch) {
  std::unique_lock lock(cache_mu_);
  if (cache_.size() > 50000) cache_.clear();  // bound memory; entries are cheap to rebuild
  cache_[hash] = {std::move(p), now, last_touch};
}

void AuthService::InvalidateCache() {
  std::unique_lock lock(cache_mu_);
  cache_.clear();
}

Result<PrincipalPtr> AuthService::Authenticate(const http::Request& req) {
  std::string_view authz = req.Header("authorization");
  if (!authz.empty()) {
    if (authz.size() < 7 || !std::equal(authz.begin(), authz.begin() + 7, "bearer ",
                                        [](char a, char b) { return std::tolower(a) == b; })) {
      return Status::Unauthenticated("use Authorization: Bearer <token>");
    }
    return AuthenticateToken(std::string(authz.substr(7)));
  }
  std::string cookie = CookieValue(req.Header("cookie"), "kontor_session");
  if (!cookie.empty()) return AuthenticateSession(cookie);
  return Status::Unauthenticated("no credentials: send a Bearer token or log in");
}

Result<PrincipalPtr> AuthService::AuthenticateToken(const std::string& secret) {
  if (secret.size() < 10 || secret.size() > 200 || !secret.starts_with("kt_")) {
    return Status::Unauthenticated("malformed API token");
  }
  const std::string hash = Sha256Hex(secret);
  const int64_t now = clock_.NowMs();
  if (auto cached = CachedPrincipal(hash, now)) return cached;
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(
      "SELECT t.id, t.name, t.scopes, t.expires_at, t.revoked_at, u.id, u.email, u.name, u.role, "
      "u.status, u.overrides, r.permissions, t.last_used_at, u.preferences FROM api_tokens t "
      "JOIN users u ON u.id = t.user_id JOIN roles r ON r.name = u.role WHERE t.token_hash = ?",
      {hash}));
  if (!row) return Status::Unauthenticated("unknown API token");
  if (!row->IsNull(4)) return Status::Unauthenticated("the API token was revoked");
  if (!row->IsNull(3) && row->Int(3) <= now) return Status::Unauthenticated("the API token expired");
  if (row->Str(9) != "active") return Status::Unauthenticated("the token's user is disabled");

  Principal p;
  p.kind = Principal::Kind::kToken;
  p.token_id = row->Int(0);
  p.token_name = row->Str(1);
  p.user_id = row->Int(5);
  p.email = row->Str(6);
  p.name = row->Str(7);
  p.role = row->Str(8);
  ASSIGN_OR_RETURN(PermissionSet base, StoredPermissions(row->Str(11)));
  ASSIGN_OR_RETURN(Overrides ov, StoredOverrides(row->Str(10)));
  ASSIGN_OR_RETURN(PermissionSet scope_perms, ScopesToPermissions(ParseStringArray(row->Str(2))));
  p.permissions = ApplyOverrides(base, ov).Intersect(scope_perms);
  ASSIGN_OR_RETURN(p.preferences, ParseJsonObject(row->Str(13)));

  int64_t last_touch = row->OptInt(12).value_or(0);
  if (now - last_touch >= kTouchIntervalMs) {
    // Best effort: a failed last-used update must not fail the request.
    (void)db_.Execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", {now, p.token_id});
    last_touch = now;
  }
  p.me_json = json::serialize(PrincipalToJson(p));
  auto shared = std::make_shared<const Principal>(std::move(p));
  CachePrincipal(hash, shared, now, last_touch);
  return PrincipalPtr(shared);
}

Result<PrincipalPtr> AuthService::AuthenticateSession(const std::string& cookie) {
  if (cookie.size() > 200) return Status::Unauthenticated("malformed session cookie");
  const std::string hash = Sha256Hex(cookie);
  const int64_t now = clock_.NowMs();
  if (auto cached = CachedPrincipal(hash, now)) return cached;
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(
      "SELECT s.id, s.expires_at, s.last_seen_at, u.id, u.email, u.name, u.role, u.status, "
      "u.overrides, r.permissions, u.preferences FROM sessions s JOIN users u ON u.id = s.user_id "
      "JOIN roles r ON r.name = u.role WHERE s.token_hash = ?",
      {hash}));
  if (!row) return Status::Unauthenticated("the session ended; log in again");
  if (row->Int(1) <= now) return Status::Unauthenticated("the session expired; log in again");
  if (row->Str(7) != "active") return Status::Unauthenticated("the user is disabled");
  Principal p;
  p.kind = Principal::Kind::kSession;
  p.session_id = row->Int(0);
  p.user_id = row->Int(3);
  p.email = row->Str(4);
  p.name = row->Str(5);
  p.role = row->Str(6);
  p.csrf_token = CsrfFor(cookie);
  ASSIGN_OR_RETURN(PermissionSet base, StoredPermissions(row->Str(9)));
  ASSIGN_OR_RETURN(Overrides ov, StoredOverrides(row->Str(8)));
  p.permissions = ApplyOverrides(base, ov);
  ASSIGN_OR_RETURN(p.preferences, ParseJsonObject(row->Str(10)));

  int64_t last_touch = row->Int(2);
  if (now - last_touch >= kTouchIntervalMs) {
    // Sliding expiry, written at most once a minute per session.
    (void)db_.Execute("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?",
                      {now, now + int64_t{options_.session_ttl_minutes} * 60000, p.session_id});
    last_touch = now;
  }
  p.me_json = json::serialize(PrincipalToJson(p));
  auto shared = std::make_shared<const Principal>(std::move(p));
  CachePrincipal(hash, shared, now, last_touch);
  return PrincipalPtr(shared);
}

Status AuthService::CheckLockout(store::Connection& c, const std::string& email, const std::string& ip) {
  const int64_t now = clock_.NowMs();
  const int64_t window_start = now - int64_t{options_.login_window_minutes} * 60000;
  const int64_t lockout = int64_t{options_.lockout_minutes} * 60000;
  struct Check {
    const char* sql;
    std::string key;
    int limit;
  };
  // Per account, and per client address with more slack (offices share one).
  const Check checks[] = {
      {"SELECT COUNT(*), MAX(at) FROM login_failures WHERE email = ? AND at > ?", email,
       options_.login_max_failures},
      {"SELECT COUNT(*), MAX(at) FROM login_failures WHERE client_ip = ? AND at > ?", ip,
       options_.login_max_failures * 4},
  };
  for (const auto& ch : checks) {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(ch.sql, {ch.key, window_start}));
    if (row && row->Int(0) >= ch.limit && now < row->Int(1) + lockout) {
      int retry = static_cast<int>((row->Int(1) + lockout - now + 999) / 1000);
      return Status::ResourceExhausted("too many failed logins; try again in " +
                                           std::to_string(retry) + " s",
                                       retry);
    }
  }
  return Status::Ok();
}

Result<LoginResult> AuthService::Login(const audit::Actor& actor, const std::string& raw_email,
                                       const std::string& password, const std::string& user_agent) {
  std::string email = raw_email;
  std::transform(email.begin(), email.end(), email.begin(), [](unsigned char ch) { return std::tolower(ch); });
  const int64_t now = clock_.NowMs();
  Status locked = db_.WithConnection([&](store::Connection& c) { return CheckLockout(c, email, actor.client_ip); });
  RETURN_IF_ERROR(locked);

  auto hash_row = db_.QueryRow("SELECT id, password_hash, status FROM users WHERE email = ?", {email});
  RETURN_IF_ERROR(hash_row.status());
  bool ok = false;
  if (*hash_row) {
    ok = VerifyPassword((*hash_row)->Str(1), password) && (*hash_row)->Str(2) == "active";
  } else {
    BurnVerifyTime(password);
  }
  audit::Actor who = actor;
  who.type = "user";
  who.label = email;
  if (!ok) {
    RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
      RETURN_IF_ERROR(c.Execute("INSERT INTO login_failures (email, client_ip, at) VALUES (?, ?, ?)",
                                {email, actor.client_ip, now}).status());
      return audit::Record(c, who, {"session.login_failed", "user", *hash_row ? std::to_string((*hash_row)->Int(0)) : "",
                                    std::nullopt, std::nullopt});
    }));
    // Whether the email exists, the password was wrong or the user is
    // disabled: one answer, so accounts cannot be enumerated.
    return Status::Unauthenticated("wrong email or password");
  }
  const int64_t user_id = (*hash_row)->Int(0);
  LoginResult out;
  out.session_token = Base64UrlEncode(RandomBytes(32));
  out.csrf_token = CsrfFor(out.session_token);
  out.expires_at = now + int64_t{options_.session_ttl_minutes} * 60000;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto ins, c.QueryRow(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, client_ip, "
        "user_agent) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {Sha256Hex(out.session_token), user_id, now, out.expires_at, now, actor.client_ip,
         user_agent.substr(0, 300)}));
    RETURN_IF_ERROR(c.Execute("UPDATE users SET last_login_at = ? WHERE id = ?", {now, user_id}).status());
    RETURN_IF_ERROR(c.Execute("DELETE FROM login_failures WHERE email = ?", {email}).status());
    // Expired sessions of anyone are swept here rather than by a job: logins are rare.
    RETURN_IF_ERROR(c.Execute("DELETE FROM sessions WHERE expires_at < ?", {now}).status());
    who.id = std::to_string(user_id);
    RETURN_IF_ERROR(audit::Record(c, who, {"session.login", "session", std::to_string(ins->Int(0)),
                                           std::nullopt, std::nullopt}));
    ASSIGN_OR_RETURN(out.user, LoadUser(c, user_id));
    return Status::Ok();
  }));
  return out;
}

Status AuthService::Logout(const audit::Actor& actor, int64_t session_id) {
  Status st = db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(c.Execute("DELETE FROM sessions WHERE id = ?", {session_id}).status());
    return audit::Record(c, actor, {"session.logout", "session", std::to_string(session_id),
                                    std::nullopt, std::nullopt});
  });
  InvalidateCache();
  return st;
}

}  // namespace kontor::auth
