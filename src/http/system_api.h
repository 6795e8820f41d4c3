#pragma once

#include <string>

#include "http/metrics.h"
#include "http/router.h"
#include "store/database.h"

namespace kontor::http {

// /healthz, /readyz, /metrics and /v1/openapi.json.
void RegisterSystemRoutes(Router& router, store::Database& db, Metrics& metrics, std::string version);

}  // namespace kontor::http
