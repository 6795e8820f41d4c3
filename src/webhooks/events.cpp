#include "webhooks/events.h"

#include <algorithm>

#include "core/clock.h"

namespace kontor::webhooks {

const std::vector<EventType>& EventTypes() {
  static const std::vector<EventType> kTypes = {
      {"customer.created", "A customer was created"},
      {"customer.updated", "A customer's data, tags or consent changed"},
      {"customer.deleted", "A customer was erased; data names only the external id"},
      {"subscription.changed", "A subscription was created or changed"},
      {"list.membership_changed", "A customer was added to or removed from a static list"},
      {"device.changed", "A device was registered or changed (push tokens are never sent)"},
      {"product.changed", "A product was created or changed"},
      {"list.changed", "A distribution list was created or changed"},
      {"payment.status_changed",
       "A payment was created or changed status (account numbers masked)"},
      {"ping", "A test event sent on request to one endpoint"},
  };
  return kTypes;
}

bool IsEventType(std::string_view type) {
  return std::any_of(EventTypes().begin(), EventTypes().end(),
                     [&](const EventType& t) { return type == t.type; });
}

bool Subscribed(const std::vector<std::string>& events, std::string_view type) {
  if (type == "ping") return true;
  return std::any_of(events.begin(), events.end(),
                     [&](const std::string& e) { return e == "*" || e == type; });
}

namespace {

struct EntityMapping {
  const char* entity;
  const char* key_field;  // the field of `data` that names the record
  const char* type;       // creates and updates; deletes of customers are mapped apart
};

constexpr EntityMapping kMappings[] = {
    {"customer", "external_id", nullptr},
    {"subscription", "external_id", "subscription.changed"},
    {"list_membership", nullptr, "list.membership_changed"},
    {"device", "installation_id", "device.changed"},
    {"product", "code", "product.changed"},
    {"list", "key", "list.changed"},
    {"payment", "id", "payment.status_changed"},
};

}  // namespace

std::optional<Event> EventForChange(const FeedChange& ch) {
  const EntityMapping* m = nullptr;
  for (const auto& x : kMappings) {
    if (ch.entity == x.entity) m = &x;
  }
  if (m == nullptr) return std::nullopt;
  Event e;
  e.id = "evt_" + std::to_string(ch.seq);
  e.created_at = ch.at;
  if (ch.data.is_object()) e.data = ch.data.get_object();
  const bool removed = ch.op == "delete";
  if (ch.entity == "customer") {
    e.type = removed             ? "customer.deleted"
             : ch.op == "create" ? "customer.created"
                                 : "customer.updated";
    // Erasure keeps no data in the feed; the receiver learns which customer.
    if (removed) e.data = {{"status", "erased"}};
  } else {
    e.type = m->type;
  }
  if (m->key_field != nullptr) {
    if (!e.data.contains(m->key_field)) e.data[m->key_field] = ch.key;
  } else {
    // Memberships are keyed "<list>/<customer>"; list keys hold no '/'.
    const size_t slash = ch.key.find('/');
    if (!e.data.contains("list")) e.data["list"] = ch.key.substr(0, slash);
    if (!e.data.contains("customer") && slash != std::string::npos) {
      e.data["customer"] = ch.key.substr(slash + 1);
    }
    e.data["member"] = !removed;
  }
  if (ch.entity == "device") {
    // The feed already masks tokens; masking again keeps that true whatever
    // a writer recorded.
    if (auto* t = e.data.if_contains("token"); t && !t->is_null()) *t = "set";
  }
  return e;
}

std::string EventBody(const Event& e) {
  return json::serialize(json::object{{"id", e.id},
                                      {"type", e.type},
                                      {"created_at", FormatRfc3339(e.created_at)},
                                      {"data", e.data}});
}

}  // namespace kontor::webhooks
