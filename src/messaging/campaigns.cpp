#include "messaging/campaigns.h"

#include <algorithm>
#include <map>
#include <set>

#include "clients/segment.h"
#include "core/crypto.h"
#include "messaging/preferences.h"
#include "messaging/template_store.h"

namespace kontor::messaging {
namespace {

constexpr const char* kColumns =
    "id, name, channel, template_key, topic, list_id, segment_id, send_at, local_time, variants, "
    "rate_limit_per_minute, data, state, audience_count, start_at, expand_cursor, expanded, "
    "expansion_done, version, created_by, created_at, updated_at, started_at, completed_at";

// The earliest any recipient's local send time can be: UTC+14.
constexpr int64_t kEarliestOffsetMs = 14 * 3600 * 1000;
constexpr size_t kMaxDataBytes = 65536;

Campaign RowToCampaign(const store::Row& r) {
  Campaign c;
  c.id = r.Int(0);
  c.in.name = r.Str(1);
  c.in.channel = r.Str(2);
  c.in.template_key = r.Str(3);
  c.in.topic = r.OptStr(4);
  c.in.list_id = r.OptInt(5);
  c.in.segment_id = r.OptInt(6);
  c.in.send_at = r.OptInt(7);
  c.in.local_time = r.Int(8) != 0;
  if (auto v = json::parse(r.Str(9)); v.is_array()) {
    for (const auto& e : v.get_array()) {
      if (!e.is_object()) continue;
      const auto& o = e.get_object();
      CampaignVariant cv;
      if (auto* k = o.if_contains("key"); k && k->is_string()) cv.key = k->get_string();
      if (auto* t = o.if_contains("template_key"); t && t->is_string())
        cv.template_key = t->get_string();
      if (auto* p = o.if_contains("percent"); p && p->is_int64())
        cv.percent = static_cast<int>(p->get_int64());
      c.in.variants.push_back(std::move(cv));
    }
  }
  c.in.rate_limit_per_minute = r.OptInt(10);
  if (auto d = ParseJsonObject(r.Str(11)); d.ok()) c.in.data = std::move(*d);
  c.state = r.Str(12);
  c.audience_count = r.Int(13);
  c.start_at = r.OptInt(14);
  c.expand_cursor = r.Int(15);
  c.expanded = r.Int(16);
  c.expansion_done = r.Int(17) != 0;
  c.version = r.Int(18);
  c.created_by = r.Str(19);
  c.created_at = r.Int(20);
  c.updated_at = r.Int(21);
  c.started_at = r.OptInt(22);
  c.completed_at = r.OptInt(23);
  return c;
}

json::array VariantsToJson(const std::vector<CampaignVariant>& vs) {
  json::array a;
  for (const auto& v : vs)
    a.push_back({{"key", v.key}, {"template_key", v.template_key}, {"percent", v.percent}});
  return a;
}

// The input as the API shows it: the body a PATCH merges into.
json::object InputToJson(const CampaignInput& in) {
  json::object audience;
  if (in.list_id) audience["list_id"] = *in.list_id;
  if (in.segment_id) audience["segment_id"] = *in.segment_id;
  json::object o{{"name", in.name},
                 {"channel", in.channel},
                 {"template_key",
                  in.template_key.empty() ? json::value(nullptr) : json::value(in.template_key)},
                 {"topic", NullOr(in.topic)},
                 {"audience", std::move(audience)},
                 {"send_at", TimeOrNull(in.send_at)},
                 {"local_time", in.local_time},
                 {"rate_limit_per_minute",
                  in.rate_limit_per_minute ? json::value(*in.rate_limit_per_minute) : nullptr},
                 {"data", in.data}};
  if (!in.variants.empty()) o["variants"] = VariantsToJson(in.variants);
  return o;
}

// Field checks that need no database; references are checked by CheckRefs.
Result<CampaignInput> ParseInput(const json::object& body) {
  JsonReader r(body);
  CampaignInput in;
  in.name = r.String("name", true, 200, 1).value_or("");
  in.channel = r.Enum("channel", true, {"email", "sms", "push"}).value_or("");
  in.template_key = r.String("template_key", false, 100, 1).value_or("");
  in.topic = r.String("topic", false, 100, 1);
  if (const json::object* a = r.Object("audience", true)) {
    JsonReader ar(*a, "audience.");
    in.list_id = ar.Id("list_id", false);
    in.segment_id = ar.Id("segment_id", false);
    if (in.list_id && in.segment_id)
      ar.AddError("audience", "give list_id or segment_id, not both");
    else if (!in.list_id && !in.segment_id && !ar.Has("list_id") && !ar.Has("segment_id"))
      ar.AddError("audience", "needs list_id or segment_id");
    Status st = ar.Finish();
    for (const auto& e : st.fields()) r.AddError(e.field, e.message);
  }
  if (auto s = r.String("send_at", false, 40, 1)) {
    Result<int64_t> t = ParseRfc3339(*s);
    if (!t.ok())
      r.AddError("send_at", "must be an RFC 3339 time");
    else if (*t % 60000 != 0)
      r.AddError("send_at", "must be a whole minute");
    else
      in.send_at = *t;
  }
  in.local_time = r.Bool("local_time", false).value_or(false);
  if (in.local_time && !in.send_at && !r.Has("send_at"))
    r.AddError("local_time", "needs send_at: the wall-clock time to send at");
  if (const json::array* vs = r.Array("variants", false, 26)) {
    int sum = 0;
    std::set<std::string> keys;
    for (size_t i = 0; i < vs->size(); ++i) {
      const std::string at = "variants[" + std::to_string(i) + "]";
      if (!(*vs)[i].is_object()) {
        r.AddError(at, "must be an object {key, template_key, percent}");
        continue;
      }
      JsonReader vr((*vs)[i].get_object(), at + ".");
      CampaignVariant v;
      v.key = vr.String("key", true, 20, 1).value_or("");
      v.template_key = vr.String("template_key", true, 100, 1).value_or("");
      v.percent = static_cast<int>(vr.Int("percent", true, 1, 100).value_or(0));
      if (!v.key.empty() && !keys.insert(v.key).second)
        vr.AddError(vr.FieldName("key"), "is used by another variant");
      sum += v.percent;
      Status st = vr.Finish();
      for (const auto& e : st.fields()) r.AddError(e.field, e.message);
      in.variants.push_back(std::move(v));
    }
    if (vs->empty())
      r.AddError("variants", "give at least one variant, or leave variants out");
    else if (sum != 100)
      r.AddError("variants", "percents must add up to 100, not " + std::to_string(sum));
  }
  if (in.template_key.empty() && in.variants.empty() && !r.Has("template_key"))
    r.AddError("template_key", "is required (or variants)");
  in.rate_limit_per_minute = r.Int("rate_limit_per_minute", false, 1, 10'000'000);
  if (const json::object* d = r.Object("data", false)) {
    if (json::serialize(*d).size() > kMaxDataBytes)
      r.AddError("data", "at most 64 KiB");
    else
      in.data = *d;
  }
  RETURN_IF_ERROR(r.Finish());
  return in;
}

// The templates exist for the channel, the list or segment exists.
Status CheckRefs(store::Connection& c, const CampaignInput& in) {
  std::vector<FieldError> errors;
  auto check_template = [&](const std::string& field, const std::string& key) -> Status {
    ASSIGN_OR_RETURN(auto row,
                     c.QueryRow("SELECT definition FROM message_templates WHERE key = ?", {key}));
    if (!row) {
      errors.push_back({field, "no template " + key});
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(std::optional<SavedTemplate> t, TemplateStore::Load(c, key));
    if (t && t->definition.channel != in.channel)
      errors.push_back({field, "is a " + t->definition.channel + " template, not " + in.channel});
    return Status::Ok();
  };
  if (!in.template_key.empty()) RETURN_IF_ERROR(check_template("template_key", in.template_key));
  for (size_t i = 0; i < in.variants.size(); ++i)
    RETURN_IF_ERROR(check_template("variants[" + std::to_string(i) + "].template_key",
                                   in.variants[i].template_key));
  if (in.list_id) {
    ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT 1 FROM lists WHERE id = ?", {*in.list_id}));
    if (!row) errors.push_back({"audience.list_id", "no list " + std::to_string(*in.list_id)});
  }
  if (in.segment_id) {
    ASSIGN_OR_RETURN(auto row, c.QueryRow("SELECT 1 FROM segments WHERE id = ?", {*in.segment_id}));
    if (!row)
      errors.push_back({"audience.segment_id", "no segment " + std::to_string(*in.segment_id)});
  }
  if (!errors.empty()) return Status::Validation(std::move(errors));
  return Status::Ok();
}

std::string Lock(store::Connection& c) {
  return c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : "";
}

Result<std::optional<Campaign>> Load(store::Connection& c, int64_t id, bool lock) {
  ASSIGN_OR_RETURN(auto row, c.QueryRow(std::string("SELECT ") + kColumns +
                                            " FROM campaigns WHERE id = ?" + (lock ? Lock(c) : ""),
                                        {id}));
  if (!row) return std::optional<Campaign>();
  return std::optional<Campaign>(RowToCampaign(*row));
}

Result<Campaign> LoadOr404(store::Connection& c, int64_t id, bool lock) {
  ASSIGN_OR_RETURN(auto cp, Load(c, id, lock));
  if (!cp) return Status::NotFound("no campaign " + std::to_string(id));
  return std::move(*cp);
}

Status WrongState(const Campaign& cp, const std::string& what) {
  return Status::FailedPrecondition("the campaign is " + cp.state + "; cannot " + what);
}

// When the campaign's job should start it.
int64_t StartTime(const Campaign& cp, int64_t now_ms) {
  if (!cp.in.send_at) return now_ms;
  return cp.in.local_time ? *cp.in.send_at - kEarliestOffsetMs : *cp.in.send_at;
}

json::value AuditAfter(const Campaign& cp) {
  json::object o = InputToJson(cp.in);
  o["state"] = cp.state;
  o["version"] = cp.version;
  return o;
}

}  // namespace

size_t PickVariant(int64_t campaign_id, int64_t customer_id,
                   const std::vector<CampaignVariant>& variants) {
  if (variants.size() <= 1) return 0;
  // FNV-1a over both ids: stable across builds and platforms.
  uint64_t h = 1469598103934665603ull;
  for (int64_t v : {campaign_id, customer_id}) {
    for (int i = 0; i < 8; ++i) {
      h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  const int bucket = static_cast<int>(h % 100);
  int upto = 0;
  for (size_t i = 0; i < variants.size(); ++i) {
    upto += variants[i].percent;
    if (bucket < upto) return i;
  }
  return variants.size() - 1;
}

json::object CampaignToJson(const Campaign& c) {
  json::object audience;
  if (c.in.list_id) audience["list_id"] = *c.in.list_id;
  if (c.in.segment_id) audience["segment_id"] = *c.in.segment_id;
  return {{"id", c.id},
          {"name", c.in.name},
          {"channel", c.in.channel},
          {"template_key",
           c.in.template_key.empty() ? json::value(nullptr) : json::value(c.in.template_key)},
          {"topic", NullOr(c.in.topic)},
          {"audience", std::move(audience)},
          {"send_at", TimeOrNull(c.in.send_at)},
          {"local_time", c.in.local_time},
          {"variants", VariantsToJson(c.in.variants)},
          {"rate_limit_per_minute",
           c.in.rate_limit_per_minute ? json::value(*c.in.rate_limit_per_minute) : nullptr},
          {"data", c.in.data},
          {"state", c.state},
          {"counts",
           {{"audience", c.counts.audience},
            {"queued", c.counts.queued},
            {"sent", c.counts.sent},
            {"delivered", c.counts.delivered},
            {"failed", c.counts.failed},
            {"suppressed", c.counts.suppressed},
            {"cancelled", c.counts.cancelled}}},
          {"version", c.version},
          {"created_by", c.created_by},
          {"created_at", FormatRfc3339(c.created_at)},
          {"updated_at", FormatRfc3339(c.updated_at)},
          {"started_at", TimeOrNull(c.started_at)},
          {"completed_at", TimeOrNull(c.completed_at)}};
}

Status CampaignService::LoadCounts(Campaign& cp, bool may_reuse) {
  const auto now = std::chrono::steady_clock::now();
  if (may_reuse) {
    std::lock_guard lock(counts_mu_);
    auto it = recent_counts_.find(cp.id);
    if (it != recent_counts_.end() && now - it->second.at < std::chrono::seconds(1)) {
      cp.counts = it->second.counts;
      cp.counts.audience = cp.audience_count;
      return Status::Ok();
    }
  }
  cp.counts = CampaignCounts{};
  cp.counts.audience = cp.audience_count;
  ASSIGN_OR_RETURN(auto rows, db_.Execute("SELECT status, COUNT(*) FROM messages WHERE "
                                          "campaign_id = ? GROUP BY status",
                                          {cp.id}));
  for (const auto& r : rows.rows) {
    const std::string& s = r.Str(0);
    const int64_t n = r.Int(1);
    if (s == "queued" || s == "sending")
      cp.counts.queued += n;
    else if (s == "sent")
      cp.counts.sent += n;
    else if (s == "delivered")
      cp.counts.delivered += n;
    else if (s == "failed")
      cp.counts.failed += n;
    else if (s == "suppressed")
      cp.counts.suppressed += n;
    else if (s == "cancelled")
      cp.counts.cancelled += n;
  }
  std::lock_guard lock(counts_mu_);
  if (cp.state == "sending") {
    if (recent_counts_.size() > 1000) recent_counts_.clear();
    recent_counts_[cp.id] = {now, cp.counts};
  } else {
    recent_counts_.erase(cp.id);
  }
  return Status::Ok();
}

Result<Campaign> CampaignService::Create(const audit::Actor& actor, const json::object& body) {
  ASSIGN_OR_RETURN(CampaignInput in, ParseInput(body));
  Campaign out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    RETURN_IF_ERROR(CheckRefs(c, in));
    const int64_t now = actor.now_ms;
    ASSIGN_OR_RETURN(
        auto row,
        c.QueryRow("INSERT INTO campaigns (name, channel, template_key, topic, list_id, "
                   "segment_id, send_at, local_time, variants, rate_limit_per_minute, data, state, "
                   "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "'draft', ?, ?, ?) RETURNING id",
                   {in.name, in.channel, in.template_key, in.topic, in.list_id, in.segment_id,
                    in.send_at, in.local_time ? 1 : 0, json::serialize(VariantsToJson(in.variants)),
                    in.rate_limit_per_minute, json::serialize(in.data),
                    actor.label.empty() ? actor.id : actor.label, now, now}));
    ASSIGN_OR_RETURN(out, LoadOr404(c, row->Int(0), false));
    return audit::Record(
        c, actor,
        {"campaign.create", "campaign", std::to_string(out.id), std::nullopt, AuditAfter(out)});
  }));
  RETURN_IF_ERROR(LoadCounts(out));
  return out;
}

Result<Campaign> CampaignService::Get(int64_t id) {
  Campaign out;
  RETURN_IF_ERROR(db_.WithConnection([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(out, LoadOr404(c, id, false));
    return Status::Ok();
  }));
  RETURN_IF_ERROR(LoadCounts(out, out.state == "sending"));
  return out;
}

Result<CampaignService::Page> CampaignService::List(const std::optional<std::string>& state,
                                                    std::optional<int64_t> before_id, int limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM campaigns WHERE 1 = 1";
  store::Params p;
  if (state) {
    sql += " AND state = ?";
    p.emplace_back(*state);
  }
  if (before_id) {
    sql += " AND id < ?";
    p.emplace_back(*before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  p.emplace_back(static_cast<int64_t>(limit));
  ASSIGN_OR_RETURN(auto rows, db_.Execute(sql, p));
  Page page;
  for (const auto& r : rows.rows) {
    page.items.push_back(RowToCampaign(r));
    RETURN_IF_ERROR(LoadCounts(page.items.back(), page.items.back().state == "sending"));
  }
  if (static_cast<int>(page.items.size()) == limit && !page.items.empty())
    page.next = page.items.back().id;
  return page;
}

Status CampaignService::EnqueueJob(store::Connection& c, const Campaign& cp,
                                   const std::string& chain, int n, int64_t run_at,
                                   const std::string& created_by) {
  jobs::EnqueueRequest r;
  r.kind = kJobKind;
  r.payload = {{"campaign_id", cp.id}, {"chain", chain}, {"n", n}};
  r.run_at = run_at;
  r.dedupe_key = "campaign:" + std::to_string(cp.id) + ":" + chain + ":" + std::to_string(n);
  r.created_by = created_by;
  return jobs_.Enqueue(c, r).status();
}

Result<Campaign> CampaignService::Update(const audit::Actor& actor, int64_t id,
                                         const json::object& body,
                                         std::optional<int64_t> if_match) {
  Campaign out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Campaign before, LoadOr404(c, id, true));
    if (if_match && *if_match != before.version)
      return Status::Conflict("campaign " + std::to_string(id) + " is at version " +
                              std::to_string(before.version));
    if (before.state != "draft" && before.state != "scheduled")
      return WrongState(before, "edit it");
    json::object merged = InputToJson(before.in);
    for (const auto& kv : body) merged[kv.key()] = kv.value();
    // A body that gives variants or a template replaces the other choice.
    if (body.contains("variants") && !body.contains("template_key")) merged.erase("template_key");
    if (body.contains("template_key") && !body.contains("variants")) merged.erase("variants");
    ASSIGN_OR_RETURN(CampaignInput in, ParseInput(merged));
    RETURN_IF_ERROR(CheckRefs(c, in));
    RETURN_IF_ERROR(
        c.Execute("UPDATE campaigns SET name = ?, channel = ?, template_key = ?, topic = ?, "
                  "list_id = ?, segment_id = ?, send_at = ?, local_time = ?, variants = ?, "
                  "rate_limit_per_minute = ?, data = ?, version = version + 1, updated_at = ? "
                  "WHERE id = ?",
                  {in.name, in.channel, in.template_key, in.topic, in.list_id, in.segment_id,
                   in.send_at, in.local_time ? 1 : 0, json::serialize(VariantsToJson(in.variants)),
                   in.rate_limit_per_minute, json::serialize(in.data), actor.now_ms, id})
            .status());
    ASSIGN_OR_RETURN(out, LoadOr404(c, id, false));
    // A scheduled campaign's new start gets its own job; the old one finds
    // the campaign not yet due and ends.
    if (out.state == "scheduled")
      RETURN_IF_ERROR(EnqueueJob(c, out, "s" + std::to_string(out.version), 0,
                                 StartTime(out, actor.now_ms), out.created_by));
    return audit::Record(
        c, actor,
        {"campaign.update", "campaign", std::to_string(id), AuditAfter(before), AuditAfter(out)});
  }));
  RETURN_IF_ERROR(LoadCounts(out));
  return out;
}

Status CampaignService::Delete(const audit::Actor& actor, int64_t id) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Campaign before, LoadOr404(c, id, true));
    if (before.state != "draft") return WrongState(before, "delete it (cancel it instead)");
    RETURN_IF_ERROR(c.Execute("DELETE FROM campaigns WHERE id = ?", {id}).status());
    return audit::Record(
        c, actor,
        {"campaign.delete", "campaign", std::to_string(id), AuditAfter(before), std::nullopt});
  });
}

Result<Campaign> CampaignService::Transition(const audit::Actor& actor, int64_t id,
                                             const std::string& action,
                                             std::initializer_list<const char*> from,
                                             const std::string& to) {
  Campaign out;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Campaign before, LoadOr404(c, id, true));
    if (std::none_of(from.begin(), from.end(), [&](const char* s) { return before.state == s; }))
      return WrongState(before, action + " it");
    const int64_t now = actor.now_ms;
    if (action == "schedule") RETURN_IF_ERROR(CheckRefs(c, before.in));
    RETURN_IF_ERROR(c.Execute("UPDATE campaigns SET state = ?, version = version + 1, "
                              "updated_at = ?, completed_at = ? WHERE id = ?",
                              {to, now, to == "cancelled" ? store::Value(now) : store::Value(), id})
                        .status());
    if (action == "pause") {
      RETURN_IF_ERROR(c.Execute("UPDATE messages SET paused_due_at = next_attempt_at, "
                                "next_attempt_at = NULL, updated_at = ? WHERE campaign_id = ? AND "
                                "status = 'queued' AND next_attempt_at IS NOT NULL",
                                {now, id})
                          .status());
    } else if (action == "resume") {
      RETURN_IF_ERROR(c.Execute("UPDATE messages SET next_attempt_at = CASE WHEN paused_due_at IS "
                                "NULL OR paused_due_at < ? THEN ? ELSE paused_due_at END, "
                                "paused_due_at = NULL, updated_at = ? WHERE campaign_id = ? AND "
                                "status = 'queued' AND next_attempt_at IS NULL",
                                {now, now, now, id})
                          .status());
    } else if (action == "cancel") {
      RETURN_IF_ERROR(
          c.Execute("UPDATE messages SET status = 'cancelled', next_attempt_at = NULL, "
                    "paused_due_at = NULL, error_code = 'cancelled', error_message = "
                    "'the campaign was cancelled', updated_at = ? WHERE campaign_id = ? "
                    "AND status = 'queued'",
                    {now, id})
              .status());
    }
    ASSIGN_OR_RETURN(out, LoadOr404(c, id, false));
    if (action == "schedule")
      RETURN_IF_ERROR(EnqueueJob(c, out, "s" + std::to_string(out.version), 0, StartTime(out, now),
                                 out.created_by));
    if (action == "resume")
      RETURN_IF_ERROR(
          EnqueueJob(c, out, "r" + std::to_string(out.version), 0, now, out.created_by));
    return audit::Record(c, actor,
                         {"campaign." + action, "campaign", std::to_string(id),
                          json::object{{"state", before.state}}, AuditAfter(out)});
  }));
  if (action == "resume" && kick_) kick_();
  RETURN_IF_ERROR(LoadCounts(out));
  return out;
}

Result<Campaign> CampaignService::Schedule(const audit::Actor& actor, int64_t id) {
  return Transition(actor, id, "schedule", {"draft"}, "scheduled");
}
Result<Campaign> CampaignService::Pause(const audit::Actor& actor, int64_t id) {
  return Transition(actor, id, "pause", {"sending"}, "paused");
}
Result<Campaign> CampaignService::Resume(const audit::Actor& actor, int64_t id) {
  return Transition(actor, id, "resume", {"paused"}, "sending");
}
Result<Campaign> CampaignService::Cancel(const audit::Actor& actor, int64_t id) {
  return Transition(actor, id, "cancel", {"draft", "scheduled", "sending", "paused"}, "cancelled");
}

Status CampaignService::Start(int64_t id) {
  return db_.Transact([&](store::Connection& c) -> Status {
    ASSIGN_OR_RETURN(Campaign cp, LoadOr404(c, id, true));
    if (cp.state != "scheduled") return Status::Ok();  // started already, or cancelled
    const int64_t now = clock_.NowMs();
    json::value rule;
    std::string field = cp.in.list_id ? "audience.list_id" : "audience.segment_id";
    ASSIGN_OR_RETURN(auto key, c.QueryRow(cp.in.list_id ? "SELECT key FROM lists WHERE id = ?"
                                                        : "SELECT key FROM segments WHERE id = ?",
                                          {cp.in.list_id ? *cp.in.list_id : *cp.in.segment_id}));
    if (!key) return Status::Validation({{field, "the audience no longer exists"}});
    rule = cp.in.list_id ? json::value{{"member_of", key->Str(0)}}
                         : json::value{{"segment", key->Str(0)}};
    clients::DbSegmentResolver resolver(c);
    ASSIGN_OR_RETURN(clients::CompiledSegment seg,
                     clients::CompileSegment(rule, c.dialect(), now, resolver));
    store::Params p{id};
    p.insert(p.end(), seg.params.begin(), seg.params.end());
    // One statement for the whole audience: customers in id order, so the
    // recipients' primary key grows at its end.
    ASSIGN_OR_RETURN(
        auto ins,
        c.Execute("INSERT INTO campaign_recipients (campaign_id, customer_id) SELECT "
                  "CAST(? AS BIGINT), c.id FROM customers c WHERE (" +
                      seg.where + ") AND " + std::string(clients::kNotErased) + " ORDER BY c.id",
                  p));
    const int64_t start = std::max(now, cp.in.send_at && !cp.in.local_time ? *cp.in.send_at : now);
    RETURN_IF_ERROR(c.Execute("UPDATE campaigns SET state = 'sending', audience_count = ?, "
                              "start_at = ?, started_at = ?, version = version + 1, updated_at = ? "
                              "WHERE id = ?",
                              {ins.affected, start, now, now, id})
                        .status());
    return audit::Record(c, audit::Actor::System("campaigns", now),
                         {"campaign.start", "campaign", std::to_string(id), std::nullopt,
                          json::object{{"state", "sending"}, {"audience", ins.affected}}});
  });
}

Result<bool> CampaignService::ExpandChunk(int64_t id) {
  bool more = false;
  int queued = 0;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    more = false;
    queued = 0;
    const int64_t now = clock_.NowMs();
    ASSIGN_OR_RETURN(Campaign cp, LoadOr404(c, id, true));
    if (cp.state != "sending" || cp.expansion_done) return Status::Ok();
    ASSIGN_OR_RETURN(
        auto rows,
        c.Execute(
            std::string("SELECT c.id, c.status, c.email, c.phone, c.language, c.time_zone, ") +
                kCustomerVariableColumns +
                " FROM campaign_recipients r JOIN customers c ON c.id = r.customer_id "
                "WHERE r.campaign_id = ? AND r.customer_id > ? ORDER BY r.customer_id "
                "LIMIT ?",
            {id, cp.expand_cursor, static_cast<int64_t>(options_.chunk)}));
    if (rows.rows.empty()) {
      return c
          .Execute("UPDATE campaigns SET expansion_done = 1, updated_at = ? WHERE id = ?",
                   {now, id})
          .status();
    }
    more = true;
    // The templates, parsed once for the chunk (a few per campaign).
    std::map<std::string, MessageTemplate> templates;
    std::vector<std::string> keys;
    if (cp.in.variants.empty()) keys.push_back(cp.in.template_key);
    for (const auto& v : cp.in.variants) keys.push_back(v.template_key);
    for (const std::string& k : keys) {
      if (templates.count(k)) continue;
      ASSIGN_OR_RETURN(std::optional<SavedTemplate> t, TemplateStore::Load(c, k));
      if (t) templates.emplace(k, std::move(t->definition));
    }
    std::vector<int64_t> ids;
    ids.reserve(rows.rows.size());
    for (const auto& r : rows.rows) ids.push_back(r.Int(0));
    const std::string& channel = cp.in.channel;
    ASSIGN_OR_RETURN(std::set<int64_t> consents, MarketingConsents(c, channel, ids));
    std::map<int64_t, std::vector<ActiveDevice>> devices;
    if (channel == "push") {
      ASSIGN_OR_RETURN(devices, ActiveDevices(c, ids));
    }
    std::set<int64_t> capped;
    if (auto cap = options_.policy.caps.find(channel); cap != options_.policy.caps.end()) {
      ASSIGN_OR_RETURN(capped, OverFrequencyCap(c, channel, cap->second, ids, now, id));
    }
    const int64_t start = cp.start_at.value_or(now);
    const std::string hash = Sha256Hex("campaign:" + std::to_string(id));
    std::vector<NewMessage> msgs;
    std::vector<size_t> row_of;  // msgs[i] is for rows.rows[row_of[i]]
    for (size_t i = 0; i < rows.rows.size(); ++i) {
      const store::Row& r = rows.rows[i];
      NewMessage base;
      base.lane = "bulk";
      base.purpose = "marketing";
      base.channel = channel;
      base.provider = providers_.For(channel);
      base.customer_id = r.Int(0);
      base.campaign_id = id;
      base.language = r.Str(4);
      base.request_hash = hash;
      base.max_attempts = options_.max_attempts;
      base.template_key =
          cp.in.variants.empty()
              ? cp.in.template_key
              : cp.in.variants[PickVariant(id, r.Int(0), cp.in.variants)].template_key;
      // Due: the recipient's local time, the rate limit's slot, then quiet hours.
      const date::time_zone* zone = ZoneOrUtc(r.Str(5));
      int64_t due = start;
      if (cp.in.local_time && cp.in.send_at)
        due = std::max(now, LocalToInstantMs(zone, *cp.in.send_at));
      if (cp.in.rate_limit_per_minute)
        due = std::max(due, start + (cp.expanded + static_cast<int64_t>(i)) * 60000 /
                                        *cp.in.rate_limit_per_minute);
      base.due_at = DeferForQuietHours(options_.policy.quiet, zone, due);
      if (r.Str(1) == "erased")
        base.suppressed_because = "the customer was erased";
      else if (!consents.count(r.Int(0)))
        base.suppressed_because = "no " + channel + " consent for marketing";
      else if (capped.count(r.Int(0)))
        base.suppressed_because = "frequency_cap";
      if (channel == "push") {
        auto d = devices.find(r.Int(0));
        if (d == devices.end()) {
          if (!base.suppressed_because) base.suppressed_because = "no active device";
          msgs.push_back(base);
          row_of.push_back(i);
        } else {
          for (const ActiveDevice& dev : d->second) {
            NewMessage m = base;
            m.device_id = dev.id;
            m.recipient = dev.token;
            m.provider = providers_.ForDevice(channel, dev.platform);
            msgs.push_back(std::move(m));
            row_of.push_back(i);
          }
        }
      } else {
        base.recipient = r.Str(channel == "email" ? 2 : 3);
        if (base.recipient.empty() && !base.suppressed_because)
          base.suppressed_because = channel == "email" ? "no email address" : "no phone number";
        msgs.push_back(std::move(base));
        row_of.push_back(i);
      }
    }
    // Topic opt-outs and the suppression list, for the whole chunk at once.
    {
      std::vector<Candidate> cands;
      cands.reserve(msgs.size());
      for (const NewMessage& m : msgs)
        cands.push_back({m.customer_id, m.channel, m.recipient, m.suppressed_because});
      RETURN_IF_ERROR(ApplyPreferences(c, cp.in.topic.value_or(""), cands));
      for (size_t i = 0; i < msgs.size(); ++i)
        msgs[i].suppressed_because = cands[i].suppressed_because;
    }
    // Render once per customer and variant; a customer's devices share it.
    json::object campaign_vars = cp.in.data;
    size_t rendered_row = SIZE_MAX;
    Result<RenderedMessage> rendered = Status::Internal("not rendered");
    for (size_t i = 0; i < msgs.size(); ++i) {
      NewMessage& m = msgs[i];
      if (m.suppressed_because) continue;
      if (row_of[i] != rendered_row) {
        rendered_row = row_of[i];
        auto t = templates.find(m.template_key);
        if (t == templates.end()) {
          rendered = Status::Validation({{"template", "no template " + m.template_key}});
        } else {
          json::object vars{{"customer", CustomerVariablesFromRow(rows.rows[row_of[i]], 6)},
                            {"campaign", campaign_vars}};
          rendered = Render(t->second, m.language, vars);
        }
      }
      if (!rendered.ok()) {
        std::string why = rendered.status().message();
        for (const auto& e : rendered.status().fields()) why += " " + e.field + ": " + e.message;
        m.suppressed_because = "template: " + why;
        continue;
      }
      m.content = RenderedToContent(*rendered);
      m.language = rendered->language;
      if (const PreferenceLinks* l = ProcessPreferenceLinks()) l->AddListUnsubscribe(m, now);
      ++queued;
    }
    RETURN_IF_ERROR(Outbox::EnqueueBulk(c, now, msgs));
    return c
        .Execute(
            "UPDATE campaigns SET expand_cursor = ?, expanded = expanded + ?, "
            "updated_at = ? WHERE id = ?",
            {ids.back(), static_cast<int64_t>(ids.size()), now, id})
        .status();
  }));
  {
    // What a reader is shown next includes this chunk.
    std::lock_guard lock(counts_mu_);
    recent_counts_.erase(id);
  }
  if (queued > 0 && kick_) kick_();
  return more;
}

Result<bool> CampaignService::CheckCompletion(int64_t id) {
  bool finished = true;
  RETURN_IF_ERROR(db_.Transact([&](store::Connection& c) -> Status {
    finished = true;
    ASSIGN_OR_RETURN(Campaign cp, LoadOr404(c, id, true));
    if (cp.state != "sending") return Status::Ok();
    if (!cp.expansion_done) {
      finished = false;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(auto open, c.QueryRow("SELECT 1 FROM messages WHERE campaign_id = ? AND "
                                           "status IN ('queued', 'sending') LIMIT 1",
                                           {id}));
    if (open) {
      finished = false;
      return Status::Ok();
    }
    const int64_t now = clock_.NowMs();
    RETURN_IF_ERROR(c.Execute("UPDATE campaigns SET state = 'completed', completed_at = ?, "
                              "version = version + 1, updated_at = ? WHERE id = ?",
                              {now, now, id})
                        .status());
    return audit::Record(
        c, audit::Actor::System("campaigns", now),
        {"campaign.complete", "campaign", std::to_string(id), json::object{{"state", "sending"}},
         json::object{{"state", "completed"}}});
  }));
  return finished;
}

Result<std::optional<int64_t>> CampaignService::Run(
    int64_t id, const std::function<bool(int64_t, int64_t)>& progress) {
  ASSIGN_OR_RETURN(Campaign cp, Get(id));
  if (cp.state == "scheduled") {
    // Not due: the campaign was moved later, and its new job will start it.
    if (clock_.NowMs() < StartTime(cp, clock_.NowMs())) return std::optional<int64_t>();
    RETURN_IF_ERROR(Start(id));
    ASSIGN_OR_RETURN(cp, Get(id));
  }
  if (cp.state != "sending") return std::optional<int64_t>();
  int64_t expanded = cp.expanded;
  while (true) {
    ASSIGN_OR_RETURN(bool more, ExpandChunk(id));
    if (!more) break;
    expanded = std::min(cp.audience_count, expanded + options_.chunk);
    if (progress && !progress(expanded, cp.audience_count))
      return Status::Unavailable("the campaign's job stopped");
  }
  ASSIGN_OR_RETURN(bool finished, CheckCompletion(id));
  if (finished) return std::optional<int64_t>();
  return std::optional<int64_t>(options_.check_ms);
}

jobs::JobKind CampaignService::JobKind() {
  jobs::JobKind k;
  k.kind = kJobKind;
  k.description =
      "Sends a campaign: snapshots its audience, queues its messages chunk by chunk "
      "and checks until every message is out";
  k.max_attempts = 20;
  k.validate = [](const json::object& payload) -> Status {
    JsonReader r(payload, "payload.");
    r.Int("campaign_id", true, 1, INT64_MAX);
    r.String("chain", true, 40, 1);
    r.Int("n", true, 0, 1000000);
    return r.Finish();
  };
  k.handler = [this](jobs::JobContext& ctx) -> Status {
    JsonReader r(ctx.payload(), "payload.");
    const int64_t id = r.Int("campaign_id", true, 1, INT64_MAX).value_or(0);
    const std::string chain = r.String("chain", true, 40, 1).value_or("");
    const int n = static_cast<int>(r.Int("n", true, 0, 1000000).value_or(0));
    RETURN_IF_ERROR(r.Finish());
    ASSIGN_OR_RETURN(std::optional<int64_t> next, Run(id, [&ctx](int64_t done, int64_t total) {
                       return ctx.SetProgress(done, total).ok() && !ctx.CancelRequested();
                     }));
    if (!next) return Status::Ok();
    // Checks back off while the dispatcher works through the messages.
    const int64_t delay = std::min(options_.check_max_ms, *next << std::min(n, 20));
    const int64_t now = ctx.clock().NowMs();
    return db_.Transact([&](store::Connection& c) -> Status {
      Campaign cp;
      cp.id = id;
      return EnqueueJob(c, cp, chain, n + 1, now + delay, "campaigns");
    });
  };
  return k;
}

}  // namespace kontor::messaging
