#include "messaging/dispatcher.h"

#include "core/log.h"

namespace kontor::messaging {

Provider* Dispatcher::Providers::Get(const std::string& name, std::string* error) {
  auto it = made_.find(name);
  if (it != made_.end()) return it->second.get();
  Result<std::unique_ptr<Provider>> p = factory_(name);
  if (!p.ok()) {
    *error = p.status().message();
    return nullptr;
  }
  return made_.emplace(name, std::move(*p)).first->second.get();
}

Dispatcher::Dispatcher(store::Database& db, const Clock& clock, ProviderFactory factory,
                       DispatcherOptions options)
    : db_(db),
      clock_(clock),
      factory_(std::move(factory)),
      options_(std::move(options)),
      outbox_(db, options_.node_id) {}

Dispatcher::~Dispatcher() { Stop(); }

Result<int> Dispatcher::RunOnce(const std::string& lane, Providers& providers) {
  auto batch = options_.batch.find(lane);
  const int limit = batch == options_.batch.end() ? 100 : batch->second;
  ASSIGN_OR_RETURN(std::vector<Outbox::Claimed> claimed,
                   outbox_.Claim(lane, clock_.NowMs(), options_.lease_ms, limit));
  if (claimed.empty()) return 0;
  // One call per provider, with that provider's messages in claim order.
  std::vector<Outcome> outcomes(claimed.size());
  std::map<std::string, std::vector<size_t>> by_provider;
  for (size_t i = 0; i < claimed.size(); ++i) by_provider[claimed[i].provider].push_back(i);
  for (const auto& [name, indices] : by_provider) {
    std::string error;
    Provider* p = providers.Get(name, &error);
    if (!p) {
      for (size_t i : indices)
        outcomes[i] = Outcome::Error(Outcome::Kind::kPaused, "provider_unavailable",
                                     "provider " + name + ": " + error);
      LogWarn("messaging provider unavailable", {{"provider", name}, {"error", error}});
      if (options_.report)
        options_.report(name, claimed[indices.front()].out.channel, {outcomes[indices.front()]});
      continue;
    }
    std::vector<Outgoing> out;
    out.reserve(indices.size());
    for (size_t i : indices) out.push_back(claimed[i].out);
    if (options_.rate_limits) {
      const int64_t wait = options_.rate_limits->Take(
          name, static_cast<int64_t>(out.size()), lane != "alert", clock_.NowMs());
      if (wait > 0) Pause(wait);
    }
    std::vector<Outcome> got = p->Send(out);
    if (options_.report) options_.report(name, out.front().channel, got);
    for (size_t k = 0; k < indices.size(); ++k) {
      outcomes[indices[k]] =
          k < got.size() ? std::move(got[k])
                         : Outcome::Error(Outcome::Kind::kRetry, "no_outcome",
                                          "the provider returned no outcome for this message");
    }
  }
  ASSIGN_OR_RETURN(int recorded, outbox_.Record(claimed, outcomes, clock_.NowMs(), options_.retry));
  (void)recorded;
  return static_cast<int>(claimed.size());
}

void Dispatcher::Start() {
  std::lock_guard lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (const char* lane : kLanes) {
    auto it = options_.workers.find(lane);
    const int n = it == options_.workers.end() ? 1 : it->second;
    for (int i = 0; i < n; ++i) threads_.emplace_back([this, lane] { WorkerLoop(lane); });
  }
}

void Dispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Dispatcher::Kick() {
  {
    std::lock_guard lock(mu_);
    ++kicks_;
  }
  cv_.notify_all();
}

void Dispatcher::Pause(int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
}

void Dispatcher::WorkerLoop(std::string lane) {
  Providers providers(factory_);
  uint64_t seen = 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = kicks_;
    }
    Result<int> n = RunOnce(lane, providers);
    if (!n.ok()) {
      LogWarn("messaging dispatch failed", {{"lane", lane}, {"error", n.status().ToString()}});
    }
    if (n.ok() && *n > 0) continue;  // more may be due
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                 [&] { return stopping_ || kicks_ != seen; });
  }
}

}  // namespace kontor::messaging
