#include "auth/api.h"

#include "core/validation.h"
#include "http/params.h"

namespace kontor::auth {
namespace {

using http::Access;
using http::Request;
using http::Response;
using http::Route;

json::value Schema(const char* text) { return json::parse(text); }

const char* kUserSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"email":{"type":"string"},"name":{"type":"string"},
  "status":{"enum":["active","disabled"]},"role":{"type":"string"},
  "overrides":{"type":"object"},"permissions":{"type":"object"},"preferences":{"type":"object"},
  "created_at":{"type":"string","format":"date-time"},"updated_at":{"type":"string","format":"date-time"},
  "last_login_at":{"type":["string","null"],"format":"date-time"},"version":{"type":"integer"}}})";
const char* kRoleSchema = R"({"type":"object","properties":{"name":{"type":"string"},
  "description":{"type":"string"},"builtin":{"type":"boolean"},"permissions":{"type":"object"},
  "users":{"type":"integer"}}})";
const char* kTokenSchema = R"({"type":"object","properties":{"id":{"type":"string"},
  "name":{"type":"string"},"prefix":{"type":"string"},"scopes":{"type":"array","items":{"type":"string"}},
  "user_id":{"type":"string"},"user_email":{"type":"string"},"created_at":{"type":"string"},
  "expires_at":{"type":["string","null"]},"last_used_at":{"type":["string","null"]},
  "revoked_at":{"type":["string","null"]},"status":{"enum":["active","expired","revoked"]}}})";
const char* kPermissionsSchema = R"({"type":"object","additionalProperties":false,
  "properties":{"customers":{"enum":["none","read","write"]},"messaging":{"enum":["none","read","write"]},
  "editions":{"enum":["none","read","write"]},"documents":{"enum":["none","read","write"]},
  "portal":{"enum":["none","read","write"]},"payments":{"enum":["none","read","write"]},
  "analytics":{"enum":["none","read","write"]},"admin":{"enum":["none","read","write"]}}})";

json::object List(json::array items) { return {{"items", std::move(items)}}; }

Response UserResponse(int status, const User& u) {
  Response r = http::JsonResponse(status, UserToJson(u));
  r.SetHeader("ETag", "\"" + std::to_string(u.version) + "\"");
  return r;
}

Result<Response> Login(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  JsonReader r(body);
  auto email = r.String("email", true, 254, 1);
  auto password = r.String("password", true, 256, 1);
  RETURN_IF_ERROR(r.Finish());
  ASSIGN_OR_RETURN(LoginResult lr, s.Login(req.Actor(), *email, *password, std::string(req.Header("user-agent"))));
  Response resp = http::JsonResponse(200, json::object{{"user", UserToJson(lr.user)}, {"csrf_token", lr.csrf_token}});
  int64_t max_age = (lr.expires_at - req.now_ms) / 1000;
  std::string cookie = "kontor_session=" + lr.session_token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                       std::to_string(max_age);
  if (req.Header("x-forwarded-proto") == "https") cookie += "; Secure";
  resp.SetHeader("Set-Cookie", cookie);
  return resp;
}

Result<Response> Logout(AuthService& s, Request& req) {
  if (req.principal->kind != Principal::Kind::kSession) {
    return Status::Validation(
        {{"authorization", "API tokens are revoked, not logged out: DELETE /v1/tokens/{id}"}});
  }
  RETURN_IF_ERROR(s.Logout(req.Actor(), req.principal->session_id));
  Response resp = http::NoContent();
  resp.SetHeader("Set-Cookie", "kontor_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return resp;
}

// Served from the principal, which is cached for auth.token_cache_seconds and
// dropped on every local change of users.
Result<Response> GetMe(AuthService& s, Request& req) {
  Response r;
  r.body = req.principal->me_json;
  return r;
}

Result<Response> PatchMe(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  JsonReader r(body);
  UserPatch p;
  p.name = r.String("name", false, 200, 1);
  if (const json::object* prefs = r.Object("preferences", false)) {
    if (json::serialize(*prefs).size() > 8192) r.AddError("preferences", "must be at most 8 KiB of JSON");
    p.preferences = *prefs;
  }
  RETURN_IF_ERROR(r.Finish());
  ASSIGN_OR_RETURN(User u, s.UpdateUser(req.Actor(), req.principal->user_id, p));
  Principal updated = *req.principal;
  updated.name = u.name;
  updated.preferences = u.preferences;
  return http::JsonResponse(200, PrincipalToJson(updated));
}

Result<Response> ListUsers(AuthService& s, Request& req) {
  RETURN_IF_ERROR(http::OnlyQueryParams(req, {"q", "status", "cursor", "limit"}));
  UserFilter f;
  f.q = req.Query("q");
  f.status = req.Query("status");
  if (f.status && *f.status != "active" && *f.status != "disabled") {
    return Status::BadParameter("status", "must be active or disabled");
  }
  ASSIGN_OR_RETURN(f.after_id, http::CursorParam(req));
  ASSIGN_OR_RETURN(f.limit, http::LimitParam(req));
  ASSIGN_OR_RETURN(auto page, s.ListUsers(f));
  json::array items;
  for (const auto& u : page.first) items.push_back(UserToJson(u));
  return http::PageResponse(std::move(items), page.second);
}

Result<Response> CreateUser(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  JsonReader r(body);
  NewUser nu;
  auto email = r.String("email", true, 254, 1);
  if (email && !LooksLikeEmail(*email)) r.AddError("email", "must be an email address");
  auto name = r.String("name", true, 200, 1);
  auto password = r.String("password", true, 256, 1);
  auto role = r.String("role", true, 64, 1);
  RETURN_IF_ERROR(r.Finish());
  nu.email = *email;
  nu.name = *name;
  nu.password = *password;
  nu.role = *role;
  ASSIGN_OR_RETURN(User u, s.CreateUser(req.Actor(), nu));
  return UserResponse(201, u);
}

Result<Response> GetUser(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "user"));
  ASSIGN_OR_RETURN(User u, s.GetUser(id));
  return UserResponse(200, u);
}

Result<Response> PatchUser(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "user"));
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  JsonReader r(body);
  UserPatch p;
  p.name = r.String("name", false, 200, 1);
  p.role = r.String("role", false, 64, 1);
  p.status = r.Enum("status", false, {"active", "disabled"});
  p.password = r.String("password", false, 256, 1);
  if (const json::object* ov = r.Object("overrides", false)) {
    for (const auto& kv : *ov) {
      std::string field = "overrides." + std::string(kv.key());
      auto c = ParseComponent(kv.key());
      if (!c) {
        r.AddError(field, "unknown component");
        continue;
      }
      if (kv.value().is_null()) {
        p.overrides.emplace_back(*c, std::nullopt);
        continue;
      }
      auto l = kv.value().is_string() ? ParseLevel(kv.value().get_string()) : std::nullopt;
      if (!l) {
        r.AddError(field, "must be none, read, write or null");
        continue;
      }
      p.overrides.emplace_back(*c, *l);
    }
  }
  RETURN_IF_ERROR(r.Finish());
  ASSIGN_OR_RETURN(p.if_version, http::IfMatchVersion(req));
  if (id == req.principal->user_id && p.status && *p.status == "disabled") {
    return Status::Validation({{"status", "you cannot disable yourself"}});
  }
  ASSIGN_OR_RETURN(User u, s.UpdateUser(req.Actor(), id, p));
  return UserResponse(200, u);
}

bool ValidRoleName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

Result<Response> ListRoles(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(auto roles, s.ListRoles());
  json::array items;
  for (const auto& r : roles) items.push_back(RoleToJson(r));
  return http::JsonResponse(200, List(std::move(items)));
}

Result<Response> GetRole(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(Role r, s.GetRole(req.PathParam("name")));
  return http::JsonResponse(200, RoleToJson(r));
}

Result<PermissionSet> ReadPermissions(JsonReader& r, bool required) {
  const json::object* perms = r.Object("permissions", required);
  if (!perms) return PermissionSet();
  auto p = PermissionSet::FromJson(*perms, "permissions");
  if (!p.ok()) {
    for (const auto& f : p.status().fields()) r.AddError(f.field, f.message);
    return PermissionSet();
  }
  return p;
}

Result<Response> CreateRole(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  JsonReader r(body);
  Role role;
  auto name = r.String("name", true, 64, 1);
  if (name && !ValidRoleName(*name)) r.AddError("name", "use lower-case letters, digits, - and _");
  role.description = r.String("description", false, 500).value_or("");
  ASSIGN_OR_RETURN(role.permissions, ReadPermissions(r, true));
  RETURN_IF_ERROR(r.Finish());
  role.name = *name;
  ASSIGN_OR_RETURN(Role out, s.CreateRole(req.Actor(), role));
  return http::JsonResponse(201, RoleToJson(out));
}

Result<Response> UpdateRole(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  JsonReader r(body);
  auto description = r.String("description", false, 500);
  ASSIGN_OR_RETURN(PermissionSet perms, ReadPermissions(r, true));
  RETURN_IF_ERROR(r.Finish());
  ASSIGN_OR_RETURN(Role out, s.UpdateRole(req.Actor(), req.PathParam("name"), description, perms));
  return http::JsonResponse(200, RoleToJson(out));
}

Result<Response> DeleteRole(AuthService& s, Request& req) {
  RETURN_IF_ERROR(s.DeleteRole(req.Actor(), req.PathParam("name")));
  return http::NoContent();
}

Result<Response> ListTokens(AuthService& s, Request& req) {
  RETURN_IF_ERROR(http::OnlyQueryParams(req, {"include_revoked"}));
  ASSIGN_OR_RETURN(bool all, http::BoolParam(req, "include_revoked", true));
  ASSIGN_OR_RETURN(auto tokens, s.ListTokens(all));
  json::array items;
  for (const auto& t : tokens) items.push_back(TokenToJson(t, req.now_ms));
  return http::JsonResponse(200, List(std::move(items)));
}

Result<Response> CreateToken(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(json::object body, http::JsonBody(req));
  JsonReader r(body);
  NewToken nt;
  auto name = r.String("name", true, 100, 1);
  if (const json::array* scopes = r.Array("scopes", false, 50)) {
    nt.scopes.clear();
    for (size_t i = 0; i < scopes->size(); ++i) {
      if (!(*scopes)[i].is_string()) {
        r.AddError("scopes[" + std::to_string(i) + "]", "must be a string");
        continue;
      }
      nt.scopes.emplace_back((*scopes)[i].get_string());
    }
    if (scopes->empty()) r.AddError("scopes", "must name at least one scope");
    auto perms = ScopesToPermissions(nt.scopes);
    if (!perms.ok()) {
      for (const auto& f : perms.status().fields()) r.AddError(f.field, f.message);
    }
  }
  if (auto days = r.Int("expires_in_days", false, 1, 3650)) nt.expires_in_days = static_cast<int>(*days);
  auto user_id = r.String("user_id", false, 20, 1);
  RETURN_IF_ERROR(r.Finish());
  nt.name = *name;
  nt.user_id = req.principal->user_id;
  if (user_id) {
    char* end = nullptr;
    long long v = std::strtoll(user_id->c_str(), &end, 10);
    if (*end != '\0' || v <= 0) return Status::Validation({{"user_id", "no such user"}});
    nt.user_id = v;
  }
  ASSIGN_OR_RETURN(auto created, s.CreateToken(req.Actor(), nt));
  json::object o = TokenToJson(created.second, req.now_ms);
  o["token"] = created.first;
  return http::JsonResponse(201, o);
}

Result<Response> RevokeToken(AuthService& s, Request& req) {
  ASSIGN_OR_RETURN(int64_t id, http::PathId(req, "id", "token"));
  RETURN_IF_ERROR(s.RevokeToken(req.Actor(), id));
  return http::NoContent();
}

}  // namespace

void RegisterRoutes(http::Router& router, AuthService& s) {
  using auth::Component;
  auto bind = [&s](Result<Response> (*fn)(AuthService&, Request&)) {
    return [&s, fn](Request& req) { return fn(s, req); };
  };
  const Component kAdmin = Component::kAdmin;

  router.Add(http::Blocking({"POST", "/v1/auth/login", Access::Public(), bind(Login), "session",
              "Log in with email and password; sets the session cookie",
              Schema(R"({"type":"object","required":["email","password"],"additionalProperties":false,
                "properties":{"email":{"type":"string","maxLength":254},"password":{"type":"string","maxLength":256}}})"),
              Schema(R"({"type":"object","properties":{"user":{"type":"object"},"csrf_token":{"type":"string"}}})")}));
  router.Add({"POST", "/v1/auth/logout", Access::Authenticated(), bind(Logout), "session",
              "End the current web session", nullptr, nullptr, 204});
  router.Add({"GET", "/v1/me", Access::Authenticated(), bind(GetMe), "session",
              "The caller: identity, effective permissions, CSRF token for sessions", nullptr,
              Schema(R"({"type":"object"})")});
  router.Add({"PATCH", "/v1/me", Access::Authenticated(), bind(PatchMe), "session",
              "Change the caller's display name or preferences",
              Schema(R"({"type":"object","additionalProperties":false,"properties":{
                "name":{"type":"string","maxLength":200},"preferences":{"type":"object"}}})"),
              Schema(R"({"type":"object"})")});

  router.Add({"GET", "/v1/users", Access::Read(kAdmin), bind(ListUsers), "users", "List staff users",
              nullptr, http::PageSchema(),
              200, {{"q", "search in email and name"}, {"status", "active or disabled"},
                    {"cursor", "next_cursor of the previous page"}, {"limit", "1-500", "integer"}}});
  router.Add(http::Blocking({"POST", "/v1/users", Access::Write(kAdmin), bind(CreateUser), "users", "Create a staff user",
              Schema(R"({"type":"object","required":["email","name","password","role"],"additionalProperties":false,
                "properties":{"email":{"type":"string"},"name":{"type":"string"},"password":{"type":"string","minLength":10},
                "role":{"type":"string"}}})"),
              Schema(kUserSchema), 201}));
  router.Add({"GET", "/v1/users/{id}", Access::Read(kAdmin), bind(GetUser), "users", "Get a staff user",
              nullptr, Schema(kUserSchema)});
  router.Add(http::Blocking({"PATCH", "/v1/users/{id}", Access::Write(kAdmin), bind(PatchUser), "users",
              "Change name, role, status, password or per-component overrides (If-Match honoured)",
              Schema(R"({"type":"object","additionalProperties":false,"properties":{"name":{"type":"string"},
                "role":{"type":"string"},"status":{"enum":["active","disabled"]},"password":{"type":"string"},
                "overrides":{"type":"object","additionalProperties":{"enum":["none","read","write",null]}}}})"),
              Schema(kUserSchema)}));

  router.Add({"GET", "/v1/roles", Access::Read(kAdmin), bind(ListRoles), "roles", "List roles", nullptr,
              Schema(R"({"type":"object","properties":{"items":{"type":"array"}}})")});
  router.Add({"POST", "/v1/roles", Access::Write(kAdmin), bind(CreateRole), "roles", "Create a custom role",
              json::value(json::object{{"type", "object"}, {"required", json::array{"name", "permissions"}},
                                       {"additionalProperties", false},
                                       {"properties", {{"name", {{"type", "string"}}},
                                                       {"description", {{"type", "string"}}},
                                                       {"permissions", Schema(kPermissionsSchema)}}}}),
              Schema(kRoleSchema), 201});
  router.Add({"GET", "/v1/roles/{name}", Access::Read(kAdmin), bind(GetRole), "roles", "Get a role", nullptr,
              Schema(kRoleSchema)});
  router.Add({"PUT", "/v1/roles/{name}", Access::Write(kAdmin), bind(UpdateRole), "roles",
              "Replace a custom role's permissions",
              json::value(json::object{{"type", "object"}, {"required", json::array{"permissions"}},
                                       {"additionalProperties", false},
                                       {"properties", {{"description", {{"type", "string"}}},
                                                       {"permissions", Schema(kPermissionsSchema)}}}}),
              Schema(kRoleSchema)});
  router.Add({"DELETE", "/v1/roles/{name}", Access::Write(kAdmin), bind(DeleteRole), "roles",
              "Delete an unused custom role", nullptr, nullptr, 204});

  router.Add({"GET", "/v1/tokens", Access::Read(kAdmin), bind(ListTokens), "tokens", "List API tokens",
              nullptr, Schema(R"({"type":"object","properties":{"items":{"type":"array"}}})"), 200,
              {{"include_revoked", "also list revoked tokens (default true)", "boolean"}}});
  router.Add({"POST", "/v1/tokens", Access::Write(kAdmin), bind(CreateToken), "tokens",
              "Create an API token; the secret is in the response only",
              Schema(R"({"type":"object","required":["name"],"additionalProperties":false,"properties":{
                "name":{"type":"string"},"scopes":{"type":"array","items":{"type":"string"}},
                "expires_in_days":{"type":"integer","minimum":1,"maximum":3650},"user_id":{"type":"string"}}})"),
              Schema(kTokenSchema), 201});
  router.Add({"DELETE", "/v1/tokens/{id}", Access::Write(kAdmin), bind(RevokeToken), "tokens",
              "Revoke an API token", nullptr, nullptr, 204});
}

}  // namespace kontor::auth
