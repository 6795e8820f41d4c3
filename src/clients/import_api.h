#pragma once

#include "clients/customers.h"
#include "clients/import.h"
#include "http/router.h"
#include "store/database.h"

namespace kontor::clients {

// /v1/imports (upload, start, cancel, status, errors.csv) and GET /v1/customers/export.csv.
// REQUIRES: called before RegisterRoutes of clients/api.h, so that /v1/customers/export.csv is
// matched before /v1/customers/{external_id} (the router takes the first match).
void RegisterImportRoutes(http::Router& router, store::Database& db, ImportService& imports);

}  // namespace kontor::clients
