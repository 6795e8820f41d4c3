// Routes of /v1/webhooks (component admin).
#pragma once

#include "http/router.h"
#include "webhooks/outbox.h"
#include "webhooks/webhooks.h"

namespace kontor::webhooks {

void RegisterRoutes(http::Router& router, WebhookService& svc, Outbox& outbox);

}  // namespace kontor::webhooks
