// Messaging routes: /v1/messages (send one, the delivery log, one message
// with its timeline) and /v1/templates (saved templates, preview).
#pragma once

#include "http/router.h"
#include "messaging/messages.h"
#include "messaging/outbox.h"
#include "messaging/template_store.h"
#include "store/database.h"

namespace kontor::messaging {

void RegisterRoutes(http::Router& router, store::Database& db, MessageService& messages,
                    Outbox& outbox, TemplateStore& templates);

}  // namespace kontor::messaging
