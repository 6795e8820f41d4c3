// Sending one message directly (POST /v1/messages): validates the content
// for its channel, resolves the recipient (an address, a number, a push
// token, a device or a customer), applies consent, and queues the message in
// the outbox with an audit entry, in one transaction.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "messaging/outbox.h"
#include "messaging/templates.h"
#include "store/database.h"

namespace kontor::messaging {

// The provider each channel's messages go to, by configured name.
struct ChannelProviders {
  std::string email = "capture";
  std::string sms = "capture";
  std::string push = "capture";
  std::string push_ios;  // empty: iOS devices use `push` too
  const std::string& For(const std::string& channel) const {
    return channel == "email" ? email : channel == "sms" ? sms : push;
  }
  // For a message to a device of `platform` (android | ios | web; empty when
  // unknown, e.g. a bare push token): iOS devices go to push_ios when set.
  // Direct sends, campaigns and triggers all choose here.
  const std::string& ForDevice(const std::string& channel, const std::string& platform) const {
    if (channel == "push" && platform == "ios" && !push_ios.empty()) return push_ios;
    return For(channel);
  }
};

// Checks `content` for `channel`; errors name fields under `prefix`.
//   email: subject (required), html and/or text, attachments, reply_to
//   sms:   text
//   push:  title and/or body, image, link, data (string values), payload ≤ 4096 bytes
Status ValidateContent(const std::string& channel, const json::object& content,
                       const std::string& prefix);

// A rendered template as message content for its channel.
json::object RenderedToContent(const RenderedMessage& m);
// The `customer` variables of templates: the customer's fields and attributes.
Result<json::object> CustomerVariables(store::Connection& c, int64_t customer_id);
// The same for callers that read many customers in one query: select
// kCustomerVariableColumns (over `customers c`) at `first` and convert the row.
extern const char* const kCustomerVariableColumns;
json::object CustomerVariablesFromRow(const store::Row& row, size_t first);

// Who may receive marketing and where, shared by direct sends and campaigns
// so that both follow one rule.
// The customers among `customer_ids` who granted marketing consent on `channel`.
Result<std::set<int64_t>> MarketingConsents(store::Connection& c, const std::string& channel,
                                            const std::vector<int64_t>& customer_ids);
struct ActiveDevice {
  int64_t id = 0;
  std::string token;
  std::string platform;
};
// Each customer's active devices with a push token, by customer, in id order:
// a push to a customer goes to every one of them.
Result<std::map<int64_t, std::vector<ActiveDevice>>> ActiveDevices(
    store::Connection& c, const std::vector<int64_t>& customer_ids);

class MessageService {
 public:
  MessageService(store::Database& db, const Clock& clock, ChannelProviders providers,
                 std::function<void()> kick)
      : db_(db), clock_(clock), providers_(std::move(providers)), kick_(std::move(kick)) {}

  struct Sent {
    std::vector<Message> messages;  // one, or one per device for a customer's push
    bool replayed = false;          // the idempotency key was seen before
  };
  Result<Sent> Send(const audit::Actor& actor, const json::object& body,
                    std::optional<std::string> idempotency_header);

 private:
  store::Database& db_;
  const Clock& clock_;
  const ChannelProviders providers_;
  std::function<void()> kick_;
};

}  // namespace kontor::messaging
