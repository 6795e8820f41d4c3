#include "auth/principal.h"

namespace kontor::auth {

json::object PrincipalToJson(const Principal& p) {
  json::object o{{"id", std::to_string(p.user_id)},
                 {"email", p.email},
                 {"name", p.name},
                 {"role", p.role},
                 {"auth", p.kind == Principal::Kind::kSession ? "session" : "token"},
                 {"permissions", p.permissions.ToJson()},
                 {"preferences", p.preferences}};
  if (p.kind == Principal::Kind::kSession) o["csrf_token"] = p.csrf_token;
  if (p.kind == Principal::Kind::kToken) o["token_id"] = std::to_string(p.token_id);
  return o;
}

}  // namespace kontor::auth
