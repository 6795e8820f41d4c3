// Campaigns: one message (a template, or A/B variants of it) to an audience
// (a list's members or a saved segment's customers).
//
// States: draft → scheduled → sending ⇄ paused → completed, and cancelled
// from any state before completed; every change audited.
//
// A durable job (kind messaging.campaign, enqueued when the campaign is
// scheduled, run_at its start) does the sending:
// - start: the audience is snapshotted into campaign_recipients by one
//   INSERT ... SELECT, in the transaction that moves the campaign to sending;
// - expansion: the snapshot is walked in customer id order, a chunk per
//   transaction, each chunk's outbox messages (lane bulk, purpose marketing)
//   committed together with the cursor, so that a crash resumes where the
//   last chunk ended, without duplicates or gaps. Consent, preferences and
//   the suppression list, frequency caps and quiet hours are applied per
//   chunk (a few queries per chunk, not per recipient); due times carry the
//   recipient's local time, the rate limit and the quiet hours;
// - completion: once nothing of it is queued or sending, the campaign is
//   completed; the job re-enqueues itself with a growing delay until then.
// Pausing takes the queued messages off the dispatcher's claim index (their
// due time kept in paused_due_at); the claim also skips stragglers of paused
// and cancelled campaigns (see Outbox::Claim).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "jobs/job_service.h"
#include "messaging/messages.h"
#include "messaging/policy.h"
#include "store/database.h"

namespace kontor::messaging {

struct CampaignVariant {
  std::string key, template_key;
  int percent = 0;
};

struct CampaignInput {
  std::string name, channel;
  std::string template_key;  // empty when variants name the templates
  std::optional<std::string> topic;
  std::optional<int64_t> list_id, segment_id;
  std::optional<int64_t> send_at;
  bool local_time = false;
  std::vector<CampaignVariant> variants;
  std::optional<int64_t> rate_limit_per_minute;
  json::object data;
};

struct CampaignCounts {
  int64_t audience = 0, queued = 0, sent = 0, delivered = 0, failed = 0, suppressed = 0,
          cancelled = 0;
};

struct Campaign {
  int64_t id = 0;
  CampaignInput in;
  std::string state;
  int64_t audience_count = 0;
  std::optional<int64_t> start_at;
  int64_t expand_cursor = 0, expanded = 0;
  bool expansion_done = false;
  int64_t version = 0;
  std::string created_by;
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> started_at, completed_at;
  CampaignCounts counts;
};
json::object CampaignToJson(const Campaign& c);

// The variant a customer gets: deterministic in (campaign, customer), so a
// re-expanded chunk or a second look gives the same answer. Index into
// `variants` (which sum to 100 percent).
size_t PickVariant(int64_t campaign_id, int64_t customer_id,
                   const std::vector<CampaignVariant>& variants);

struct CampaignOptions {
  int chunk = 1000;  // recipients per expansion transaction
  int max_attempts = 8;
  MarketingPolicy policy;
  // The completion check after expansion runs this long after, doubling up
  // to the max while messages are still out.
  int64_t check_ms = 1000;
  int64_t check_max_ms = 30000;
};

class CampaignService {
 public:
  static constexpr const char* kJobKind = "messaging.campaign";

  CampaignService(store::Database& db, const Clock& clock, jobs::JobService& jobs,
                  ChannelProviders providers, CampaignOptions options, std::function<void()> kick)
      : db_(db),
        clock_(clock),
        jobs_(jobs),
        providers_(std::move(providers)),
        options_(std::move(options)),
        kick_(std::move(kick)) {}

  Result<Campaign> Create(const audit::Actor& actor, const json::object& body);
  Result<Campaign> Get(int64_t id);
  struct Page {
    std::vector<Campaign> items;  // newest first
    std::optional<int64_t> next;
  };
  Result<Page> List(const std::optional<std::string>& state, std::optional<int64_t> before_id,
                    int limit);
  // Draft or scheduled only; the body's fields replace the campaign's.
  Result<Campaign> Update(const audit::Actor& actor, int64_t id, const json::object& body,
                          std::optional<int64_t> if_match);
  Status Delete(const audit::Actor& actor, int64_t id);  // draft only
  // Wrong states are kFailedPrecondition naming the state (409).
  Result<Campaign> Schedule(const audit::Actor& actor, int64_t id);
  Result<Campaign> Pause(const audit::Actor& actor, int64_t id);
  Result<Campaign> Resume(const audit::Actor& actor, int64_t id);
  Result<Campaign> Cancel(const audit::Actor& actor, int64_t id);

  jobs::JobKind JobKind();

  // One run of the campaign's job: starts it when due, expands what is left
  // and checks completion. Returns when to check again (ms from now), or
  // nullopt when there is nothing more to do for this job. `progress` is
  // called after each chunk (expanded, audience); false stops the run (the
  // job's lease was lost or it was cancelled).
  Result<std::optional<int64_t>> Run(int64_t id,
                                     const std::function<bool(int64_t, int64_t)>& progress = {});

  // Steps of Run, exposed for tests.
  Status Start(int64_t id);
  // Expands one chunk; false when there was nothing left to expand or the
  // campaign is no longer sending.
  Result<bool> ExpandChunk(int64_t id);
  // True when the campaign needs no more checks (completed now, or no longer
  // sending).
  Result<bool> CheckCompletion(int64_t id);

 private:
  Result<Campaign> Transition(const audit::Actor& actor, int64_t id, const std::string& action,
                              std::initializer_list<const char*> from, const std::string& to);
  Status EnqueueJob(store::Connection& c, const Campaign& cp, const std::string& chain, int n,
                    int64_t run_at, const std::string& created_by);
  // Counts the campaign's messages by status. With `may_reuse`, counts up
  // to a second old are reused: counting a million-message campaign reads a
  // million index entries, and every open progress bar asks for it.
  Status LoadCounts(Campaign& cp, bool may_reuse = false);

  store::Database& db_;
  const Clock& clock_;
  jobs::JobService& jobs_;
  const ChannelProviders providers_;
  const CampaignOptions options_;
  std::function<void()> kick_;
  struct RecentCounts {
    std::chrono::steady_clock::time_point at;
    CampaignCounts counts;
  };
  std::mutex counts_mu_;
  std::unordered_map<int64_t, RecentCounts> recent_counts_;
};

}  // namespace kontor::messaging
