#include "payments/delivery/sftp.h"

#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>

#include "core/crypto.h"

namespace kontor::payments::delivery {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kWriteSlice = 256 * 1024;  // libssh2 pipelines it as ~30 KB packets
constexpr size_t kReadChunk = 64 * 1024;
constexpr long kFileMode = LIBSSH2_SFTP_S_IRUSR | LIBSSH2_SFTP_S_IWUSR | LIBSSH2_SFTP_S_IRGRP |
                           LIBSSH2_SFTP_S_IROTH;  // 0644
constexpr long kDirMode =
    kFileMode | LIBSSH2_SFTP_S_IXUSR | LIBSSH2_SFTP_S_IXGRP | LIBSSH2_SFTP_S_IXOTH;  // 0755
// No LIBSSH2_SFTP_RENAME_OVERWRITE: a rename never replaces a file at the
// bank (SFTP v3 servers such as OpenSSH refuse that whatever the flags say;
// v5+ servers honour the missing flag the same way).
constexpr long kRenameFlags = LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;
// Returned by the wait loop when the server made no progress in time; libssh2
// has the same code for its own blocking-mode timeout.
constexpr int kTimedOut = LIBSSH2_ERROR_TIMEOUT;

// libssh2_init is not thread-safe and must run before the first session; it
// is never undone (libssh2_exit), since sessions may live until exit.
Status InitLibssh2() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = libssh2_init(0); });
  if (rc != 0) return Status::Internal("libssh2_init failed: " + std::to_string(rc));
  return Status::Ok();
}

// OpenSSH prints host key digests in standard base64 without padding.
std::string Base64NoPadding(std::string_view bytes) {
  std::string out = Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

// "SHA256:abc" (any spacing, with or without padding) → "abc".
std::string PinnedDigest(std::string_view pin) {
  while (!pin.empty() && isspace(static_cast<unsigned char>(pin.front()))) pin.remove_prefix(1);
  while (!pin.empty() && (isspace(static_cast<unsigned char>(pin.back())) || pin.back() == '=')) {
    pin.remove_suffix(1);
  }
  if (pin.substr(0, 7) == "SHA256:") pin.remove_prefix(7);
  return std::string(pin);
}

const char* HostKeyTypeName(int type) {
  switch (type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
      return "ssh-rsa";
    case LIBSSH2_HOSTKEY_TYPE_DSS:
      return "ssh-dss";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
      return "ecdsa-sha2-nistp256";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
      return "ecdsa-sha2-nistp384";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
      return "ecdsa-sha2-nistp521";
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
      return "ssh-ed25519";
    default:
      return "unknown";
  }
}

const char* SftpErrorName(unsigned long code) {
  switch (code) {
    case LIBSSH2_FX_EOF:
      return "end of file";
    case LIBSSH2_FX_NO_SUCH_FILE:
      return "no such file";
    case LIBSSH2_FX_PERMISSION_DENIED:
      return "permission denied";
    case LIBSSH2_FX_FAILURE:
      return "failure";
    case LIBSSH2_FX_BAD_MESSAGE:
      return "bad message";
    case LIBSSH2_FX_OP_UNSUPPORTED:
      return "operation not supported";
    case LIBSSH2_FX_NO_SUCH_PATH:
      return "no such path";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
      return "file already exists";
    case LIBSSH2_FX_WRITE_PROTECT:
      return "write protected";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
      return "no space on file system";
    case LIBSSH2_FX_QUOTA_EXCEEDED:
      return "quota exceeded";
    case LIBSSH2_FX_DIR_NOT_EMPTY:
      return "directory not empty";
    case LIBSSH2_FX_NOT_A_DIRECTORY:
      return "not a directory";
    case LIBSSH2_FX_INVALID_FILENAME:
      return "invalid file name";
    default:
      return "error";
  }
}

// libssh2 errors that mean the connection failed rather than a request.
bool IsTransportError(int rc) {
  switch (rc) {
    case kTimedOut:
    case LIBSSH2_ERROR_EAGAIN:
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_ALLOC:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_BAD_SOCKET:
      return true;
    default:
      return false;
  }
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

Status CheckFileName(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("upload file name '" + name +
                                   "' must be a plain name not starting with '.'");
  }
  return Status::Ok();
}

// A TCP connection to host:port made by the deadline, or Unavailable.
Result<int> ConnectTcp(const std::string& host, int port, Clock::time_point deadline,
                       const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) return Status::Unavailable(where + ": cannot resolve: " + gai_strerror(gai));
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0) {
      last_error = strerror(errno);
      continue;
    }
    int err = 0;
    if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{s, POLLOUT, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        int n = 0;
        do {
          n = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        } while (n < 0 && errno == EINTR);
        socklen_t len = sizeof err;
        if (n == 0) {
          err = ETIMEDOUT;
        } else if (n < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    if (err == 0) {
      int one = 1;
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd = s;
    } else {
      last_error = strerror(err);
      close(s);
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return Status::Unavailable(where + ": cannot connect: " + last_error);
  return fd;
}

}  // namespace

// Owns the socket, the SSH session and the SFTP channel. libssh2 runs in
// non-blocking mode and every call goes through Call/CallPtr, which wait for
// the socket with poll() and give up at the deadline; so the timeout is
// measured on the monotonic clock and no libssh2 call can block forever.
struct SftpClient::Impl {
  SftpProfile profile;
  std::string where;  // "sftp host:port", to prefix messages
  int fd = -1;
  LIBSSH2_SESSION* session = nullptr;
  LIBSSH2_SFTP* sftp = nullptr;
  // Set when the connection failed as a whole (timeout, socket error): later
  // calls fail at once instead of talking to a session in an unknown state.
  bool broken = false;
  // While connecting, all waits share one deadline; afterwards each wait
  // gets timeout_ms of its own.
  Clock::time_point connect_deadline{};
  bool connecting = false;
  // Replaces timeout_ms for the short goodbyes in the destructor.
  int timeout_override_ms = 0;

  ~Impl() {
    if (session != nullptr) {
      if (broken && fd >= 0) shutdown(fd, SHUT_RDWR);  // makes the goodbyes below fail fast
      // Polite goodbyes, bounded by one short wait each.
      connecting = false;
      timeout_override_ms = std::min(profile.timeout_ms, 2000);
      if (sftp != nullptr) Call([&] { return libssh2_sftp_shutdown(sftp); });
      if (!broken) {
        Call([&] { return libssh2_session_disconnect(session, "done"); });
      }
      if (Call([&] { return libssh2_session_free(session); }) != 0) {
        // Cannot happen short of a libssh2 bug; leaking beats hanging.
        session = nullptr;
      }
    }
    if (fd >= 0) close(fd);
  }

  Clock::time_point NextDeadline() const {
    if (connecting) return connect_deadline;
    int ms = timeout_override_ms > 0 ? timeout_override_ms : profile.timeout_ms;
    return Clock::now() + std::chrono::milliseconds(ms);
  }

  // Waits until the socket is ready in the direction libssh2 is blocked on.
  // False when the deadline passed first.
  bool WaitSocket(Clock::time_point deadline) {
    int dirs = libssh2_session_block_directions(session);
    short events = 0;
    if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND) events |= POLLIN;
    if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) events |= POLLOUT;
    if (events == 0) events = POLLIN;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, events, 0};
      int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX)));
      if (n > 0) return true;  // ready, or an error libssh2 will report
      if (n < 0 && errno != EINTR) return true;
    }
  }

  // Repeats `f` (a libssh2 call returning an int) while it would block.
  template <typename F>
  int Call(F f) {
    Clock::time_point deadline = NextDeadline();
    for (;;) {
      int rc = static_cast<int>(f());
      if (rc != LIBSSH2_ERROR_EAGAIN) return rc;
      if (!WaitSocket(deadline)) {
        broken = true;
        return kTimedOut;
      }
    }
  }

  // The same for libssh2 calls that return a pointer (nullptr on failure).
  template <typename T, typename F>
  T* CallPtr(F f, int* rc) {
    Clock::time_point deadline = NextDeadline();
    for (;;) {
      T* p = f();
      if (p != nullptr) return p;
      *rc = libssh2_session_last_errno(session);
      if (*rc != LIBSSH2_ERROR_EAGAIN) return nullptr;
      if (!WaitSocket(deadline)) {
        broken = true;
        *rc = kTimedOut;
        return nullptr;
      }
    }
  }

  std::string LastErrorText() {
    char* msg = nullptr;
    int len = 0;
    libssh2_session_last_error(session, &msg, &len, 0);
    return msg != nullptr && len > 0 ? std::string(msg, len) : "unknown error";
  }

  // The Status for a failed libssh2 call returning `rc` while doing `what`.
  Status Error(int rc, const std::string& what) {
    std::string prefix = where + ": " + what + ": ";
    if (rc == kTimedOut) {
      broken = true;
      return Status::Unavailable(prefix + "no answer within " + std::to_string(profile.timeout_ms) +
                                 " ms");
    }
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && sftp != nullptr) {
      unsigned long code = libssh2_sftp_last_error(sftp);
      std::string text =
          prefix + SftpErrorName(code) + " (SFTP status " + std::to_string(code) + ")";
      switch (code) {
        case LIBSSH2_FX_NO_SUCH_FILE:
        case LIBSSH2_FX_NO_SUCH_PATH:
          return Status::NotFound(text);
        case LIBSSH2_FX_FILE_ALREADY_EXISTS:
          return Status::Conflict(text);
        case LIBSSH2_FX_PERMISSION_DENIED:
        case LIBSSH2_FX_WRITE_PROTECT:
        case LIBSSH2_FX_OP_UNSUPPORTED:
        case LIBSSH2_FX_INVALID_FILENAME:
        case LIBSSH2_FX_NOT_A_DIRECTORY:
          return Status::FailedPrecondition(text);
        default:  // generic failure, full disk, quota: may pass
          return Status::Unavailable(text);
      }
    }
    // Anything else is the transport or the SSH layer: the session is done.
    broken = true;
    return Status::Unavailable(prefix + LastErrorText() + " (libssh2 error " + std::to_string(rc) +
                               ")");
  }

  Status CheckUsable() {
    if (broken) return Status::Unavailable(where + ": the connection failed earlier; reconnect");
    return Status::Ok();
  }

  // Connects, handshakes and returns the host key fingerprint.
  Result<std::string> Handshake() {
    if (profile.host.empty() || profile.port < 1 || profile.port > 65535 ||
        profile.timeout_ms <= 0) {
      return Status::InvalidArgument(where +
                                     ": host, port (1-65535) and a positive timeout_ms "
                                     "are required");
    }
    RETURN_IF_ERROR(InitLibssh2());
    connecting = true;
    connect_deadline = Clock::now() + std::chrono::milliseconds(profile.timeout_ms);
    ASSIGN_OR_RETURN(fd, ConnectTcp(profile.host, profile.port, connect_deadline, where));
    session = libssh2_session_init();
    if (session == nullptr) return Status::Internal(where + ": libssh2_session_init failed");
    libssh2_session_set_blocking(session, 0);
    int rc = Call([&] { return libssh2_session_handshake(session, fd); });
    if (rc != 0) return Error(rc, "SSH handshake");
    const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
    if (hash == nullptr) return Status::Internal(where + ": no host key hash after the handshake");
    return "SHA256:" + Base64NoPadding(std::string_view(hash, 32));
  }

  std::string HostKeyType() {
    size_t len = 0;
    int type = 0;
    libssh2_session_hostkey(session, &len, &type);
    return HostKeyTypeName(type);
  }

  Status Open() {
    ASSIGN_OR_RETURN(std::string presented, Handshake());
    std::string pinned = PinnedDigest(profile.host_key_sha256);
    if (pinned.empty()) {
      return Status::FailedPrecondition(where + ": no host key is pinned; the server presents " +
                                        HostKeyType() + " " + presented);
    }
    if ("SHA256:" + pinned != presented) {
      return Status::FailedPrecondition(where + ": host key mismatch: the server presents " +
                                        HostKeyType() + " " + presented + " but SHA256:" + pinned +
                                        " is pinned; refusing to continue");
    }

    std::string key = profile.private_key_pem;
    if (!key.empty() && key.back() != '\n') key.push_back('\n');
    // An empty passphrase, not nullptr: for an encrypted key OpenSSL would
    // otherwise prompt on the terminal.
    int rc = Call([&] {
      return libssh2_userauth_publickey_frommemory(session, profile.username.data(),
                                                   profile.username.size(), nullptr, 0, key.data(),
                                                   key.size(), "");
    });
    if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
      return Status::FailedPrecondition(where + ": the server rejected our key for user '" +
                                        profile.username + "': " + LastErrorText());
    }
    // The rest is mostly our key: libssh2 reports an unreadable or
    // unsupported key with several codes (FILE, PROTO, METHOD_NOT_SUPPORTED,
    // KEYFILE_AUTH_FAILED, ...), all before anything is sent. Only failures
    // of the connection itself are worth a retry.
    if (rc != 0 && !IsTransportError(rc)) {
      return Status::FailedPrecondition(where +
                                        ": the private key cannot be used: " + LastErrorText() +
                                        " (libssh2 error " + std::to_string(rc) + ")");
    }
    if (rc != 0) return Error(rc, "authentication");

    sftp = CallPtr<LIBSSH2_SFTP>([&] { return libssh2_sftp_init(session); }, &rc);
    if (sftp == nullptr) return Error(rc, "starting SFTP");
    connecting = false;
    return Status::Ok();
  }

  // nullopt when the path does not exist.
  Result<std::optional<LIBSSH2_SFTP_ATTRIBUTES>> Stat(const std::string& path) {
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    int rc = Call([&] {
      return libssh2_sftp_stat_ex(sftp, path.data(), static_cast<unsigned>(path.size()),
                                  LIBSSH2_SFTP_STAT, &attrs);
    });
    if (rc == 0) return std::optional<LIBSSH2_SFTP_ATTRIBUTES>(attrs);
    Status st = Error(rc, "stat " + path);
    if (st.code() == StatusCode::kNotFound) return std::optional<LIBSSH2_SFTP_ATTRIBUTES>();
    return st;
  }

  Result<LIBSSH2_SFTP_HANDLE*> OpenFile(const std::string& path, unsigned long flags, long mode,
                                        int type) {
    int rc = 0;
    LIBSSH2_SFTP_HANDLE* h = CallPtr<LIBSSH2_SFTP_HANDLE>(
        [&] {
          return libssh2_sftp_open_ex(sftp, path.data(), static_cast<unsigned>(path.size()), flags,
                                      mode, type);
        },
        &rc);
    if (h == nullptr) return Error(rc, "open " + path);
    return h;
  }

  Status CloseHandle(LIBSSH2_SFTP_HANDLE* h, const std::string& path) {
    int rc = Call([&] { return libssh2_sftp_close_handle(h); });
    return rc == 0 ? Status::Ok() : Error(rc, "close " + path);
  }

  // Reads the whole file behind `h`, failing past `max_bytes`.
  Result<std::string> ReadAll(LIBSSH2_SFTP_HANDLE* h, const std::string& path, size_t max_bytes) {
    std::string out;
    char buf[kReadChunk];
    for (;;) {
      ssize_t n = 0;
      int rc = Call([&] {
        n = libssh2_sftp_read(h, buf, sizeof buf);
        return n < 0 ? static_cast<int>(n) : 0;
      });
      if (rc != 0) return Error(rc, "read " + path);
      if (n == 0) return out;
      if (out.size() + n > max_bytes) {
        return Status::FailedPrecondition(where + ": " + path + " is larger than " +
                                          std::to_string(max_bytes) + " bytes");
      }
      out.append(buf, n);
    }
  }

  Status WriteAll(LIBSSH2_SFTP_HANDLE* h, const std::string& path, std::string_view data) {
    while (!data.empty()) {
      size_t len = std::min(data.size(), kWriteSlice);
      ssize_t n = 0;
      // After EAGAIN libssh2 wants the same buffer again, which this is.
      int rc = Call([&] {
        n = libssh2_sftp_write(h, data.data(), len);
        return n < 0 ? static_cast<int>(n) : 0;
      });
      if (rc != 0) return Error(rc, "write " + path);
      if (n == 0) return Error(LIBSSH2_ERROR_SOCKET_SEND, "write " + path);
      data.remove_prefix(n);
    }
    return Status::Ok();
  }

  // How many leading bytes of `data` the partial upload at `part` already
  // holds: its size if its content is a prefix of `data`, else 0.
  Result<uint64_t> ResumableBytes(const std::string& part, std::string_view data) {
    ASSIGN_OR_RETURN(auto attrs, Stat(part));
    if (!attrs || !(attrs->flags & LIBSSH2_SFTP_ATTR_SIZE) ||
        !LIBSSH2_SFTP_S_ISREG(attrs->permissions) || attrs->filesize == 0 ||
        attrs->filesize > data.size()) {
      return uint64_t{0};
    }
    ASSIGN_OR_RETURN(LIBSSH2_SFTP_HANDLE * h,
                     OpenFile(part, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE));
    Result<std::string> existing = ReadAll(h, part, data.size());
    Status closed = CloseHandle(h, part);
    if (!existing.ok()) {
      // Grown past data.size() since the stat: not ours to continue.
      if (existing.status().code() == StatusCode::kFailedPrecondition) return uint64_t{0};
      return existing.status();
    }
    RETURN_IF_ERROR(closed);
    if (data.substr(0, existing->size()) != *existing) return uint64_t{0};
    return uint64_t{existing->size()};
  }

  Status Rename(const std::string& from, const std::string& to) {
    int rc = Call([&] {
      return libssh2_sftp_rename_ex(sftp, from.data(), static_cast<unsigned>(from.size()),
                                    to.data(), static_cast<unsigned>(to.size()), kRenameFlags);
    });
    return rc == 0 ? Status::Ok() : Error(rc, "rename " + from + " to " + to);
  }

  Status Remove(const std::string& path) {
    int rc = Call([&] {
      return libssh2_sftp_unlink_ex(sftp, path.data(), static_cast<unsigned>(path.size()));
    });
    return rc == 0 ? Status::Ok() : Error(rc, "remove " + path);
  }

  Result<UploadOutcome> Upload(const std::string& name, std::string_view data) {
    const std::string final_path = JoinPath(profile.upload_dir, name);
    const std::string part_path = JoinPath(profile.upload_dir, "." + name + ".part");

    ASSIGN_OR_RETURN(auto existing, Stat(final_path));
    if (existing) {
      if ((existing->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
          !LIBSSH2_SFTP_S_ISREG(existing->permissions)) {
        return Status::FailedPrecondition(where + ": " + final_path + " exists and is not a file");
      }
      if (existing->filesize == data.size()) return UploadOutcome::kAlreadyPresent;
      return SizeConflict(final_path, existing->filesize, data.size());
    }

    ASSIGN_OR_RETURN(uint64_t offset, ResumableBytes(part_path, data));
    unsigned long flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT;
    if (offset == 0) flags |= LIBSSH2_FXF_TRUNC;
    ASSIGN_OR_RETURN(LIBSSH2_SFTP_HANDLE * h,
                     OpenFile(part_path, flags, kFileMode, LIBSSH2_SFTP_OPENFILE));
    libssh2_sftp_seek64(h, offset);
    Status written = WriteAll(h, part_path, data.substr(offset));
    if (written.ok()) {
      int rc = Call([&] { return libssh2_sftp_fsync(h); });
      // Servers without fsync@openssh.com answer "unsupported"; their rename
      // is all the durability there is.
      if (rc != 0 && !(rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
                       libssh2_sftp_last_error(sftp) == LIBSSH2_FX_OP_UNSUPPORTED)) {
        written = Error(rc, "fsync " + part_path);
      }
    }
    if (broken) return written;  // the handle cannot be closed any more
    Status closed = CloseHandle(h, part_path);
    RETURN_IF_ERROR(written);
    RETURN_IF_ERROR(closed);

    ASSIGN_OR_RETURN(auto part, Stat(part_path));
    if (!part || part->filesize != data.size()) {
      return Status::Unavailable(where + ": " + part_path + " does not have the " +
                                 std::to_string(data.size()) + " bytes just written");
    }

    Status renamed = Rename(part_path, final_path);
    if (renamed.ok()) return UploadOutcome::kUploaded;
    if (broken) return renamed;
    // The rename is refused when the final name exists: it appeared since we
    // looked.
    ASSIGN_OR_RETURN(existing, Stat(final_path));
    if (!existing) return renamed;
    if (existing->filesize != data.size()) {
      return SizeConflict(final_path, existing->filesize, data.size());
    }
    (void)Remove(part_path);
    return UploadOutcome::kAlreadyPresent;
  }

  Status SizeConflict(const std::string& path, uint64_t there, size_t ours) {
    return Status::FailedPrecondition(
        where + ": " + path + " already exists with " + std::to_string(there) + " bytes, not the " +
        std::to_string(ours) + " to upload; not replacing a file the bank may have read");
  }

  Result<std::vector<RemoteFile>> List(const std::string& dir) {
    ASSIGN_OR_RETURN(LIBSSH2_SFTP_HANDLE * h, OpenFile(dir, 0, 0, LIBSSH2_SFTP_OPENDIR));
    std::vector<RemoteFile> files;
    std::vector<char> name(4096);
    Status st;
    for (;;) {
      LIBSSH2_SFTP_ATTRIBUTES attrs{};
      int rc = Call(
          [&] { return libssh2_sftp_readdir_ex(h, name.data(), name.size(), nullptr, 0, &attrs); });
      if (rc == 0) break;
      if (rc < 0) {
        st = Error(rc, "list " + dir);
        break;
      }
      std::string entry(name.data(), rc);
      if (entry.empty() || entry.front() == '.') continue;
      if (!(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
          !LIBSSH2_SFTP_S_ISREG(attrs.permissions)) {
        continue;
      }
      RemoteFile f;
      f.name = std::move(entry);
      f.size = (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) ? attrs.filesize : 0;
      f.mtime = (attrs.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? static_cast<int64_t>(attrs.mtime) : 0;
      files.push_back(std::move(f));
    }
    if (broken) return st;
    Status closed = CloseHandle(h, dir);
    RETURN_IF_ERROR(st);
    RETURN_IF_ERROR(closed);
    std::sort(files.begin(), files.end(),
              [](const RemoteFile& a, const RemoteFile& b) { return a.name < b.name; });
    return files;
  }

  Result<std::string> Download(const std::string& path, size_t max_bytes) {
    ASSIGN_OR_RETURN(LIBSSH2_SFTP_HANDLE * h,
                     OpenFile(path, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE));
    Result<std::string> data = ReadAll(h, path, max_bytes);
    if (broken) return data;
    Status closed = CloseHandle(h, path);
    if (!data.ok()) return data;
    RETURN_IF_ERROR(closed);
    return data;
  }

  Status MakeDir(const std::string& path) {
    int rc = Call([&] {
      return libssh2_sftp_mkdir_ex(sftp, path.data(), static_cast<unsigned>(path.size()), kDirMode);
    });
    if (rc == 0) return Status::Ok();
    Status st = Error(rc, "mkdir " + path);
    if (broken) return st;
    // SFTP v3 has no "exists" status; OpenSSH says "failure".
    Result<std::optional<LIBSSH2_SFTP_ATTRIBUTES>> attrs = Stat(path);
    if (attrs.ok() && *attrs && LIBSSH2_SFTP_S_ISDIR((*attrs)->permissions)) return Status::Ok();
    return st;
  }
};

SftpClient::SftpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SftpClient::~SftpClient() = default;

Result<std::unique_ptr<SftpClient>> SftpClient::Connect(const SftpProfile& profile) {
  auto impl = std::make_unique<Impl>();
  impl->profile = profile;
  impl->where = "sftp " + profile.host + ":" + std::to_string(profile.port);
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<SftpClient>(new SftpClient(std::move(impl)));
}

Result<UploadOutcome> SftpClient::Upload(const std::string& name, std::string_view data) {
  RETURN_IF_ERROR(CheckFileName(name));
  RETURN_IF_ERROR(impl_->CheckUsable());
  return impl_->Upload(name, data);
}

Result<std::vector<RemoteFile>> SftpClient::List(const std::string& dir) {
  RETURN_IF_ERROR(impl_->CheckUsable());
  return impl_->List(dir);
}

Result<std::string> SftpClient::Download(const std::string& path, size_t max_bytes) {
  RETURN_IF_ERROR(impl_->CheckUsable());
  return impl_->Download(path, max_bytes);
}

Status SftpClient::Rename(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(impl_->CheckUsable());
  return impl_->Rename(from, to);
}

Status SftpClient::Remove(const std::string& path) {
  RETURN_IF_ERROR(impl_->CheckUsable());
  return impl_->Remove(path);
}

Status SftpClient::MakeDir(const std::string& path) {
  RETURN_IF_ERROR(impl_->CheckUsable());
  return impl_->MakeDir(path);
}

Result<std::string> HostKeyFingerprintOf(const std::string& host, int port, int timeout_ms) {
  SftpClient::Impl impl;
  impl.profile.host = host;
  impl.profile.port = port;
  impl.profile.timeout_ms = timeout_ms;
  impl.where = "sftp " + host + ":" + std::to_string(port);
  return impl.Handshake();
}

}  // namespace kontor::payments::delivery
