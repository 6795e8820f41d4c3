// Webhook event types and how a change-feed row becomes an event.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace kontor::webhooks {

struct EventType {
  const char* type;
  const char* description;
};

// Every type an endpoint can subscribe to (besides "*").
const std::vector<EventType>& EventTypes();
bool IsEventType(std::string_view type);

// True when an endpoint subscribed to `events` wants `type`. Pings are sent
// only on request and match every endpoint.
bool Subscribed(const std::vector<std::string>& events, std::string_view type);

// One row of the change feed, as stored.
struct FeedChange {
  int64_t seq = 0;
  std::string entity;
  std::string key;
  std::string op;
  int64_t at = 0;
  json::value data;  // null when the feed keeps none (deletes, erased customers)
};

struct Event {
  std::string id;  // "evt_<seq>": the same for every endpoint and attempt
  std::string type;
  int64_t created_at = 0;
  json::object data;
};

// The event a change announces; nullopt for entities that have none.
// `data` is the record after the change; it always names the record's key,
// and push tokens never appear (only whether one is set).
std::optional<Event> EventForChange(const FeedChange& change);

// The request body every endpoint receives: {"id","type","created_at","data"}.
std::string EventBody(const Event& e);

}  // namespace kontor::webhooks
