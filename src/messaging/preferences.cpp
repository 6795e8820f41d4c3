#include "messaging/preferences.h"

#include <atomic>
#include <mutex>
#include <set>

#include "core/clock.h"
#include "core/crypto.h"

namespace kontor::messaging {
namespace {

constexpr const char* kChannels[] = {"email", "sms", "push"};

bool IsChannel(std::string_view s) {
  for (const char* c : kChannels)
    if (s == c) return true;
  return false;
}

bool ValidTopic(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  for (char ch : t) {
    const bool ok =
        (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::optional<std::string> Base64UrlDecode(std::string_view s) {
  std::string std_alpha(s);
  for (char& ch : std_alpha) {
    if (ch == '-')
      ch = '+';
    else if (ch == '_')
      ch = '/';
    else if (ch == '+' || ch == '/' || ch == '=')
      return std::nullopt;  // only the URL alphabet, unpadded
  }
  return Base64Decode(std_alpha);
}

}  // namespace

std::string NormalizeRecipient(const std::string& channel, const std::string& recipient) {
  if (channel != "email") return recipient;
  std::string out = recipient;
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

Status ApplyPreferences(store::Connection& c, const std::string& topic,
                        std::vector<Candidate>& candidates) {
  if (candidates.empty()) return Status::Ok();
  if (!topic.empty()) {
    store::Params ids;
    std::set<int64_t> seen;
    for (const Candidate& k : candidates) {
      if (k.customer_id && !k.suppressed_because && seen.insert(*k.customer_id).second)
        ids.emplace_back(*k.customer_id);
    }
    if (!ids.empty()) {
      std::set<std::pair<int64_t, std::string>> out;  // (customer, channel) opted out
      // The topic goes in as a literal: SelectIn takes no other placeholder.
      // It is a validated [a-z0-9_.-] name, still quoted defensively.
      std::string quoted;
      for (char ch : topic) {
        if (ch == '\'') quoted += '\'';
        quoted += ch;
      }
      RETURN_IF_ERROR(
          store::SelectIn(c,
                          "SELECT customer_id, channel FROM message_preferences WHERE topic = '" +
                              quoted + "' AND allowed = 0 AND customer_id IN ({in})",
                          ids, [&](const store::Row& r) { out.emplace(r.Int(0), r.Str(1)); }));
      if (!out.empty()) {
        for (Candidate& k : candidates) {
          if (k.customer_id && !k.suppressed_because && out.count({*k.customer_id, k.channel}))
            k.suppressed_because = "opted_out:" + topic;
        }
      }
    }
  }
  store::Params recipients;
  std::set<std::string> seen;
  for (const Candidate& k : candidates) {
    if (k.suppressed_because || k.recipient.empty()) continue;
    std::string n = NormalizeRecipient(k.channel, k.recipient);
    if (seen.insert(n).second) recipients.emplace_back(std::move(n));
  }
  if (recipients.empty()) return Status::Ok();
  std::set<std::pair<std::string, std::string>> listed;  // (channel, recipient)
  RETURN_IF_ERROR(store::SelectIn(
      c, "SELECT channel, recipient FROM suppressions WHERE recipient IN ({in})", recipients,
      [&](const store::Row& r) { listed.emplace(r.Str(0), r.Str(1)); }));
  if (listed.empty()) return Status::Ok();
  for (Candidate& k : candidates) {
    if (k.suppressed_because) continue;
    if (listed.count({k.channel, NormalizeRecipient(k.channel, k.recipient)}))
      k.suppressed_because = "suppressed";
  }
  return Status::Ok();
}

json::object PreferencesToJson(const TopicPreferences& p) {
  json::object topics;
  for (const auto& [topic, channels] : p) {
    json::object o;
    for (const auto& [channel, allowed] : channels) o[channel] = allowed;
    topics[topic] = std::move(o);
  }
  return json::object{{"topics", std::move(topics)}};
}

Result<TopicPreferences> PreferencesFromJson(const json::object& body) {
  JsonReader r(body);
  TopicPreferences out;
  if (const json::object* topics = r.Object("topics", true)) {
    if (topics->size() > 100) r.AddError("topics", "at most 100 topics");
    for (const auto& kv : *topics) {
      const std::string topic(kv.key());
      const std::string field = "topics." + topic;
      if (!ValidTopic(topic)) {
        r.AddError(field, "a topic is 1-64 characters of a-z, 0-9, _, - and .");
        continue;
      }
      if (!kv.value().is_object()) {
        r.AddError(field, "must be an object {\"email\":bool,\"sms\":bool,\"push\":bool}");
        continue;
      }
      JsonReader t(kv.value().get_object(), field + ".");
      auto& channels = out[topic];
      for (const char* ch : kChannels) {
        if (auto v = t.Bool(ch, false)) channels[ch] = *v;
      }
      Status st = t.Finish();
      for (const auto& e : st.fields()) r.AddError(e.field, e.message);
    }
  }
  RETURN_IF_ERROR(r.Finish());
  return out;
}

Result<TopicPreferences> LoadPreferences(store::Connection& c, int64_t customer_id) {
  ASSIGN_OR_RETURN(auto rows, c.Execute("SELECT topic, channel, allowed FROM message_preferences "
                                        "WHERE customer_id = ? ORDER BY topic, channel",
                                        {customer_id}));
  TopicPreferences out;
  for (const auto& r : rows.rows) out[r.Str(0)][r.Str(1)] = r.Int(2) != 0;
  return out;
}

Status SavePreferences(store::Connection& c, const audit::Actor& actor, int64_t customer_id,
                       const TopicPreferences& p) {
  ASSIGN_OR_RETURN(TopicPreferences before, LoadPreferences(c, customer_id));
  for (const auto& [topic, channels] : p) {
    for (const auto& [channel, allowed] : channels) {
      if (!IsChannel(channel)) return Status::Validation({{"topics." + topic, "unknown channel"}});
      ASSIGN_OR_RETURN(auto r,
                       c.Execute("UPDATE message_preferences SET allowed = ?, "
                                 "updated_at = ? WHERE customer_id = ? AND topic = ? "
                                 "AND channel = ?",
                                 {allowed ? 1 : 0, actor.now_ms, customer_id, topic, channel}));
      if (r.affected == 0) {
        RETURN_IF_ERROR(c.Execute("INSERT INTO message_preferences (customer_id, topic, channel, "
                                  "allowed, updated_at) VALUES (?, ?, ?, ?, ?)",
                                  {customer_id, topic, channel, allowed ? 1 : 0, actor.now_ms})
                            .status());
      }
    }
  }
  ASSIGN_OR_RETURN(TopicPreferences after, LoadPreferences(c, customer_id));
  if (before == after) return Status::Ok();
  return audit::Record(
      c, actor,
      {"customer.preferences", "customer", std::to_string(customer_id),
       json::value(PreferencesToJson(before)), json::value(PreferencesToJson(after))});
}

json::object SuppressionToJson(const Suppression& s) {
  return json::object{{"id", std::to_string(s.id)}, {"channel", s.channel},
                      {"recipient", s.recipient},   {"reason", s.reason},
                      {"created_by", s.created_by}, {"created_at", FormatRfc3339(s.created_at)}};
}

std::string PreferenceLinks::Make(int64_t customer_id, int64_t expires_at_ms) const {
  std::string payload;
  PutU64(&payload, static_cast<uint64_t>(customer_id));
  PutU64(&payload, static_cast<uint64_t>(expires_at_ms / 1000));
  return Base64UrlEncode(payload + HmacSha256(secret_, "kontor-preferences:" + payload));
}

Result<int64_t> PreferenceLinks::Verify(const std::string& token, int64_t now_ms) const {
  if (token.size() > 100) return Status::PermissionDenied("invalid link");
  std::optional<std::string> raw = Base64UrlDecode(token);
  if (!raw || raw->size() != 48) return Status::PermissionDenied("invalid link");
  const std::string payload = raw->substr(0, 16);
  if (!SecureEquals(raw->substr(16), HmacSha256(secret_, "kontor-preferences:" + payload)))
    return Status::PermissionDenied("invalid link");
  const int64_t customer_id = static_cast<int64_t>(GetU64(payload));
  const int64_t expires_s = static_cast<int64_t>(GetU64(std::string_view(payload).substr(8)));
  if (expires_s * 1000 <= now_ms) return Status::FailedPrecondition("expired");
  return customer_id;
}

std::string PreferenceLinks::UnsubscribeUrl(int64_t customer_id, int64_t now_ms) const {
  if (public_url_.empty()) return "";
  std::string base = public_url_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/unsubscribe/" + Make(customer_id, now_ms + kLinkTtlMs);
}

void PreferenceLinks::AddListUnsubscribe(NewMessage& m, int64_t now_ms) const {
  if (m.channel != "email" || m.purpose != "marketing" || !m.customer_id) return;
  if (m.content.contains("list_unsubscribe")) return;
  std::string url = UnsubscribeUrl(*m.customer_id, now_ms);
  if (url.empty()) return;
  m.content["list_unsubscribe"] = json::object{{"url", std::move(url)}};
}

namespace {
std::atomic<PreferenceLinks*> g_links{nullptr};
}  // namespace

const PreferenceLinks* ProcessPreferenceLinks() { return g_links.load(); }

void SetProcessPreferenceLinks(std::unique_ptr<PreferenceLinks> links) {
  // Every one is kept for the life of the process: senders may still hold
  // an earlier pointer.
  static std::mutex mu;
  static std::vector<std::unique_ptr<PreferenceLinks>> kept;
  std::lock_guard lock(mu);
  g_links.store(links.get());
  kept.push_back(std::move(links));
}

Result<std::string> PreferencesSecret(store::Database& db, const std::string& configured) {
  if (!configured.empty()) return configured;
  constexpr const char* kKey = "messaging.preferences.secret";
  ASSIGN_OR_RETURN(auto row, db.QueryRow("SELECT value FROM settings WHERE key = ?", {kKey}));
  if (row) return row->Str(0);
  auto ins = db.Execute("INSERT INTO settings (key, value) VALUES (?, ?)",
                        {kKey, Base64UrlEncode(RandomBytes(32))});
  // Another node may have created it first: theirs is the one.
  if (!ins.ok() && ins.status().code() != StatusCode::kConflict) return ins.status();
  ASSIGN_OR_RETURN(row, db.QueryRow("SELECT value FROM settings WHERE key = ?", {kKey}));
  if (!row) return Status::Internal("the preferences secret was not stored");
  return row->Str(0);
}

}  // namespace kontor::messaging
