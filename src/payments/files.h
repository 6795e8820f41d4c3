// ACH files: built at each cutoff from the payments whose window has come,
// stored with their SHA-256, then PGP-encrypted and delivered to the bank's
// SFTP by a pool of uploaders; and the return / NOC files fetched back from
// the bank's inbox (returns.h applies them).
//
// Crash safety: a file is built in one transaction (the file row, its
// payments' and entries' new state, their trace numbers), so a crash leaves
// either no file or a whole one and a payment is never in two files.
// Delivery keeps the encrypted bytes on the file row before uploading, and
// the uploader never overwrites a delivered name (delivery/sftp.h), so a
// crash between upload and bookkeeping does not upload the file twice.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "payments/payments.h"
#include "payments/registry.h"
#include "store/database.h"

namespace kontor::payments {

struct AchFile {
  int64_t id = 0;
  int64_t originator_id = 0;
  std::string file_date, file_id_modifier, name;
  std::string sha256;
  int64_t entry_count = 0, batch_count = 0, debit_total_cents = 0, credit_total_cents = 0;
  std::string window_kind, status;
  int64_t delivery_attempts = 0;
  std::optional<int64_t> next_attempt_at, delivered_at;
  std::optional<std::string> remote_name, encrypted_sha256, last_error;
  int64_t created_at = 0;
};
json::object AchFileToJson(const AchFile& f);

struct DeliveryOptions {
  int parallel = 16;      // uploads at once (1-200)
  int max_attempts = 10;  // then `failed`, retried only by hand
  int64_t backoff_base_ms = 60000;
  int64_t backoff_max_ms = 3600000;
  int64_t lease_ms = 30000;  // extended while the upload runs
  std::string node_id = "node";
};

class FileService {
 public:
  FileService(store::Database& db, const Clock& clock, Registry& registry, PaymentService& payments,
              DeliveryOptions options = {});
  ~FileService();

  // Builds, per originator (or just `originator_id`), one file from every
  // pending or scheduled payment whose window is at or before `through_ms`
  // (default: now). Payments whose counterparty's prenote failed are failed
  // instead. Returns the files built (none when nothing was due).
  Result<std::vector<AchFile>> BuildDue(const audit::Actor& a,
                                        std::optional<int64_t> originator_id = {},
                                        std::optional<int64_t> through_ms = {});

  Result<AchFile> Get(int64_t id);
  Result<std::string> Content(int64_t id);
  Result<Page<AchFile>> List(std::optional<int64_t> originator_id,
                             std::optional<std::string> status, std::optional<int64_t> before,
                             int limit);

  // Delivers every due file (status built, attempt due), up to
  // options.parallel at once; returns how many were attempted.
  int DeliverDue();
  // Queues a failed (or not yet due) file for another delivery now.
  Result<AchFile> Redeliver(const audit::Actor& a, int64_t id);

  // Submitted payments whose effective date has passed in their
  // originator's time zone become settled (a later return still moves them
  // to returned). Returns how many settled.
  Result<int> SettleDue(const audit::Actor& a);

  // Background delivery: DeliverDue every `poll_ms` and when Kick()ed.
  void Start(int poll_ms = 5000);
  void Stop();
  void Kick();

 private:
  Result<std::optional<AchFile>> BuildOne(store::Connection& c, const audit::Actor& a,
                                          const Originator& o, int64_t through_ms);
  Status DeliverOne(int64_t file_id);
  Result<std::vector<int64_t>> ClaimDue(int max);

  store::Database& db_;
  const Clock& clock_;
  Registry& registry_;
  PaymentService& payments_;
  DeliveryOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, kicked_ = false;
  std::thread loop_;
};

// The name a file is delivered under: "<company id>_<YYMMDD>_<modifier>.ach".
std::string FileName(const Originator& o, const std::string& yymmdd, const std::string& modifier);

}  // namespace kontor::payments
