// Who is calling: a staff user through a web session, or an API token.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth/permissions.h"
#include "core/json.h"

namespace kontor::auth {

struct Principal;
// Principals are shared between the credential cache and requests, read-only.
using PrincipalPtr = std::shared_ptr<const Principal>;

struct Principal {
  enum class Kind { kSession, kToken };
  Kind kind = Kind::kToken;
  int64_t user_id = 0;
  std::string email;
  std::string name;
  std::string role;
  PermissionSet permissions;  // effective: role, overrides, and token scopes applied
  json::object preferences;   // the user's, as of authentication
  // Session only.
  int64_t session_id = 0;
  std::string csrf_token;
  // Token only.
  int64_t token_id = 0;
  std::string token_name;

  // PrincipalToJson(*this), rendered once when the principal is built:
  // GET /v1/me is the most frequent call of every client.
  std::string me_json;

  std::string Label() const {
    return kind == Kind::kToken ? "token " + token_name + " (" + email + ")" : email;
  }
};

// The `Me` shape of the API (GET /v1/me).
json::object PrincipalToJson(const Principal& p);

}  // namespace kontor::auth
