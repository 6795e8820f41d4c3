#pragma once

#include "http/router.h"
#include "store/database.h"

namespace kontor::audit {

// GET /v1/audit. There is deliberately no route that changes the log.
void RegisterRoutes(http::Router& router, store::Database& db);

}  // namespace kontor::audit
