#include "messaging/events.h"

#include <map>
#include <set>

#include "core/crypto.h"
#include "core/log.h"

namespace kontor::messaging {
namespace {

bool ValidType(std::string_view t) {
  for (char ch : t) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-' || ch == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<EventInput> ParseEvent(const json::object& body,
                              const std::optional<std::string>& idempotency_header) {
  JsonReader r(body);
  EventInput in;
  if (auto t = r.String("type", true, 100, 1)) {
    if (!ValidType(*t)) r.AddError("type", "letters, digits and _ . - : only");
    in.type = *t;
  }
  in.customer = r.String("customer", false, 200, 1);
  in.installation_id = r.String("installation_id", false, 200, 1);
  if (in.customer && in.installation_id)
    r.AddError("installation_id", "give customer or installation_id, not both");
  else if (!in.customer && !in.installation_id && !r.Has("customer") && !r.Has("installation_id"))
    r.AddError("customer", "give customer (external_id) or installation_id");
  if (r.Has("data") && r.IsNull("data")) {
    r.Raw("data");
    in.data = "{}";
  } else if (const json::object* data = r.Object("data", false)) {
    in.data = json::serialize(*data);
    if (in.data.size() > kMaxEventDataBytes)
      r.AddError("data", "at most " + std::to_string(kMaxEventDataBytes) + " bytes of JSON");
  } else {
    in.data = "{}";
  }
  if (auto at = r.String("occurred_at", false, 64, 1)) {
    Result<int64_t> t = ParseRfc3339(*at);
    if (!t.ok())
      r.AddError("occurred_at", "must be an RFC 3339 time");
    else
      in.occurred_at = *t;
  }
  in.idempotency_key = r.String("idempotency_key", false, 255, 1);
  if (!in.idempotency_key && idempotency_header) {
    if (idempotency_header->empty() || idempotency_header->size() > 255)
      r.AddError("Idempotency-Key", "1 to 255 characters");
    else
      in.idempotency_key = idempotency_header;
  }
  RETURN_IF_ERROR(r.Finish());
  if (in.idempotency_key) {
    json::object hashed = body;
    hashed.erase("idempotency_key");
    in.request_hash = Sha256Hex(json::serialize(hashed));
  }
  return in;
}

json::object AcceptedEventToJson(const AcceptedEvent& e) {
  return json::object{{"id", std::to_string(e.id)},
                      {"type", e.type},
                      {"received_at", FormatRfc3339(e.received_at)},
                      {"replayed", e.replayed}};
}

EventWriter::EventWriter(store::Database& db, const Clock& clock, EventWriterOptions options)
    : db_(db), clock_(clock), options_(options) {}

EventWriter::~EventWriter() { Stop(); }

void EventWriter::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void EventWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lock(mu_);
  running_ = false;
}

void EventWriter::Submit(const audit::Actor& actor, EventInput in, Done done) {
  {
    std::unique_lock lock(mu_);
    if (running_ && !stopping_) {
      queue_.push_back({actor, std::move(in), std::move(done)});
      // Only the first waiter wakes the writer; the others join its next batch.
      if (queue_.size() == 1) {
        lock.unlock();
        cv_.notify_one();
      }
      return;
    }
  }
  std::vector<Pending> one;
  one.push_back({actor, std::move(in), std::move(done)});
  WriteBatch(one);
}

Result<AcceptedEvent> EventWriter::Write(const audit::Actor& actor, EventInput in) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Result<AcceptedEvent>> out;
  Submit(actor, std::move(in), [&](Result<AcceptedEvent> r) {
    std::lock_guard lock(m);
    out = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

void EventWriter::Run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything answered
      if (queue_.size() <= options_.max_batch) {
        batch.swap(queue_);
      } else {
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + options_.max_batch));
        queue_.erase(queue_.begin(), queue_.begin() + options_.max_batch);
      }
    }
    WriteBatch(batch);
    batch.clear();
  }
}

void EventWriter::WriteBatch(std::vector<Pending>& batch) {
  const size_t n = batch.size();
  std::vector<std::optional<Result<AcceptedEvent>>> results(n);
  bool stored = false;
  Status st;
  // A unique violation means another node stored one of the keys between
  // our look-up and insert: the batch is worked out again and finds it.
  for (int attempt = 0; attempt < 3; ++attempt) {
    st = db_.Transact([&](store::Connection& c) -> Status {
      const int64_t now = clock_.NowMs();
      for (auto& r : results) r.reset();
      stored = false;
      store::Params customers, installations, keys;
      {
        std::set<std::string> cs, is, ks;
        for (const Pending& p : batch) {
          if (p.in.customer && cs.insert(*p.in.customer).second)
            customers.emplace_back(*p.in.customer);
          if (p.in.installation_id && is.insert(*p.in.installation_id).second)
            installations.emplace_back(*p.in.installation_id);
          if (p.in.idempotency_key && ks.insert(*p.in.idempotency_key).second)
            keys.emplace_back(*p.in.idempotency_key);
        }
      }
      struct CustomerRow {
        int64_t id;
        bool erased;
      };
      std::map<std::string, CustomerRow, std::less<>> customer_ids;
      struct DeviceRow {
        int64_t id;
        std::optional<int64_t> customer_id;
      };
      std::map<std::string, DeviceRow, std::less<>> devices;
      struct Seen {
        int64_t id;
        std::string hash, type;
        int64_t received_at;
      };
      std::map<std::string, Seen, std::less<>> seen;
      if (!customers.empty()) {
        RETURN_IF_ERROR(store::SelectIn(
            c, "SELECT external_id, id, status FROM customers WHERE external_id IN ({in})",
            customers, [&](const store::Row& r) {
              customer_ids[r.Str(0)] = {r.Int(1), r.Str(2) == "erased"};
            }));
      }
      if (!installations.empty()) {
        RETURN_IF_ERROR(store::SelectIn(
            c,
            "SELECT installation_id, id, customer_id FROM devices WHERE installation_id IN ({in})",
            installations, [&](const store::Row& r) {
              devices[r.Str(0)] = {r.Int(1), r.OptInt(2)};
            }));
      }
      if (!keys.empty()) {
        RETURN_IF_ERROR(store::SelectIn(
            c,
            "SELECT idempotency_key, id, request_hash, type, received_at FROM events WHERE "
            "idempotency_key IN ({in})",
            keys, [&](const store::Row& r) {
              seen[r.Str(0)] = {r.Int(1), r.Str(2), r.Str(3), r.Int(4)};
            }));
      }
      store::Params rows, audit_rows;
      std::vector<size_t> inserted;  // batch index of each inserted row, in order
      std::map<std::string, size_t, std::less<>> first_with_key;
      std::vector<std::optional<size_t>> replay_of(n);  // a repeat of an earlier item
      for (size_t i = 0; i < n; ++i) {
        const EventInput& in = batch[i].in;
        std::optional<int64_t> customer_id, device_id;
        if (in.customer) {
          auto it = customer_ids.find(*in.customer);
          if (it == customer_ids.end()) {
            results[i] = Status::Validation({{"customer", "no customer " + *in.customer}});
            continue;
          }
          if (it->second.erased) {
            results[i] = Status::Validation({{"customer", "the customer was erased"}});
            continue;
          }
          customer_id = it->second.id;
        }
        if (in.installation_id) {
          auto it = devices.find(*in.installation_id);
          if (it == devices.end()) {
            results[i] = Status::Validation(
                {{"installation_id", "no device with installation id " + *in.installation_id}});
            continue;
          }
          device_id = it->second.id;
          customer_id = it->second.customer_id;
        }
        if (in.idempotency_key) {
          if (auto s = seen.find(*in.idempotency_key); s != seen.end()) {
            if (s->second.hash != in.request_hash) {
              results[i] = Status::Conflict("idempotency key " + *in.idempotency_key +
                                            " was used for another event");
            } else {
              results[i] = AcceptedEvent{s->second.id, s->second.type, s->second.received_at, true};
            }
            continue;
          }
          auto [f, fresh] = first_with_key.try_emplace(*in.idempotency_key, i);
          if (!fresh) {
            if (batch[f->second].in.request_hash != in.request_hash) {
              results[i] = Status::Conflict("idempotency key " + *in.idempotency_key +
                                            " was used for another event");
            } else {
              replay_of[i] = f->second;
            }
            continue;
          }
        }
        const std::string& source = batch[i].actor.label;
        rows.emplace_back(in.type);
        rows.emplace_back(customer_id);
        rows.emplace_back(device_id);
        rows.emplace_back(in.data);
        rows.emplace_back(in.occurred_at.value_or(now));
        rows.emplace_back(now);
        rows.emplace_back(in.idempotency_key);
        rows.emplace_back(in.idempotency_key ? store::Value(in.request_hash) : store::Value());
        rows.emplace_back(source);
        inserted.push_back(i);
      }
      if (!inserted.empty()) {
        size_t at = 0;
        RETURN_IF_ERROR(store::InsertMany(
            c,
            "INSERT INTO events (type, customer_id, device_id, data, occurred_at, received_at, "
            "idempotency_key, request_hash, source) VALUES",
            9, std::move(rows), "RETURNING id", [&](const store::Row& r) {
              if (at < inserted.size()) {
                const size_t i = inserted[at++];
                results[i] = AcceptedEvent{r.Int(0), batch[i].in.type, now, false};
              }
            }));
        if (at != inserted.size()) return Status::Internal("events insert returned too few ids");
        for (size_t i : inserted) {
          const Pending& p = batch[i];
          audit::Actor actor = p.actor;
          actor.now_ms = now;
          std::string after = "{\"type\":" + json::serialize(json::value(p.in.type));
          if (p.in.customer)
            after += ",\"customer\":" + json::serialize(json::value(*p.in.customer));
          if (p.in.installation_id)
            after += ",\"installation_id\":" + json::serialize(json::value(*p.in.installation_id));
          after += "}";
          audit::AppendRow(actor,
                           {"event.create", "event", std::to_string(results[i]->value().id),
                            std::nullopt, std::move(after)},
                           &audit_rows);
        }
        RETURN_IF_ERROR(audit::RecordRows(c, std::move(audit_rows)));
        stored = true;
      }
      for (size_t i = 0; i < n; ++i) {
        if (replay_of[i]) {
          AcceptedEvent e = results[*replay_of[i]]->value();
          e.replayed = true;
          results[i] = e;
        }
      }
      return Status::Ok();
    });
    if (st.code() != StatusCode::kConflict) break;
  }
  if (!st.ok()) {
    if (st.code() == StatusCode::kInternal)
      LogError("event batch failed",
               {{"events", static_cast<int64_t>(n)}, {"error", st.message()}});
    for (Pending& p : batch) p.done(st);
    return;
  }
  if (stored && on_commit_) on_commit_();
  for (size_t i = 0; i < n; ++i) batch[i].done(std::move(*results[i]));
}

json::object EventToJson(const Event& e) {
  json::object o{{"id", std::to_string(e.id)},
                 {"type", e.type},
                 {"customer", NullOr(e.customer)},
                 {"installation_id", NullOr(e.installation_id)},
                 {"data", e.data},
                 {"occurred_at", FormatRfc3339(e.occurred_at)},
                 {"received_at", FormatRfc3339(e.received_at)},
                 {"idempotency_key", NullOr(e.idempotency_key)},
                 {"source", e.source},
                 {"processed_at", e.processed_at ? json::value(FormatRfc3339(*e.processed_at))
                                                 : json::value(nullptr)}};
  return o;
}

namespace {

constexpr const char* kEventColumns =
    "SELECT e.id, e.type, cu.external_id, d.installation_id, e.data, e.occurred_at, "
    "e.received_at, e.idempotency_key, e.source, e.processed_at FROM events e "
    "LEFT JOIN customers cu ON cu.id = e.customer_id LEFT JOIN devices d ON d.id = e.device_id ";

Event EventFromRow(const store::Row& r) {
  Event e;
  e.id = r.Int(0);
  e.type = r.Str(1);
  e.customer = r.OptStr(2);
  e.installation_id = r.OptStr(3);
  auto data = ParseJsonObject(r.Str(4));
  if (data.ok()) e.data = std::move(*data);
  e.occurred_at = r.Int(5);
  e.received_at = r.Int(6);
  e.idempotency_key = r.OptStr(7);
  e.source = r.Str(8);
  e.processed_at = r.OptInt(9);
  return e;
}

}  // namespace

Result<std::vector<Event>> ListEvents(store::Database& db, const EventFilter& f) {
  std::string sql = std::string(kEventColumns) + "WHERE 1 = 1";
  store::Params p;
  if (f.type) {
    sql += " AND e.type = ?";
    p.emplace_back(*f.type);
  }
  if (f.customer) {
    sql += " AND e.customer_id = (SELECT id FROM customers WHERE external_id = ?)";
    p.emplace_back(*f.customer);
  }
  if (f.before_id) {
    sql += " AND e.id < ?";
    p.emplace_back(*f.before_id);
  }
  sql += " ORDER BY e.id DESC LIMIT ?";
  p.emplace_back(f.limit);
  ASSIGN_OR_RETURN(auto rows, db.Execute(sql, p));
  std::vector<Event> out;
  out.reserve(rows.rows.size());
  for (const auto& r : rows.rows) out.push_back(EventFromRow(r));
  return out;
}

Result<std::optional<Event>> GetEvent(store::Database& db, int64_t id) {
  ASSIGN_OR_RETURN(auto row, db.QueryRow(std::string(kEventColumns) + "WHERE e.id = ?", {id}));
  if (!row) return std::optional<Event>();
  return std::optional<Event>(EventFromRow(*row));
}

Result<std::vector<EventOutcome>> EventOutcomes(store::Database& db, int64_t event_id) {
  ASSIGN_OR_RETURN(auto rows, db.Execute("SELECT trigger_key, outcome, message_id, detail, "
                                         "created_at FROM event_messages WHERE event_id = ? "
                                         "ORDER BY id",
                                         {event_id}));
  std::vector<EventOutcome> out;
  for (const auto& r : rows.rows)
    out.push_back({r.Str(0), r.Str(1), r.OptInt(2), r.OptStr(3), r.Int(4)});
  return out;
}

}  // namespace kontor::messaging
