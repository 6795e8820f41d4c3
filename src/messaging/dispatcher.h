// Dispatcher workers: per lane, threads that claim batches from the outbox,
// hand them to the providers the messages name, and record the outcomes.
// Lanes have their own threads, so a bulk campaign never delays an alert.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "messaging/outbox.h"
#include "messaging/provider.h"
#include "messaging/rate_limit.h"
#include "store/database.h"

namespace kontor::messaging {

// Makes a provider by its configured name ("smtp", "capture", ...). Each
// worker makes its own, so a provider instance is used by one thread.
using ProviderFactory = std::function<Result<std::unique_ptr<Provider>>(const std::string& name)>;

struct DispatcherOptions {
  std::string node_id;
  std::map<std::string, int> workers = {{"alert", 2}, {"transactional", 2}, {"bulk", 2}};
  std::map<std::string, int> batch = {{"alert", 50}, {"transactional", 100}, {"bulk", 500}};
  int64_t lease_ms = 120000;  // longer than a batch takes; a crashed worker's batch waits this long
  int poll_ms = 500;
  Outbox::Retry retry;
  // Per-provider token buckets shared by every worker (see rate_limit.h);
  // null: no limits.
  std::shared_ptr<ProviderRateLimits> rate_limits;
  // Told every provider call's outcomes (provider health); may be empty.
  std::function<void(const std::string& provider, const std::string& channel,
                     const std::vector<Outcome>& outcomes)>
      report;
};

class Dispatcher {
 public:
  Dispatcher(store::Database& db, const Clock& clock, ProviderFactory factory,
             DispatcherOptions options);
  ~Dispatcher();

  // The providers one worker uses, made on first use.
  class Providers {
   public:
    explicit Providers(const ProviderFactory& factory) : factory_(factory) {}
    // nullptr with `error` set when the factory fails.
    Provider* Get(const std::string& name, std::string* error);

   private:
    const ProviderFactory& factory_;
    std::map<std::string, std::unique_ptr<Provider>> made_;
  };

  // One round on the calling thread: claims a batch of `lane`, sends it and
  // records the outcomes. Returns how many messages it handled (0: none due).
  Result<int> RunOnce(const std::string& lane, Providers& providers);

  void Start();
  void Stop();
  // Wakes idle workers: messages were queued.
  void Kick();

 private:
  void WorkerLoop(std::string lane);
  // Waits for a rate limit's tokens; returns early when stopping.
  void Pause(int64_t ms);

  store::Database& db_;
  const Clock& clock_;
  ProviderFactory factory_;
  const DispatcherOptions options_;
  Outbox outbox_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t kicks_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace kontor::messaging
