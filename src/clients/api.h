#pragma once

#include "clients/customers.h"
#include "clients/devices.h"
#include "clients/lists.h"
#include "clients/saved_segments.h"
#include "clients/subscriptions.h"
#include "http/router.h"

namespace kontor::clients {

// The customer filter of GET /v1/customers and its CSV export, from the
// query (q, tag, status, list, segment, updated_since; not paging). Lists of
// every kind and saved segments go through the segment compiler, so dynamic
// membership is evaluated now. Bad values are 400s naming the parameter.
Result<CustomerService::Filter> CustomerFilterFromQuery(store::Database& db,
                                                        const http::Request& req);

// /v1/customers, /v1/customers/batch, /v1/products, /v1/subscriptions, /v1/changes.
void RegisterRoutes(http::Router& router, store::Database& db, CustomerService& customers,
                    SubscriptionService& subscriptions, DeviceService& devices, ListService& lists,
                    SegmentService& segments);

}  // namespace kontor::clients
