#include "documents/hotfolder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/crypto.h"

namespace kontor::documents {
namespace {

constexpr char kLockName[] = ".kontor-hotfolder.lock";
constexpr size_t kMaxNameBytes = 200;

Status Errno(const std::string& what) {
  return Status::Internal(what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("write");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

bool IsTemporary(std::string_view name) {
  return name.size() > 5 && name[0] == '.' && name.substr(name.size() - 4) == ".tmp";
}

Status CheckName(const std::string& name) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (name.empty() || name.size() > kMaxNameBytes || !chars_ok || name[0] == '.' ||
      name == Hotfolder::kManifestName) {
    return Status::Validation(
        {{"file_name", "must be 1 to 200 of A-Z a-z 0-9 . _ -, not start with '.', and not be " +
                           std::string(Hotfolder::kManifestName)}});
  }
  return Status::Ok();
}

std::string CsvField(std::string_view field) {
  const bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace

Result<Hotfolder> Hotfolder::Open(const std::string& dir, HotfolderOptions options) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Errno("creating " + dir);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("opening " + dir);
  const int lock_fd = ::openat(dir_fd, kLockName, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) {
    Status s = Errno("creating the lock in " + dir);
    ::close(dir_fd);
    return s;
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    Status s = busy ? Status::Conflict("another process is writing the hotfolder " + dir)
                    : Errno("locking " + dir);
    ::close(lock_fd);
    ::close(dir_fd);
    return s;
  }
  Hotfolder folder(dir, dir_fd, lock_fd, options);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (IsTemporary(name) && ::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return Errno("removing the stale " + name);
    }
  }
  if (ec) return Status::Internal("listing " + dir + ": " + ec.message());
  return folder;
}

Hotfolder::Hotfolder(Hotfolder&& other) noexcept
    : dir_(std::move(other.dir_)),
      dir_fd_(std::exchange(other.dir_fd_, -1)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      options_(other.options_) {}

Hotfolder& Hotfolder::operator=(Hotfolder&& other) noexcept {
  if (this != &other) {
    Close();
    dir_ = std::move(other.dir_);
    dir_fd_ = std::exchange(other.dir_fd_, -1);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    options_ = other.options_;
  }
  return *this;
}

Hotfolder::~Hotfolder() { Close(); }

void Hotfolder::Close() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  if (dir_fd_ >= 0) ::close(dir_fd_);
  lock_fd_ = dir_fd_ = -1;
}

Status Hotfolder::Write(const std::string& name, const std::function<Status(int fd)>& fill) const {
  RETURN_IF_ERROR(CheckName(name));
  return WriteAtomically(name, fill, options_.fsync_files);
}

Status Hotfolder::WriteAtomically(const std::string& name,
                                  const std::function<Status(int fd)>& fill, bool sync) const {
  const std::string temp = "." + name + ".tmp";
  const int fd = ::openat(dir_fd_, temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("creating " + dir_ + "/" + temp);
  Status status = fill(fd);
  if (status.ok() && sync && ::fsync(fd) != 0) status = Errno("fsync of " + temp);
  if (::close(fd) != 0 && status.ok()) status = Errno("closing " + temp);
  if (status.ok() && ::renameat(dir_fd_, temp.c_str(), dir_fd_, name.c_str()) != 0) {
    status = Errno("renaming " + temp);
  }
  if (!status.ok()) ::unlinkat(dir_fd_, temp.c_str(), 0);
  return status;
}

Status Hotfolder::WriteBytes(const std::string& name, std::string_view bytes) const {
  return Write(name, [bytes](int fd) { return WriteAll(fd, bytes); });
}

Result<std::vector<std::string>> Hotfolder::CompletedFiles() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name[0] == '.' || name == kManifestName || !entry.is_regular_file(ec)) continue;
    names.push_back(name);
  }
  if (ec) return Status::Internal("listing " + dir_ + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

bool Hotfolder::HasManifest() const {
  struct stat st {};
  return ::fstatat(dir_fd_, kManifestName, &st, 0) == 0;
}

Status Hotfolder::WriteManifest(const std::vector<ManifestEntry>& entries) const {
  std::string csv = "customer_id,email,file,sha256\r\n";
  for (const ManifestEntry& e : entries) {
    RETURN_IF_ERROR(CheckName(e.file_name));
    std::string sha = e.sha256_hex;
    struct stat st {};
    if (::fstatat(dir_fd_, e.file_name.c_str(), &st, 0) != 0) {
      return Status::FailedPrecondition("the manifest lists " + e.file_name + ", which is not in " +
                                        dir_);
    }
    if (sha.empty()) {
      std::ifstream in(dir_ + "/" + e.file_name, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) return Status::Internal("reading " + e.file_name + " failed");
      sha = Sha256Hex(bytes);
    }
    csv += CsvField(e.customer_id) + ',' + CsvField(e.email) + ',' + CsvField(e.file_name) + ',' +
           sha + "\r\n";
  }
  // The files' data and their renames must be durable before the manifest can say "ready".
  if (!options_.fsync_files && ::syncfs(dir_fd_) != 0) return Errno("syncfs of " + dir_);
  if (::fsync(dir_fd_) != 0) return Errno("fsync of " + dir_);
  RETURN_IF_ERROR(WriteAtomically(
      kManifestName, [&csv](int fd) { return WriteAll(fd, csv); }, /*sync=*/true));
  if (::fsync(dir_fd_) != 0) return Errno("fsync of " + dir_);
  return Status::Ok();
}

}  // namespace kontor::documents
