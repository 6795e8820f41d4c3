// Customer messaging preferences and the suppression list: per-customer,
// per-topic, per-channel opt-outs, and recipients (addresses, numbers) that
// must never be sent to. Every path that queues a message — direct sends,
// event triggers and campaigns — passes its recipients through
// ApplyPreferences at enqueue time, so an opt-out takes effect for anything
// not yet queued.
//
// Signed links let a customer manage preferences without logging in: the
// token carries the customer id and an expiry, authenticated by HMAC-SHA256
// with `messaging.preferences.secret`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/json.h"
#include "core/status.h"
#include "messaging/outbox.h"
#include "store/database.h"

namespace kontor::messaging {

struct Candidate {
  std::optional<int64_t> customer_id;
  std::string channel;
  std::string recipient;
  std::optional<std::string> suppressed_because;
};

// Sets suppressed_because ("opted_out:<topic>", "suppressed") on candidates
// whose customer opted out of `topic` on that channel, or whose recipient is
// on the suppression list. One query per table for the whole batch.
// Candidates already suppressed are left as they are. An empty topic checks
// only the suppression list.
Status ApplyPreferences(store::Connection& c, const std::string& topic,
                        std::vector<Candidate>& candidates);

// A customer's opt-outs: topic → channel → allowed. Channels not listed are
// allowed.
using TopicPreferences = std::map<std::string, std::map<std::string, bool>>;

// {"topics":{"offers":{"email":false,"sms":true,"push":true}}}
json::object PreferencesToJson(const TopicPreferences& p);
Result<TopicPreferences> PreferencesFromJson(const json::object& body);

Result<TopicPreferences> LoadPreferences(store::Connection& c, int64_t customer_id);
// Replaces the customer's preferences for the topics in `p` (topics not in
// `p` are left alone), audited, in the caller's transaction.
Status SavePreferences(store::Connection& c, const audit::Actor& actor, int64_t customer_id,
                       const TopicPreferences& p);

struct Suppression {
  int64_t id = 0;
  std::string channel, recipient, reason, created_by;
  int64_t created_at = 0;
};
json::object SuppressionToJson(const Suppression& s);

// Normalises a recipient for the suppression list (emails lower-cased).
std::string NormalizeRecipient(const std::string& channel, const std::string& recipient);

// Signed preference links.
class PreferenceLinks {
 public:
  static constexpr int64_t kLinkTtlMs = 90LL * 86400 * 1000;

  // `public_url`: the base URL customers reach Kontor at (messaging.public_url).
  PreferenceLinks(std::string secret, std::string public_url = "")
      : secret_(std::move(secret)), public_url_(std::move(public_url)) {}
  std::string Make(int64_t customer_id, int64_t expires_at_ms) const;
  // The customer id; kPermissionDenied when the signature does not match or
  // the token is malformed, kFailedPrecondition ("expired") when it expired.
  Result<int64_t> Verify(const std::string& token, int64_t now_ms) const;
  // The RFC 8058 one-click URL (POST /v1/unsubscribe/{token}); empty without
  // a public URL.
  std::string UnsubscribeUrl(int64_t customer_id, int64_t now_ms) const;

  // Adds List-Unsubscribe (content.list_unsubscribe.url) to a marketing
  // email to a customer that has none: every path that queues marketing
  // email calls it (direct sends, campaigns).
  void AddListUnsubscribe(NewMessage& m, int64_t now_ms) const;

 private:
  std::string secret_;
  std::string public_url_;
};

// The links of this process (set by the app at start; nullptr before).
const PreferenceLinks* ProcessPreferenceLinks();
void SetProcessPreferenceLinks(std::unique_ptr<PreferenceLinks> links);

// `configured` when set, else the secret stored in settings, created (and
// shared by every node) on first use.
Result<std::string> PreferencesSecret(store::Database& db, const std::string& configured);

}  // namespace kontor::messaging
