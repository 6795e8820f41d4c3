// Routes for events (/v1/events) and triggers (/v1/triggers).
#pragma once

#include "http/router.h"
#include "messaging/events.h"
#include "messaging/outbox.h"
#include "messaging/triggers.h"
#include "store/database.h"

namespace kontor::messaging {

void RegisterEventRoutes(http::Router& router, store::Database& db, EventWriter& writer,
                         TriggerStore& triggers, Outbox& outbox);

}  // namespace kontor::messaging
