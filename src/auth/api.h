#pragma once

#include "auth/auth_service.h"
#include "http/router.h"

namespace kontor::auth {

// /v1/auth/*, /v1/me, /v1/users, /v1/roles, /v1/tokens.
void RegisterRoutes(http::Router& router, AuthService& service);

}  // namespace kontor::auth
