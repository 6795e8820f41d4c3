// One edition's output directory ("hotfolder"), as print shops, mail merge and portal jobs pick
// it up: files appear only complete, and a manifest written last says the edition is ready.
//
// Contract:
//   - Write(name, fill) lets `fill` write into ".<name>.tmp", fsyncs it (HotfolderOptions), and
//     renames it to `name`. A file under its final name is therefore always complete, even
//     after a crash or power loss; a crash leaves at most a temporary behind.
//   - Open takes an exclusive lock (flock on ".kontor-hotfolder.lock") so only one process
//     writes a hotfolder, then deletes stale temporaries. CompletedFiles lists final names, which
//     is what a restarted job skips.
//   - WriteManifest, called last, fsyncs the directory (making the renames durable), then
//     writes manifest.csv the same temp+fsync+rename way and fsyncs the directory again.
//     Consumers wait for manifest.csv; every file it lists is complete and its SHA-256 matches.
// Write and CompletedFiles may be called from several threads at once (different names).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kontor::documents {

struct HotfolderOptions {
  // fsync each file before its rename. Off, a file under its final name is still complete
  // after a crash of the process (the kernel has the data), but not after a power loss before
  // the kernel wrote it back; WriteManifest still syncs the directory's files first (syncfs).
  bool fsync_files = true;
};

struct ManifestEntry {
  std::string customer_id;  // the customer's external id
  std::string email;
  std::string file_name;
  std::string sha256_hex;  // empty: WriteManifest reads the file and computes it
};

class Hotfolder {
 public:
  static constexpr char kManifestName[] = "manifest.csv";

  // Creates `dir` if needed (not its parents). kConflict when another process holds it.
  static Result<Hotfolder> Open(const std::string& dir, HotfolderOptions options = {});
  Hotfolder(Hotfolder&& other) noexcept;
  Hotfolder& operator=(Hotfolder&& other) noexcept;
  ~Hotfolder();

  // `name` must be a plain file name: [A-Za-z0-9._-], 1..200 bytes, not starting with '.', not
  // the manifest's (kValidation naming "file_name" otherwise).
  Status Write(const std::string& name, const std::function<Status(int fd)>& fill) const;
  Status WriteBytes(const std::string& name, std::string_view bytes) const;

  // Final names present (sorted), the manifest excluded.
  Result<std::vector<std::string>> CompletedFiles() const;
  bool HasManifest() const;
  // kFailedPrecondition when an entry's file is missing.
  Status WriteManifest(const std::vector<ManifestEntry>& entries) const;

  const std::string& dir() const { return dir_; }

 private:
  Hotfolder(std::string dir, int dir_fd, int lock_fd, HotfolderOptions options)
      : dir_(std::move(dir)), dir_fd_(dir_fd), lock_fd_(lock_fd), options_(options) {}
  void Close();
  Status WriteAtomically(const std::string& name, const std::function<Status(int fd)>& fill,
                         bool sync) const;

  std::string dir_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  HotfolderOptions options_;
};

}  // namespace kontor::documents
