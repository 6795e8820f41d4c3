// Campaign routes: /v1/campaigns (create, list, get, edit, delete) and the
// state changes schedule, pause, resume and cancel.
#pragma once

#include "http/router.h"
#include "messaging/campaigns.h"

namespace kontor::messaging {

void RegisterCampaignRoutes(http::Router& router, CampaignService& campaigns);

}  // namespace kontor::messaging
