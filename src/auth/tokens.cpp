// AuthService: API tokens. A token is "kt_" + 32 base64url characters (192
// random bits); only its SHA-256 is stored, with a short prefix for display.
#include "auth/auth_service.h"
#include "core/crypto.h"

namespace kontor::auth {
namespace {

constexpr const char* kTokenSelect =
    "SELECT t.id, t.user_id, t.name, t.prefix, u.email, t.scopes, t.created_at, t.expires_at, "
    "t.last_used_at, t.revoked_at, t.created_by FROM api_tokens t JOIN users u ON u.id = t.user_id";

TokenInfo RowToToken(const store::Row& row) {
  TokenInfo t;
  t.id = row.Int(0);
  t.user_id = row.Int(1);
  t.name = row.Str(2);
  t.prefix = row.Str(3);
  t.user_email = row.Str(4);
  t.scopes = ParseStringArray(row.Str(5));
  t.created_at = row.Int(6);
  t.expires_at = row.OptInt(7);
  t.last_used_at = row.OptInt(8);
  t.revoked_at = row.OptInt(9);
  t.created_by = row.Str(10);
  return t;
}

}  // namespace

json::object TokenToJson(const TokenInfo& t, int64_t now_ms) {
  json::array scopes;
  for (const auto& s : t.scopes) scopes.emplace_back(s);
  std::string status = t.revoked_at                             ? "revoked"
                       : (t.expires_at && *t.expires_at <= now_ms) ? "expired"
                                                                 : "active";
  return {{"id", std::to_string(t.id)},      {"name", t.name},
          {"prefix", t.prefix},              {"scopes", scopes},
          {"user_id", std::to_string(t.user_id)}, {"user_email", t.user_email},
          {"created_at", FormatRfc3339(t.created_at)}, {"created_by", t.created_by},
          {"expires_at", TimeOrNull(t.expires_at)},    {"last_used_at", TimeOrNull(t.last_used_at)},
          {"revoked_at", TimeOrNull(t.revoked_at)},    {"status", status}};
}

Result<std::pair<std::string, TokenInfo>> AuthService::CreateToken(const audit::Actor& actor,
                                                                   const NewToken& nt) {
  RETURN_IF_ERROR(ScopesToPermissions(nt.scopes).status());
  const std::string secret = "kt_" + Base64UrlEncode(RandomBytes(24));
  const std::string prefix = secret.substr(0, 9);
  std::optional<int64_t> expires;
  if (nt.expires_in_days) expires = actor.now_ms + int64_t{*nt.expires_in_days} * 86400000;
  json::array scopes;
  for (const auto& s : nt.scopes) scopes.emplace_back(s);

  Result<TokenInfo> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto user, c.QueryRow("SELECT status FROM users WHERE id = ?", {nt.user_id}));
    if (!user) return Status::Validation({{"user_id", "no such user"}});
    if (user->Str(0) != "active") return Status::Validation({{"user_id", "the user is disabled"}});
    ASSIGN_OR_RETURN(auto ins, c.QueryRow(
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, created_at, created_by, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {nt.user_id, nt.name, prefix, Sha256Hex(secret), json::serialize(scopes), actor.now_ms,
         actor.label, expires}));
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kTokenSelect) + " WHERE t.id = ?", {ins->Int(0)}));
    TokenInfo t = RowToToken(*row);
    RETURN_IF_ERROR(audit::Record(c, actor, {"token.create", "token", std::to_string(t.id), std::nullopt,
                                             json::value(TokenToJson(t, actor.now_ms))}));
    out = std::move(t);
    return Status::Ok();
  }));
  if (!out.ok()) return out.status();
  return std::make_pair(secret, std::move(out).value());
}

Status AuthService::RevokeToken(const audit::Actor& actor, int64_t id) {
  Status st = db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kTokenSelect) + " WHERE t.id = ?", {id}));
    if (!row) return Status::NotFound("no token " + std::to_string(id));
    TokenInfo before = RowToToken(*row);
    if (before.revoked_at) return Status::Ok();  // revoking twice is a no-op
    RETURN_IF_ERROR(c.Execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", {actor.now_ms, id}).status());
    TokenInfo after = before;
    after.revoked_at = actor.now_ms;
    return audit::Record(c, actor, {"token.revoke", "token", std::to_string(id),
                                    json::value(TokenToJson(before, actor.now_ms)),
                                    json::value(TokenToJson(after, actor.now_ms))});
  });
  InvalidateCache();
  return st;
}

Result<std::vector<TokenInfo>> AuthService::ListTokens(bool include_revoked) {
  std::string sql = kTokenSelect;
  if (!include_revoked) sql += " WHERE t.revoked_at IS NULL";
  sql += " ORDER BY t.id DESC";
  ASSIGN_OR_RETURN(store::QueryResult r, db_.Execute(sql));
  std::vector<TokenInfo> out;
  for (const auto& row : r.rows) out.push_back(RowToToken(row));
  return out;
}

}  // namespace kontor::auth
