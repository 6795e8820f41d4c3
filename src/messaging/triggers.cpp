#include "messaging/triggers.h"

#include <chrono>
#include <map>
#include <set>

#include "core/log.h"
#include "messaging/outbox.h"
#include "messaging/preferences.h"
#include "messaging/template_store.h"

namespace kontor::messaging {

// ---------------------------------------------------------------------------
// Conditions

struct Condition::Node {
  enum class Kind { kAll, kAny, kNot, kCompare } kind = Kind::kCompare;
  std::vector<std::shared_ptr<const Node>> children;
  // kCompare
  std::vector<std::string> path;  // under the event, e.g. {"data", "order", "total"}
  std::string op;
  json::value value;
};

namespace {

using Node = Condition::Node;

constexpr int kMaxConditionNodes = 100;
constexpr int kMaxConditionDepth = 10;

bool IsNumber(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }
double AsDouble(const json::value& v) {
  return v.is_int64()    ? static_cast<double>(v.get_int64())
         : v.is_uint64() ? static_cast<double>(v.get_uint64())
                         : v.get_double();
}

// -1, 0, 1; nullopt when the types differ (the comparison is false).
std::optional<int> Compare(const json::value& a, const json::value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    const double x = AsDouble(a), y = AsDouble(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const auto& x = a.get_string();
    const auto& y = b.get_string();
    const int c = std::string_view(x).compare(std::string_view(y));
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_bool() && b.is_bool()) return a.get_bool() == b.get_bool() ? 0 : 1;
  return std::nullopt;
}

struct Compiler {
  std::vector<FieldError> errors;
  int nodes = 0;

  std::shared_ptr<const Node> Compile(const json::value& v, const std::string& at, int depth) {
    if (++nodes > kMaxConditionNodes) {
      if (nodes == kMaxConditionNodes + 1)
        errors.push_back(
            {at, "a condition has at most " + std::to_string(kMaxConditionNodes) + " parts"});
      return nullptr;
    }
    if (depth > kMaxConditionDepth) {
      errors.push_back({at, "nested too deeply"});
      return nullptr;
    }
    if (!v.is_object()) {
      errors.push_back({at, "must be an object: all, any, not or a comparison"});
      return nullptr;
    }
    const json::object& o = v.get_object();
    auto node = std::make_shared<Node>();
    if (o.size() == 1 && (o.contains("all") || o.contains("any"))) {
      const bool all = o.contains("all");
      const char* name = all ? "all" : "any";
      node->kind = all ? Node::Kind::kAll : Node::Kind::kAny;
      const json::value& list = o.at(name);
      if (!list.is_array() || list.get_array().empty()) {
        errors.push_back({at + "." + name, "must be a non-empty array of conditions"});
        return nullptr;
      }
      const json::array& a = list.get_array();
      for (size_t i = 0; i < a.size(); ++i) {
        auto child = Compile(a[i], at + "." + name + "[" + std::to_string(i) + "]", depth + 1);
        if (child) node->children.push_back(std::move(child));
      }
      return node;
    }
    if (o.size() == 1 && o.contains("not")) {
      node->kind = Node::Kind::kNot;
      auto child = Compile(o.at("not"), at + ".not", depth + 1);
      if (child) node->children.push_back(std::move(child));
      return node;
    }
    for (const auto& kv : o) {
      const std::string k(kv.key());
      if (k != "field" && k != "op" && k != "value")
        errors.push_back({at + "." + k, "unknown; a comparison has field, op and value"});
    }
    const json::value* field = o.if_contains("field");
    if (!field || !field->is_string()) {
      errors.push_back({at + ".field", "required: data.<path>, e.g. data.order.total"});
    } else {
      const std::string f(field->get_string());
      if (!f.starts_with("data.") || f.size() <= 5 || f.size() > 200) {
        errors.push_back({at + ".field", "must be data.<path>, e.g. data.order.total"});
      } else {
        size_t start = 0;
        for (;;) {
          size_t dot = f.find('.', start);
          std::string seg =
              f.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
          if (seg.empty()) {
            errors.push_back({at + ".field", "has an empty path segment"});
            break;
          }
          node->path.push_back(std::move(seg));
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
      }
    }
    const json::value* op = o.if_contains("op");
    static const std::set<std::string, std::less<>> kOps = {"eq", "ne",  "lt", "lte",
                                                            "gt", "gte", "in", "exists"};
    if (!op || !op->is_string() || !kOps.count(std::string_view(op->get_string()))) {
      errors.push_back({at + ".op", "must be one of eq, ne, lt, lte, gt, gte, in, exists"});
      return nullptr;
    }
    node->op = std::string(op->get_string());
    const json::value* value = o.if_contains("value");
    if (node->op == "exists") {
      if (value) errors.push_back({at + ".value", "exists takes no value"});
    } else if (!value) {
      errors.push_back({at + ".value", "required"});
    } else if (node->op == "in") {
      if (!value->is_array() || value->get_array().empty() || value->get_array().size() > 1000) {
        errors.push_back({at + ".value", "must be an array of 1 to 1000 values"});
      } else {
        for (const auto& x : value->get_array())
          if (!(IsNumber(x) || x.is_string() || x.is_bool())) {
            errors.push_back({at + ".value", "holds numbers, strings or booleans"});
            break;
          }
      }
      node->value = *value;
    } else if (node->op == "eq" || node->op == "ne") {
      if (!(IsNumber(*value) || value->is_string() || value->is_bool()))
        errors.push_back({at + ".value", "must be a number, a string or a boolean"});
      node->value = *value;
    } else {
      if (!(IsNumber(*value) || value->is_string()))
        errors.push_back({at + ".value", "must be a number or a string"});
      node->value = *value;
    }
    return node;
  }
};

const json::value* Lookup(const json::object& event, const std::vector<std::string>& path) {
  const json::object* o = &event;
  const json::value* v = nullptr;
  for (const std::string& seg : path) {
    if (!o) return nullptr;
    v = o->if_contains(seg);
    if (!v) return nullptr;
    o = v->is_object() ? &v->get_object() : nullptr;
  }
  return v;
}

bool Eval(const Node& n, const json::object& event) {
  switch (n.kind) {
    case Node::Kind::kAll:
      for (const auto& c : n.children)
        if (!Eval(*c, event)) return false;
      return true;
    case Node::Kind::kAny:
      for (const auto& c : n.children)
        if (Eval(*c, event)) return true;
      return false;
    case Node::Kind::kNot:
      return !Eval(*n.children.front(), event);
    case Node::Kind::kCompare:
      break;
  }
  const json::value* v = Lookup(event, n.path);
  if (n.op == "exists") return v && !v->is_null();
  if (n.op == "ne") {
    if (!v) return true;
    auto c = Compare(*v, n.value);
    return !(c && *c == 0);
  }
  if (!v) return false;
  if (n.op == "in") {
    for (const auto& x : n.value.get_array()) {
      auto c = Compare(*v, x);
      if (c && *c == 0) return true;
    }
    return false;
  }
  auto c = Compare(*v, n.value);
  if (!c) return false;
  if (n.op == "eq") return *c == 0;
  if (n.value.is_bool()) return false;  // booleans are not ordered
  if (n.op == "lt") return *c < 0;
  if (n.op == "lte") return *c <= 0;
  if (n.op == "gt") return *c > 0;
  return *c >= 0;  // gte
}

}  // namespace

Result<Condition> Condition::Compile(const json::value& rule, const std::string& field) {
  Condition out;
  if (rule.is_null()) return out;
  Compiler c;
  auto root = c.Compile(rule, field, 0);
  if (!c.errors.empty()) return Status::Validation(std::move(c.errors));
  out.root_ = std::move(root);
  return out;
}

bool Condition::Matches(const json::object& event) const { return !root_ || Eval(*root_, event); }

// ---------------------------------------------------------------------------
// Trigger definitions

namespace {

constexpr const char* kTriggerSelect =
    "SELECT key, event_type, definition, enabled, version, created_at, updated_at FROM triggers";

bool ValidKey(const std::string& k) {
  if (k.empty() || k.size() > 100) return false;
  for (char ch : k) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

Result<Trigger> TriggerFromRow(const store::Row& r) {
  Trigger t;
  t.key = r.Str(0);
  t.event_type = r.Str(1);
  ASSIGN_OR_RETURN(json::object d, ParseJsonObject(r.Str(2)));
  if (const auto* v = d.if_contains("condition")) t.condition = *v;
  if (const auto* v = d.if_contains("template_key"); v && v->is_string())
    t.template_key = std::string(v->get_string());
  if (const auto* v = d.if_contains("channels"); v && v->is_array())
    for (const auto& ch : v->get_array())
      if (ch.is_string()) t.channels.emplace_back(ch.get_string());
  if (const auto* v = d.if_contains("delay_seconds"); v && v->is_int64())
    t.delay_seconds = v->get_int64();
  if (const auto* v = d.if_contains("dedupe_window_seconds"); v && v->is_int64())
    t.dedupe_window_seconds = v->get_int64();
  if (const auto* v = d.if_contains("topic"); v && v->is_string())
    t.topic = std::string(v->get_string());
  if (const auto* v = d.if_contains("lane"); v && v->is_string())
    t.lane = std::string(v->get_string());
  t.enabled = r.Int(3) != 0;
  t.version = r.Int(4);
  t.created_at = r.Int(5);
  t.updated_at = r.Int(6);
  return t;
}

std::string DefinitionJson(const Trigger& t) {
  json::array channels;
  for (const auto& c : t.channels) channels.emplace_back(c);
  return json::serialize(json::object{{"condition", t.condition},
                                      {"template_key", t.template_key},
                                      {"channels", std::move(channels)},
                                      {"delay_seconds", t.delay_seconds},
                                      {"dedupe_window_seconds", t.dedupe_window_seconds},
                                      {"topic", NullOr(t.topic)},
                                      {"lane", t.lane}});
}

}  // namespace

json::object TriggerToJson(const Trigger& t) {
  json::array channels;
  for (const auto& c : t.channels) channels.emplace_back(c);
  return json::object{{"key", t.key},
                      {"event_type", t.event_type},
                      {"condition", t.condition},
                      {"template_key", t.template_key},
                      {"channels", std::move(channels)},
                      {"delay_seconds", t.delay_seconds},
                      {"dedupe_window_seconds", t.dedupe_window_seconds},
                      {"topic", NullOr(t.topic)},
                      {"lane", t.lane},
                      {"enabled", t.enabled},
                      {"version", t.version},
                      {"created_at", FormatRfc3339(t.created_at)},
                      {"updated_at", FormatRfc3339(t.updated_at)}};
}

std::vector<std::string> TemplateCandidates(const std::string& template_key,
                                            const std::string& channel) {
  return {template_key + "." + channel, template_key};
}

namespace {

// The saved template a trigger uses on `channel`, or nullopt.
Result<std::optional<SavedTemplate>> TemplateFor(store::Connection& c,
                                                 const std::string& template_key,
                                                 const std::string& channel) {
  for (const std::string& k : TemplateCandidates(template_key, channel)) {
    ASSIGN_OR_RETURN(std::optional<SavedTemplate> t, TemplateStore::Load(c, k));
    if (t && t->definition.channel == channel) return t;
  }
  return std::optional<SavedTemplate>();
}

}  // namespace

Result<std::vector<Trigger>> TriggerStore::List() {
  ASSIGN_OR_RETURN(auto rows, db_.Execute(std::string(kTriggerSelect) + " ORDER BY key"));
  std::vector<Trigger> out;
  for (const auto& r : rows.rows) {
    ASSIGN_OR_RETURN(Trigger t, TriggerFromRow(r));
    out.push_back(std::move(t));
  }
  return out;
}

Result<Trigger> TriggerStore::Get(const std::string& key) {
  ASSIGN_OR_RETURN(auto row, db_.QueryRow(std::string(kTriggerSelect) + " WHERE key = ?", {key}));
  if (!row) return Status::NotFound("no trigger " + key);
  return TriggerFromRow(*row);
}

Result<std::pair<Trigger, bool>> TriggerStore::Put(const audit::Actor& actor,
                                                   const std::string& key, const json::object& body,
                                                   std::optional<int64_t> if_match) {
  if (!ValidKey(key))
    return Status::BadParameter("key", "1 to 100 letters, digits, '-', '_' or '.'");
  JsonReader r(body);
  Trigger t;
  t.key = key;
  if (r.Has("key")) {
    if (auto k = r.String("key", false, 100); k && *k != key)
      r.AddError("key", "must match the key in the path");
  }
  t.event_type = r.String("event_type", true, 100, 1).value_or("");
  if (const json::value* cond = r.Raw("condition")) {
    t.condition = *cond;
    auto compiled = Condition::Compile(*cond);
    if (!compiled.ok())
      for (const auto& e : compiled.status().fields()) r.AddError(e.field, e.message);
  }
  t.template_key = r.String("template_key", true, 100, 1).value_or("");
  if (const json::array* chans = r.Array("channels", true, 3)) {
    std::set<std::string> seen;
    for (size_t i = 0; i < chans->size(); ++i) {
      const json::value& ch = (*chans)[i];
      const std::string at = "channels[" + std::to_string(i) + "]";
      if (!ch.is_string() ||
          (ch.get_string() != "email" && ch.get_string() != "sms" && ch.get_string() != "push")) {
        r.AddError(at, "must be email, sms or push");
      } else if (!seen.insert(std::string(ch.get_string())).second) {
        r.AddError(at, "is listed twice");
      } else {
        t.channels.emplace_back(ch.get_string());
      }
    }
    if (chans->empty()) r.AddError("channels", "name at least one channel");
  }
  t.delay_seconds = r.Int("delay_seconds", false, 0, 30 * 86400).value_or(0);
  t.dedupe_window_seconds = r.Int("dedupe_window_seconds", false, 0, 30 * 86400).value_or(0);
  if (r.Has("topic") && !r.IsNull("topic")) {
    if (auto topic = r.String("topic", false, 64, 1)) t.topic = *topic;
  } else {
    r.Raw("topic");
  }
  t.lane = r.Enum("lane", false, {"transactional", "alert"}).value_or("transactional");
  t.enabled = r.Bool("enabled", false).value_or(true);
  // Read-only fields a client may send back from a GET.
  for (const char* ro : {"version", "created_at", "updated_at"}) r.Raw(ro);
  RETURN_IF_ERROR(r.Finish());
  if (t.event_type.empty()) return Status::Validation({{"event_type", "required"}});

  Result<std::pair<Trigger, bool>> out = Status::Internal("unset");
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    std::vector<FieldError> missing;
    for (const std::string& ch : t.channels) {
      ASSIGN_OR_RETURN(auto tpl, TemplateFor(c, t.template_key, ch));
      if (!tpl)
        missing.push_back({"template_key", "no " + ch + " template: save " + t.template_key + "." +
                                               ch + " or " + t.template_key + " as an " + ch +
                                               " template"});
    }
    if (!missing.empty()) return Status::Validation(std::move(missing));
    const bool pg = c.dialect() == store::Dialect::kPostgres;
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kTriggerSelect) + " WHERE key = ?" +
                                              (pg ? " FOR UPDATE" : ""),
                                          {key}));
    std::optional<Trigger> before;
    if (row) {
      ASSIGN_OR_RETURN(before, TriggerFromRow(*row));
    }
    if (if_match && (!before || before->version != *if_match)) {
      return Status::Conflict(
          "trigger " + key +
          (before ? " is at version " + std::to_string(before->version) : " does not exist"));
    }
    const std::string def = DefinitionJson(t);
    if (before && before->event_type == t.event_type && before->enabled == t.enabled &&
        DefinitionJson(*before) == def) {
      out = std::make_pair(*before, false);
      return Status::Ok();
    }
    if (before) {
      RETURN_IF_ERROR(c.Execute("UPDATE triggers SET event_type = ?, definition = ?, enabled = ?, "
                                "version = version + 1, updated_at = ? WHERE key = ?",
                                {t.event_type, def, t.enabled ? 1 : 0, actor.now_ms, key})
                          .status());
    } else {
      auto ins = c.Execute(
          "INSERT INTO triggers (key, event_type, definition, enabled, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, ?, ?)",
          {key, t.event_type, def, t.enabled ? 1 : 0, actor.now_ms, actor.now_ms});
      if (!ins.ok() && ins.status().code() == StatusCode::kConflict)
        return Status::Unavailable("concurrent create");
      RETURN_IF_ERROR(ins.status());
    }
    ASSIGN_OR_RETURN(auto now_row,
                     c.QueryRow(std::string(kTriggerSelect) + " WHERE key = ?", {key}));
    ASSIGN_OR_RETURN(Trigger now, TriggerFromRow(*now_row));
    RETURN_IF_ERROR(
        audit::Record(c, actor,
                      {before ? "trigger.update" : "trigger.create", "trigger", key,
                       before ? std::optional<json::value>(TriggerToJson(*before)) : std::nullopt,
                       json::value(TriggerToJson(now))}));
    out = std::make_pair(std::move(now), !before);
    return Status::Ok();
  }));
  return out;
}

Status TriggerStore::Delete(const audit::Actor& actor, const std::string& key) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string(kTriggerSelect) + " WHERE key = ?", {key}));
    if (!row) return Status::NotFound("no trigger " + key);
    ASSIGN_OR_RETURN(Trigger t, TriggerFromRow(*row));
    RETURN_IF_ERROR(c.Execute("DELETE FROM triggers WHERE key = ?", {key}).status());
    return audit::Record(
        c, actor, {"trigger.delete", "trigger", key, json::value(TriggerToJson(t)), std::nullopt});
  });
}

// ---------------------------------------------------------------------------
// Processing

namespace {

struct EventRow {
  int64_t id = 0;
  std::string type;
  std::optional<int64_t> customer_id, device_id;
  json::object data;
  int64_t occurred_at = 0, received_at = 0;
};

struct FireOutcome {
  int64_t event_id;
  std::string trigger_key;
  std::optional<int64_t> customer_id, message_id;
  std::string outcome;
  std::optional<std::string> detail;
};

// Per-batch memory, so a batch reads each template and customer once.
struct BatchCache {
  std::map<std::pair<std::string, std::string>, std::optional<SavedTemplate>> templates;
  std::map<int64_t, json::object> customer_vars;
  struct CustomerRow {
    std::string email, phone, language;
  };
  std::map<int64_t, std::optional<CustomerRow>> customers;
  // (trigger, customer) → queued in this batch at.
  std::set<std::pair<std::string, int64_t>> queued;
};

Result<std::optional<BatchCache::CustomerRow>> LoadCustomer(store::Connection& c, BatchCache& cache,
                                                            int64_t id) {
  auto it = cache.customers.find(id);
  if (it != cache.customers.end()) return it->second;
  ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT email, phone, language, status FROM customers "
                                        "WHERE id = ?",
                                        {id}));
  std::optional<BatchCache::CustomerRow> out;
  if (row && row->Str(3) != "erased")
    out = BatchCache::CustomerRow{row->Str(0), row->Str(1), row->Str(2)};
  cache.customers[id] = out;
  return out;
}

// Runs one trigger for one event: picks the first channel the customer can
// be reached on (fallback order), renders the template per recipient and
// queues the messages, recording what happened in `outcomes`.
Status Fire(store::Connection& c, const Trigger& t, const EventRow& e,
            const json::object& event_vars, int64_t now, const ChannelProviders& providers,
            BatchCache& cache, std::vector<FireOutcome>& outcomes, bool* queued_any) {
  const std::optional<int64_t> customer_id = e.customer_id;
  auto record = [&](std::string outcome, std::optional<std::string> detail,
                    std::optional<int64_t> message_id = std::nullopt) {
    outcomes.push_back(
        {e.id, t.key, customer_id, message_id, std::move(outcome), std::move(detail)});
  };
  std::optional<BatchCache::CustomerRow> customer;
  if (customer_id) {
    ASSIGN_OR_RETURN(customer, LoadCustomer(c, cache, *customer_id));
    if (!customer) {
      record("no_recipient", "the customer was erased");
      return Status::Ok();
    }
  }
  bool deduped = false;
  if (t.dedupe_window_seconds > 0 && customer_id) {
    if (cache.queued.count({t.key, *customer_id})) {
      deduped = true;
    } else {
      ASSIGN_OR_RETURN(auto hit,
                       c.QueryRow("SELECT 1 FROM event_messages WHERE trigger_key = ? "
                                  "AND customer_id = ? AND created_at >= ? AND "
                                  "outcome = 'queued' LIMIT 1",
                                  {t.key, *customer_id, now - t.dedupe_window_seconds * 1000}));
      deduped = hit.has_value();
    }
  }

  std::string chosen;
  std::optional<SavedTemplate> tpl;
  std::vector<Candidate> candidates;
  std::vector<std::optional<int64_t>> device_ids;
  std::string fallback_channel;  // the first channel whose recipients all were suppressed
  std::vector<Candidate> fallback_candidates;
  std::vector<std::optional<int64_t>> fallback_devices;
  std::optional<SavedTemplate> fallback_tpl;
  std::vector<std::string> why;
  for (const std::string& ch : t.channels) {
    auto key = std::make_pair(t.template_key, ch);
    auto tit = cache.templates.find(key);
    if (tit == cache.templates.end()) {
      ASSIGN_OR_RETURN(auto loaded, TemplateFor(c, t.template_key, ch));
      tit = cache.templates.emplace(key, std::move(loaded)).first;
    }
    if (!tit->second) {
      why.push_back(ch + ": no template");
      continue;
    }
    std::vector<Candidate> cands;
    std::vector<std::optional<int64_t>> devs;
    if (ch == "push") {
      if (customer_id) {
        ASSIGN_OR_RETURN(auto by_customer, ActiveDevices(c, {*customer_id}));
        for (const ActiveDevice& d : by_customer[*customer_id]) {
          cands.push_back({customer_id, ch, d.token, std::nullopt});
          devs.push_back(d.id);
        }
      } else if (e.device_id) {
        ASSIGN_OR_RETURN(auto d, c.QueryRow("SELECT token FROM devices WHERE id = ? AND status = "
                                            "'active' AND token IS NOT NULL",
                                            {*e.device_id}));
        if (d) {
          cands.push_back({std::nullopt, ch, d->Str(0), std::nullopt});
          devs.push_back(e.device_id);
        }
      }
      if (cands.empty()) {
        why.push_back("push: no active device");
        continue;
      }
    } else {
      const std::string addr = !customer ? "" : ch == "email" ? customer->email : customer->phone;
      if (addr.empty()) {
        why.push_back(ch + (ch == "email" ? ": no email address" : ": no phone number"));
        continue;
      }
      cands.push_back({customer_id, ch, addr, std::nullopt});
      devs.push_back(std::nullopt);
    }
    if (customer_id) {
      ASSIGN_OR_RETURN(auto consent, c.QueryRow("SELECT status FROM consents WHERE customer_id = ? "
                                                "AND channel = ?",
                                                {*customer_id, ch}));
      if (consent && consent->Str(0) == "withdrawn") {
        why.push_back(ch + ": consent withdrawn");
        continue;
      }
    }
    RETURN_IF_ERROR(ApplyPreferences(c, t.topic.value_or(""), cands));
    bool any = false;
    for (const Candidate& k : cands) any |= !k.suppressed_because;
    if (!any) {
      why.push_back(ch + ": " + *cands.front().suppressed_because);
      if (fallback_channel.empty()) {
        fallback_channel = ch;
        fallback_candidates = std::move(cands);
        fallback_devices = std::move(devs);
        fallback_tpl = tit->second;
      }
      continue;
    }
    chosen = ch;
    tpl = tit->second;
    candidates = std::move(cands);
    device_ids = std::move(devs);
    break;
  }
  if (chosen.empty()) {
    if (fallback_channel.empty()) {
      std::string detail;
      for (const auto& w : why) detail += (detail.empty() ? "" : "; ") + w;
      record("no_recipient", detail.empty() ? "no channel" : detail);
      return Status::Ok();
    }
    // Every channel was ruled out and one by preferences or the suppression
    // list: the messages are logged as suppressed, so the log shows why.
    chosen = fallback_channel;
    tpl = fallback_tpl;
    candidates = std::move(fallback_candidates);
    device_ids = std::move(fallback_devices);
  }

  json::object vars{{"event", event_vars}, {"data", e.data}};
  if (customer_id) {
    auto cv = cache.customer_vars.find(*customer_id);
    if (cv == cache.customer_vars.end()) {
      ASSIGN_OR_RETURN(json::object v, CustomerVariables(c, *customer_id));
      cv = cache.customer_vars.emplace(*customer_id, std::move(v)).first;
    }
    vars["customer"] = cv->second;
  }
  const std::string language = customer ? customer->language : "";
  Result<RenderedMessage> rendered = Render(tpl->definition, language, vars);
  if (!rendered.ok()) {
    std::string detail = rendered.status().message();
    for (const auto& f : rendered.status().fields()) detail += " " + f.field + ": " + f.message;
    record("error", "template " + tpl->key + ": " + detail);
    return Status::Ok();
  }
  json::object content = RenderedToContent(*rendered);
  if (Status st = ValidateContent(chosen, content, "template."); !st.ok()) {
    std::string detail;
    for (const auto& f : st.fields())
      detail += (detail.empty() ? "" : "; ") + f.field + ": " + f.message;
    record("error", "template " + tpl->key + ": " + detail);
    return Status::Ok();
  }
  std::vector<NewMessage> msgs;
  for (size_t i = 0; i < candidates.size(); ++i) {
    NewMessage m;
    m.lane = t.lane;
    m.purpose = "transactional";
    m.channel = chosen;
    m.provider = providers.For(chosen);
    m.customer_id = customer_id;
    m.device_id = device_ids[i];
    m.recipient = candidates[i].recipient;
    m.template_key = tpl->key;
    m.language = rendered->language;
    m.content = content;
    // Exactly once is the transaction's doing; the key makes a repeat of
    // the same event and trigger visible as such in the outbox as well.
    m.idempotency_key = "event:" + std::to_string(e.id) + ":" + t.key + ":" + std::to_string(i);
    m.request_hash = "event";
    m.suppressed_because =
        deduped ? std::optional<std::string>("dedupe") : candidates[i].suppressed_because;
    msgs.push_back(std::move(m));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, Outbox::Enqueue(c, now, msgs));
  bool queued = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& why_not = msgs[i].suppressed_because;
    if (!why_not) {
      queued = true;
      if (t.delay_seconds > 0) {
        RETURN_IF_ERROR(c.Execute("UPDATE messages SET next_attempt_at = ? WHERE id = ? AND "
                                  "status = 'queued'",
                                  {now + t.delay_seconds * 1000, ids[i]})
                            .status());
      }
    }
    record(!why_not ? "queued" : *why_not == "dedupe" ? "deduped" : "suppressed", why_not, ids[i]);
  }
  if (queued) {
    *queued_any = true;
    if (customer_id) cache.queued.insert({t.key, *customer_id});
  }
  return Status::Ok();
}

}  // namespace

EventProcessor::EventProcessor(store::Database& db, const Clock& clock, ChannelProviders providers,
                               std::function<void()> kick_dispatcher, EventProcessorOptions options)
    : db_(db),
      clock_(clock),
      providers_(std::move(providers)),
      kick_dispatcher_(std::move(kick_dispatcher)),
      options_(options) {}

EventProcessor::~EventProcessor() { Stop(); }

void EventProcessor::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void EventProcessor::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventProcessor::Kick() {
  {
    std::lock_guard lock(mu_);
    if (kicked_) return;
    kicked_ = true;
  }
  cv_.notify_one();
}

void EventProcessor::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                   [this] { return stopping_ || kicked_; });
      if (stopping_) return;
      kicked_ = false;
    }
    // Drain: a full batch means more may be waiting.
    for (;;) {
      Result<int> n = ProcessBatch();
      if (!n.ok()) {
        LogError("event processing failed", {{"error", n.status().message()}});
        break;
      }
      if (*n == 0) break;
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
  }
}

Result<int> EventProcessor::ProcessBatch() {
  int processed = 0;
  bool queued_any = false;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    processed = 0;
    queued_any = false;
    const int64_t now = clock_.NowMs();
    const bool pg = c.dialect() == store::Dialect::kPostgres;
    ASSIGN_OR_RETURN(auto rows,
                     c.Execute(std::string("SELECT id, type, customer_id, device_id, data, "
                                           "occurred_at, received_at FROM events WHERE "
                                           "processed_at IS NULL ORDER BY id LIMIT ?") +
                                   (pg ? " FOR UPDATE SKIP LOCKED" : ""),
                               {options_.batch}));
    if (rows.rows.empty()) return Status::Ok();
    std::vector<EventRow> events;
    events.reserve(rows.rows.size());
    std::set<std::string> types;
    for (const auto& r : rows.rows) {
      EventRow e;
      e.id = r.Int(0);
      e.type = r.Str(1);
      e.customer_id = r.OptInt(2);
      e.device_id = r.OptInt(3);
      auto d = ParseJsonObject(r.Str(4));
      if (d.ok()) e.data = std::move(*d);
      e.occurred_at = r.Int(5);
      e.received_at = r.Int(6);
      types.insert(e.type);
      events.push_back(std::move(e));
    }
    // Triggers are few: all enabled ones, grouped by event type.
    ASSIGN_OR_RETURN(auto trows,
                     c.Execute(std::string(kTriggerSelect) + " WHERE enabled = 1 ORDER BY key"));
    std::map<std::string, std::vector<std::pair<Trigger, Condition>>> by_type;
    for (const auto& r : trows.rows) {
      ASSIGN_OR_RETURN(Trigger t, TriggerFromRow(r));
      if (!types.count(t.event_type)) continue;
      Condition cond;
      {
        std::lock_guard lock(cache_mu_);
        auto it = conditions_.find(t.key);
        if (it != conditions_.end() && it->second.first == t.version) {
          cond = it->second.second;
        } else {
          Result<Condition> compiled = Condition::Compile(t.condition);
          if (!compiled.ok()) {
            LogWarn("trigger condition does not compile", {{"trigger", t.key}});
            continue;
          }
          cond = *compiled;
          conditions_[t.key] = {t.version, cond};
        }
      }
      by_type[t.event_type].emplace_back(std::move(t), std::move(cond));
    }

    BatchCache cache;
    std::vector<FireOutcome> outcomes;
    std::vector<int64_t> done_ids;
    const auto started = std::chrono::steady_clock::now();
    for (const EventRow& e : events) {
      // A batch holds the write lock: keep it short so event ingestion
      // (which waits for the same lock on SQLite) is not held up for long.
      if (!done_ids.empty() &&
          std::chrono::steady_clock::now() - started > std::chrono::milliseconds(5))
        break;
      done_ids.push_back(e.id);
      auto it = by_type.find(e.type);
      if (it == by_type.end()) continue;
      json::object event_vars{{"id", std::to_string(e.id)},
                              {"type", e.type},
                              {"occurred_at", FormatRfc3339(e.occurred_at)},
                              {"received_at", FormatRfc3339(e.received_at)},
                              {"data", e.data}};
      for (const auto& [t, cond] : it->second) {
        if (!cond.Matches(event_vars)) continue;
        RETURN_IF_ERROR(Fire(c, t, e, event_vars, now, providers_, cache, outcomes, &queued_any));
      }
    }
    if (!outcomes.empty()) {
      store::Params p;
      p.reserve(outcomes.size() * 7);
      for (FireOutcome& o : outcomes) {
        p.emplace_back(o.event_id);
        p.emplace_back(o.trigger_key);
        p.emplace_back(o.customer_id);
        p.emplace_back(o.message_id);
        p.emplace_back(o.outcome);
        p.emplace_back(o.detail);
        p.emplace_back(now);
      }
      RETURN_IF_ERROR(store::InsertMany(c,
                                        "INSERT INTO event_messages (event_id, trigger_key, "
                                        "customer_id, message_id, outcome, detail, created_at) "
                                        "VALUES",
                                        7, std::move(p)));
    }
    store::Params ids;
    for (int64_t id : done_ids) ids.emplace_back(id);
    RETURN_IF_ERROR(store::SelectIn(
        c, "UPDATE events SET processed_at = " + std::to_string(now) + " WHERE id IN ({in})", ids,
        [](const store::Row&) {}));
    processed = static_cast<int>(done_ids.size());
    return Status::Ok();
  }));
  if (queued_any && kick_dispatcher_) kick_dispatcher_();
  return processed;
}

}  // namespace kontor::messaging
