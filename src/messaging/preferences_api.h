// Routes for preferences (/v1/customers/{external_id}/preferences), the
// suppression list (/v1/suppressions) and the public signed links
// (/v1/preferences/{token}, /v1/unsubscribe/{token}).
#pragma once

#include "clients/customers.h"
#include "http/router.h"
#include "messaging/preferences.h"
#include "store/database.h"

namespace kontor::messaging {

// `links` is read through ProcessPreferenceLinks() at request time.
void RegisterPreferenceRoutes(http::Router& router, store::Database& db,
                              clients::CustomerService& customers);

}  // namespace kontor::messaging
