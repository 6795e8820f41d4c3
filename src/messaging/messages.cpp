#include "messaging/messages.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/validation.h"
#include "messaging/preferences.h"
#include "messaging/template_store.h"

namespace kontor::messaging {
namespace {

constexpr size_t kMaxAttachmentBytes = 10u << 20;

// Field errors of a render, placed under "template.".
Status UnderTemplate(const Status& st) {
  if (st.code() != StatusCode::kValidation) return st;
  std::vector<FieldError> fields;
  for (const auto& e : st.fields()) fields.push_back({"template." + e.field, e.message});
  return Status::Validation(std::move(fields), st.message());
}

}  // namespace

json::object RenderedToContent(const RenderedMessage& m) {
  json::object o;
  auto put = [&o](const char* k, const std::string& v) {
    if (!v.empty()) o[k] = v;
  };
  if (m.channel == "email") {
    put("subject", m.subject);
    put("html", m.html);
    put("text", m.text);
  } else if (m.channel == "sms") {
    put("text", m.text);
  } else {
    put("title", m.title);
    put("body", m.body);
    put("image", m.image);
    put("link", m.link);
    if (!m.data.empty()) {
      json::object data;
      for (const auto& [k, v] : m.data) data[k] = v;
      o["data"] = std::move(data);
    }
  }
  return o;
}

const char* const kCustomerVariableColumns =
    "c.external_id, c.type, c.salutation, c.first_name, c.last_name, c.company_name, c.email, "
    "c.phone, c.language, c.country, c.time_zone, c.attributes";

json::object CustomerVariablesFromRow(const store::Row& row, size_t first) {
  json::object o;
  const char* names[] = {"external_id", "type",         "salutation", "first_name",
                         "last_name",   "company_name", "email",      "phone",
                         "language",    "country",      "time_zone"};
  for (size_t i = 0; i < std::size(names); ++i) {
    if (!row.IsNull(first + i)) o[names[i]] = row.Str(first + i);
  }
  auto attrs = ParseJsonObject(row.Str(first + std::size(names)));
  o["attributes"] = attrs.ok() ? std::move(*attrs) : json::object();
  return o;
}

Result<json::object> CustomerVariables(store::Connection& c, int64_t customer_id) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kCustomerVariableColumns +
                                            " FROM customers c WHERE c.id = ?",
                                        {customer_id}));
  if (!row) return Status::NotFound("no customer");
  return CustomerVariablesFromRow(*row, 0);
}

namespace {

// `column IN (?, ...)` for `ids`, which callers keep to a chunk's size.
std::string InIds(const std::vector<int64_t>& ids, store::Params& p) {
  std::string in;
  for (int64_t id : ids) {
    in += in.empty() ? "?" : ", ?";
    p.emplace_back(id);
  }
  return in;
}

}  // namespace

Result<std::set<int64_t>> MarketingConsents(store::Connection& c, const std::string& channel,
                                            const std::vector<int64_t>& customer_ids) {
  std::set<int64_t> out;
  if (customer_ids.empty()) return out;
  store::Params p{channel};
  const std::string in = InIds(customer_ids, p);
  ASSIGN_OR_RETURN(auto rows, c.Execute("SELECT customer_id FROM consents WHERE channel = ? AND "
                                        "status = 'granted' AND customer_id IN (" +
                                            in + ")",
                                        p));
  for (const auto& r : rows.rows) out.insert(r.Int(0));
  return out;
}

Result<std::map<int64_t, std::vector<ActiveDevice>>> ActiveDevices(
    store::Connection& c, const std::vector<int64_t>& customer_ids) {
  std::map<int64_t, std::vector<ActiveDevice>> out;
  if (customer_ids.empty()) return out;
  store::Params p;
  const std::string in = InIds(customer_ids, p);
  // `status || ''`: without it SQLite walks devices_last_seen (status, ...),
  // every active device of every customer, once per chunk of a campaign.
  ASSIGN_OR_RETURN(auto rows, c.Execute("SELECT customer_id, id, token, platform FROM devices "
                                        "WHERE status || '' = 'active' AND token IS NOT NULL AND "
                                        "customer_id IN (" +
                                            in + ") ORDER BY customer_id, id",
                                        p));
  for (const auto& r : rows.rows) out[r.Int(0)].push_back({r.Int(1), r.Str(2), r.Str(3)});
  return out;
}

Status ValidateContent(const std::string& channel, const json::object& content,
                       const std::string& prefix) {
  JsonReader r(content, prefix);
  if (channel == "email") {
    auto subject = r.String("subject", true, 998, 1);
    auto html = r.String("html", false, 1u << 20);
    auto text = r.String("text", false, 1u << 20);
    if (!html && !text && !r.Has("html") && !r.Has("text"))
      r.AddError(r.FieldName("text"), "an email needs html or text");
    if (auto reply = r.String("reply_to", false, 320); reply && !LooksLikeEmail(*reply))
      r.AddError(r.FieldName("reply_to"), "must be an email address");
    if (const json::object* lu = r.Object("list_unsubscribe", false)) {
      JsonReader u(*lu, r.FieldName("list_unsubscribe") + ".");
      if (auto url = u.String("url", false, 2000); url && !url->starts_with("https://"))
        u.AddError(u.FieldName("url"), "must be an https URL (RFC 8058 one-click)");
      if (auto mt = u.String("mailto", false, 320); mt && !LooksLikeEmail(*mt))
        u.AddError(u.FieldName("mailto"), "must be an email address");
      Status st = u.Finish();
      for (const auto& e : st.fields()) r.AddError(e.field, e.message);
    }
    if (const json::array* atts = r.Array("attachments", false, 20)) {
      size_t total = 0;
      for (size_t i = 0; i < atts->size(); ++i) {
        const std::string at = r.FieldName("attachments[" + std::to_string(i) + "]");
        if (!(*atts)[i].is_object()) {
          r.AddError(at, "must be an object {filename, content_type, data}");
          continue;
        }
        JsonReader a((*atts)[i].get_object(), at + ".");
        a.String("filename", true, 255, 1);
        a.String("content_type", false, 255);
        if (auto data = a.String("data", true, 4 * kMaxAttachmentBytes / 3 + 4)) {
          std::optional<std::string> bytes = Base64Decode(*data);
          if (!bytes)
            a.AddError(a.FieldName("data"), "must be base64");
          else
            total += bytes->size();
        }
        Status st = a.Finish();
        for (const auto& e : st.fields()) r.AddError(e.field, e.message);
      }
      if (total > kMaxAttachmentBytes)
        r.AddError(r.FieldName("attachments"), "at most 10 MiB of attachments");
    }
    (void)subject;
  } else if (channel == "sms") {
    r.String("text", true, 1600, 1);
  } else {
    auto title = r.String("title", false, 1000);
    auto body = r.String("body", false, 4000);
    if (auto image = r.String("image", false, 2000); image && !image->starts_with("https://"))
      r.AddError(r.FieldName("image"), "must be an https URL");
    r.String("link", false, 2000);
    // APNs apns-collapse-id: at most 64 bytes.
    r.String("collapse_id", false, 64, 1);
    const json::object* data = r.Object("data", false);
    if (data) {
      for (const auto& kv : *data) {
        if (!kv.value().is_string())
          r.AddError(r.FieldName("data." + std::string(kv.key())), "must be a string");
      }
    }
    // Data alone is a background (silent) push: APNs push type background,
    // an FCM data message.
    if (!title && !body && (!data || data->empty()))
      r.AddError(r.FieldName("body"),
                 "a push message needs a title, a body or data (data alone: a background push)");
    if (json::serialize(content).size() > kMaxPushPayloadBytes)
      r.AddError(prefix.empty() ? "content" : prefix.substr(0, prefix.size() - 1),
                 "a push payload is at most 4096 bytes");
  }
  return r.Finish();
}

Result<MessageService::Sent> MessageService::Send(const audit::Actor& actor,
                                                  const json::object& body,
                                                  std::optional<std::string> idempotency_header) {
  JsonReader r(body);
  const std::string channel = r.Enum("channel", true, {"email", "sms", "push"}).value_or("");
  const std::string lane =
      r.Enum("lane", false, {"alert", "transactional"}).value_or("transactional");
  const std::string purpose =
      r.Enum("purpose", false, {"transactional", "marketing"}).value_or("transactional");
  std::optional<std::string> key = r.String("idempotency_key", false, 255, 1);
  if (!key) key = idempotency_header;
  const json::object* to = r.Object("to", true);
  const json::object* content = r.Object("content", false);
  const std::optional<std::string> template_key = r.String("template", false, 100, 1);
  const json::object* data = r.Object("data", false);
  const std::optional<std::string> language = r.String("language", false, 35, 2);
  // The preferences topic: a customer who opted out of it on this channel is
  // not sent to. The suppression list applies to every send.
  const std::optional<std::string> topic = r.String("topic", false, 64, 1);
  if (!content == !template_key && !r.Has("content") && !r.Has("template"))
    r.AddError("content", "give content, or a template with its data");
  else if (content && template_key)
    r.AddError("template", "give content or a template, not both");
  if (data && !template_key) r.AddError("data", "only with a template");
  std::string to_kind, to_value;
  if (to) {
    JsonReader t(*to, "to.");
    for (const char* k : {"customer", "email", "phone", "token", "device"}) {
      if (auto v = t.String(k, false, 320, 1)) {
        if (!to_kind.empty())
          t.AddError(t.FieldName(k), "give one recipient: customer, email, phone, token or device");
        to_kind = k;
        to_value = *v;
      }
    }
    if (to_kind.empty() && t.Finish().ok())
      t.AddError("to", "needs customer, email, phone, token or device");
    if (to_kind == "email" && !LooksLikeEmail(to_value))
      t.AddError(t.FieldName("email"), "must be an email address");
    if (to_kind == "phone" && !IsE164(to_value))
      t.AddError(t.FieldName("phone"), "must be an E.164 number like +4930123456");
    if (!channel.empty() && !to_kind.empty()) {
      const bool fits = to_kind == "customer" || (channel == "email" && to_kind == "email") ||
                        (channel == "sms" && to_kind == "phone") ||
                        (channel == "push" && (to_kind == "token" || to_kind == "device"));
      if (!fits) t.AddError(t.FieldName(to_kind), "cannot receive a " + channel + " message");
    }
    Status st = t.Finish();
    for (const auto& e : st.fields()) r.AddError(e.field, e.message);
  }
  if (content && !channel.empty()) {
    Status st = ValidateContent(channel, *content, "content.");
    for (const auto& e : st.fields()) r.AddError(e.field, e.message);
  }
  RETURN_IF_ERROR(r.Finish());

  json::object hashed = body;
  hashed.erase("idempotency_key");
  const std::string request_hash = Sha256Hex(json::serialize(hashed));
  Sent out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    out = Sent{};
    std::vector<NewMessage> msgs;
    NewMessage base;
    base.lane = lane;
    base.purpose = purpose;
    base.channel = channel;
    base.provider = providers_.For(channel);
    if (content) base.content = *content;
    base.request_hash = request_hash;
    base.idempotency_key = key;
    if (to_kind == "customer") {
      ASSIGN_OR_RETURN(auto cu, c.QueryRow("SELECT id, email, phone, language, status FROM "
                                           "customers WHERE external_id = ?",
                                           {to_value}));
      if (!cu) return Status::Validation({{"to.customer", "no customer " + to_value}});
      if (cu->Str(4) == "erased")
        return Status::Validation({{"to.customer", "the customer was erased"}});
      base.customer_id = cu->Int(0);
      base.language = cu->Str(3);
      if (purpose == "marketing") {
        ASSIGN_OR_RETURN(auto consent, MarketingConsents(c, channel, {cu->Int(0)}));
        if (consent.empty()) base.suppressed_because = "no " + channel + " consent for marketing";
      }
      if (channel == "push") {
        ASSIGN_OR_RETURN(auto by_customer, ActiveDevices(c, {cu->Int(0)}));
        const std::vector<ActiveDevice>& devices = by_customer[cu->Int(0)];
        if (devices.empty())
          return Status::Validation({{"to.customer", "the customer has no active device"}});
        for (size_t i = 0; i < devices.size(); ++i) {
          NewMessage m = base;
          m.device_id = devices[i].id;
          m.recipient = devices[i].token;
          m.provider = providers_.ForDevice(channel, devices[i].platform);
          if (key && i > 0) m.idempotency_key = *key + "#" + std::to_string(i);
          msgs.push_back(std::move(m));
        }
      } else {
        base.recipient = cu->Str(channel == "email" ? 1 : 2);
        if (base.recipient.empty())
          return Status::Validation(
              {{"to.customer", std::string("the customer has no ") +
                                   (channel == "email" ? "email address" : "phone number")}});
        msgs.push_back(base);
      }
    } else if (to_kind == "device") {
      ASSIGN_OR_RETURN(auto d, c.QueryRow("SELECT id, token, status, customer_id, platform "
                                          "FROM devices "
                                          "WHERE installation_id = ?",
                                          {to_value}));
      if (!d) return Status::Validation({{"to.device", "no device " + to_value}});
      if (d->Str(2) != "active" || d->IsNull(1))
        return Status::Validation(
            {{"to.device", "the device is " + d->Str(2) + " or has no token"}});
      base.device_id = d->Int(0);
      base.customer_id = d->OptInt(3);
      base.recipient = d->Str(1);
      base.provider = providers_.ForDevice(channel, d->Str(4));
      msgs.push_back(base);
    } else {
      base.recipient = to_value;
      msgs.push_back(base);
    }
    if (template_key) {
      ASSIGN_OR_RETURN(std::optional<SavedTemplate> t, TemplateStore::Load(c, *template_key));
      if (!t) return Status::Validation({{"template", "no template " + *template_key}});
      if (t->definition.channel != channel)
        return Status::Validation(
            {{"template", "is a " + t->definition.channel + " template, not " + channel}});
      for (NewMessage& m : msgs) {
        json::object vars{{"data", data ? *data : json::object()}};
        if (m.customer_id) {
          ASSIGN_OR_RETURN(vars["customer"], CustomerVariables(c, *m.customer_id));
        }
        Result<RenderedMessage> rendered =
            Render(t->definition, language.value_or(m.language), vars);
        if (!rendered.ok()) return UnderTemplate(rendered.status());
        m.content = RenderedToContent(*rendered);
        m.template_key = *template_key;
        m.language = rendered->language;
        RETURN_IF_ERROR(ValidateContent(channel, m.content, "template."));
      }
    }
    // A repeated key answers with what the first request queued.
    if (key) {
      ASSIGN_OR_RETURN(auto seen, c.QueryRow("SELECT request_hash FROM messages WHERE "
                                             "idempotency_key = ?",
                                             {*key}));
      if (seen) {
        if (seen->Str(0) != request_hash)
          return Status::Conflict("idempotency key " + *key + " was used for another message");
        out.replayed = true;
      }
    }
    std::vector<int64_t> ids;
    if (out.replayed) {
      // The key itself, and the "key#N" of a customer's further devices. A
      // range, not LIKE: the client's key may contain % or _.
      ASSIGN_OR_RETURN(auto rows, c.Execute("SELECT id FROM messages WHERE idempotency_key = ? OR "
                                            "(idempotency_key > ? AND idempotency_key < ?) "
                                            "ORDER BY id",
                                            {*key, *key + "#", *key + "$"}));
      for (const auto& row : rows.rows) ids.push_back(row.Int(0));
    } else {
      std::vector<Candidate> candidates;
      candidates.reserve(msgs.size());
      for (const NewMessage& m : msgs)
        candidates.push_back({m.customer_id, m.channel, m.recipient, m.suppressed_because});
      RETURN_IF_ERROR(ApplyPreferences(c, topic.value_or(""), candidates));
      const PreferenceLinks* links = ProcessPreferenceLinks();
      for (size_t i = 0; i < msgs.size(); ++i) {
        msgs[i].suppressed_because = candidates[i].suppressed_because;
        if (links) links->AddListUnsubscribe(msgs[i], actor.now_ms);
      }
      std::vector<bool> existed;
      ASSIGN_OR_RETURN(ids, Outbox::Enqueue(c, actor.now_ms, msgs, &existed));
      // A concurrent request with the key committed since the look-up above:
      // retried, this one answers as its repeat.
      if (std::find(existed.begin(), existed.end(), true) != existed.end())
        return Status::Unavailable("concurrent use of an idempotency key");
      json::array logged;
      for (int64_t id : ids) logged.emplace_back(std::to_string(id));
      RETURN_IF_ERROR(
          audit::Record(c, actor,
                        {"message.send", "message", std::to_string(ids.front()), std::nullopt,
                         json::value(json::object{{"channel", channel},
                                                  {"purpose", purpose},
                                                  {"lane", lane},
                                                  {"messages", std::move(logged)}})}));
    }
    out.messages.clear();
    out.messages.reserve(ids.size());
    for (int64_t id : ids) out.messages.push_back(Message{.id = id});
    return Status::Ok();
  }));
  Outbox reader(db_, "");
  for (Message& m : out.messages) {
    ASSIGN_OR_RETURN(auto loaded, reader.Get(m.id));
    if (loaded) m = std::move(*loaded);
  }
  if (!out.replayed && kick_) kick_();
  return out;
}

}  // namespace kontor::messaging
