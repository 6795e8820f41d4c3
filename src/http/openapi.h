#pragma once

#include "core/json.h"
#include "http/router.h"

namespace kontor::http {

// OpenAPI 3.1 document for every route in `router`. Each operation carries
// its permission as `x-permission` ("public", "authenticated" or
// "component:level") so clients and tests can read the access rules.
json::object BuildOpenApi(const Router& router, const std::string& version);

std::string AccessString(const Access& a);

}  // namespace kontor::http
