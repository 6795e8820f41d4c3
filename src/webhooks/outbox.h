// The webhook outbox: fans client-hub changes out into one delivery per
// subscribed endpoint, and delivers them with retries.
//
// Fan-out reads the change feed after a stored cursor (webhook_state) and
// writes the deliveries and the new cursor in one transaction; the cursor
// moves by compare-and-set, so two nodes never fan the same change out twice.
//
// Delivery workers claim a due delivery under a lease (any node, one DB),
// POST it signed (signing.h), and record the attempt only while they still
// own the lease. A failure is retried after an exponential backoff with
// jitter until max_attempts; an endpoint whose attempts fail
// disable_after_failures times in a row is disabled with the reason, and its
// pending deliveries fail. Ordering across deliveries is not guaranteed:
// receivers order by event id (the feed sequence) and drop duplicates by it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/database.h"
#include "webhooks/http_client.h"
#include "webhooks/webhooks.h"

namespace kontor::webhooks {

class Outbox {
 public:
  Outbox(store::Database& db, const Clock& clock, const HttpClient& client, Options options);
  ~Outbox();

  // Fans out up to `max_changes` changes after the cursor. Returns how many
  // were consumed (0 when none, or another node got there first).
  Result<int> FanOut(int max_changes = 5000);
  // Claims one due delivery, sends it and records the outcome. False when
  // nothing was due.
  Result<bool> DeliverNext();
  // Deletes finished deliveries created before `cutoff_ms`; returns how many.
  Result<int64_t> Prune(int64_t cutoff_ms);
  // Delay before the attempt after failed attempt `attempt` (1-based):
  // base * 2^(attempt-1), capped, ±20 % jitter.
  int64_t Backoff(int attempt) const;

  // Worker threads: fan out and deliver until Stop().
  void Start();
  void Stop();
  // Wakes idle workers (a delivery was queued by a request).
  void Kick();

 private:
  struct Claimed;
  Result<std::optional<Claimed>> Claim();
  Status Record(const Claimed& cl, const PostResult& res,
                const std::vector<std::pair<std::string, std::string>>& headers);
  void WorkerLoop(int index);

  store::Database& db_;
  const Clock& clock_;
  const HttpClient& client_;
  const Options options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t kicks_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace kontor::webhooks
