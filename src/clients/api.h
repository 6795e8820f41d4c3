#pragma once

#include "clients/customers.h"
#include "clients/devices.h"
#include "clients/lists.h"
#include "clients/saved_segments.h"
#include "clients/subscriptions.h"
#include "http/router.h"

namespace kontor::clients {

// /v1/customers, /v1/customers/batch, /v1/products, /v1/subscriptions, /v1/changes.
void RegisterRoutes(http::Router& router, store::Database& db, CustomerService& customers,
                    SubscriptionService& subscriptions, DeviceService& devices, ListService& lists,
                    SegmentService& segments);

}  // namespace kontor::clients
