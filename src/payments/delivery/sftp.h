// SFTP delivery to and from a bank: one SSH connection (libssh2) with the
// server's host key pinned by SHA-256 and public-key authentication from a key
// held in memory (from the database or a secret store, never a file).
//
// Errors, so that the caller can decide whether to retry:
//   Unavailable         network trouble, a server that stops answering within
//                       timeout_ms, a refused or reset connection, a full disk
//                       on the server: retry later.
//   FailedPrecondition  configuration that retrying will not fix: the server's
//                       host key is not the pinned one, our key is rejected or
//                       unreadable, the server refuses permission or an
//                       operation.
//   NotFound            the remote path does not exist.
//   InvalidArgument     a file name this module refuses to send (see Upload).
// After an Unavailable caused by the connection (rather than by one file) the
// client is spent: every later call fails at once, and a new Connect is needed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kontor::payments::delivery {

struct SftpProfile {
  std::string host;
  int port = 22;
  std::string username;
  // OpenSSH ("BEGIN OPENSSH PRIVATE KEY") or PEM private key text without a
  // passphrase. Use ed25519 or ECDSA: libssh2 1.10 (Debian 12) signs with an
  // RSA key only as ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse by
  // default, so an RSA key works only with servers that still allow that.
  // (libssh2 1.10 also leaks ~100 bytes per connect reading an ECDSA key in
  // OpenSSH format, libssh2 issue #2079; ed25519 and PEM keys do not.)
  std::string private_key_pem;
  // The pinned server key as OpenSSH prints it ("SHA256:" + unpadded base64,
  // e.g. from `ssh-keygen -lf key.pub` or HostKeyFingerprintOf). Required: an
  // empty pin refuses to connect rather than trusting whatever answers.
  // A server with several host keys presents the one libssh2 negotiates,
  // which need not be the one `ssh` picks; HostKeyFingerprintOf shows it.
  std::string host_key_sha256;
  std::string upload_dir;  // where Upload puts outgoing files
  std::string inbox_dir;   // where the bank leaves return files (for List)
  // The longest we wait for the server: for all of Connect (TCP connect, SSH
  // handshake, authentication, SFTP start) together, and for each step of
  // the other operations (one request, or up to 256 KiB of data), so a large
  // upload may take longer in all but a silent server never holds a worker
  // for longer. Must be positive.
  int timeout_ms = 15000;
};

enum class UploadOutcome {
  kUploaded,        // this call wrote the file
  kAlreadyPresent,  // a file of that name and size was there; nothing written
};

struct RemoteFile {
  std::string name;  // without the directory
  uint64_t size = 0;
  int64_t mtime = 0;  // Unix seconds, as the server reports it
};

// One SFTP connection. Not thread-safe; separate instances may be used from
// separate threads at the same time (libssh2 is initialized once per process).
class SftpClient {
 public:
  // Connects, checks the host key against the pin before anything else is
  // sent (a mismatch is FailedPrecondition naming both fingerprints; neither
  // our user name nor our key reach that server), authenticates and starts
  // the SFTP subsystem. Name resolution is not covered by timeout_ms.
  static Result<std::unique_ptr<SftpClient>> Connect(const SftpProfile& profile);
  ~SftpClient();
  SftpClient(const SftpClient&) = delete;
  SftpClient& operator=(const SftpClient&) = delete;

  // Puts `data` at upload_dir/name so that the bank sees either nothing or
  // the whole file, once, however often the call is repeated:
  //  - a file `name` of the same size already there means an earlier attempt
  //    got that far (the process may have died before recording it):
  //    kAlreadyPresent, and nothing is written. A file `name` of another size
  //    is never replaced (the bank may have read it): FailedPrecondition, for
  //    a person to sort out.
  //  - otherwise the bytes go to upload_dir/.name.part, which an earlier
  //    attempt may have started: if that file's bytes are a prefix of `data`
  //    the upload continues after them, otherwise it starts over. The file is
  //    fsynced (where the server offers fsync@openssh.com) and renamed to
  //    `name` (an atomic rename where the server does one; never over an
  //    existing file).
  // The check is by name and size only, so every distinct file needs a
  // distinct name (put the file id in it). It also cannot see a file the bank
  // has already taken away: a retry after the bank picked the file up uploads
  // it again. Callers that must never send twice record "upload started"
  // before calling and have a person check with the bank before retrying
  // such an attempt; the file id modifier lets the bank reject a duplicate.
  // Banks pick files up by name and ignore dotfiles, which is why the partial
  // file is hidden. `name` must be a plain file name: not empty, no '/', no
  // NUL, not starting with '.' (InvalidArgument otherwise). Concurrent uploads
  // of the same name from two connections are not supported.
  Result<UploadOutcome> Upload(const std::string& name, std::string_view data);

  // The regular files in `dir` (dotfiles and everything that is not a
  // regular file left out), sorted by name.
  Result<std::vector<RemoteFile>> List(const std::string& dir);
  // The whole file at `path`; FailedPrecondition if it is larger than
  // `max_bytes` (so a runaway file cannot exhaust memory).
  Result<std::string> Download(const std::string& path, size_t max_bytes);
  // Renames `from` to `to`; never replaces an existing `to` (the server
  // refuses, and that is an error here).
  Status Rename(const std::string& from, const std::string& to);
  Status Remove(const std::string& path);
  // Creates the directory; an existing directory is fine.
  Status MakeDir(const std::string& path);

 private:
  struct Impl;
  friend Result<std::string> HostKeyFingerprintOf(const std::string& host, int port,
                                                  int timeout_ms);
  explicit SftpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The SHA-256 fingerprint ("SHA256:...") of the host key `host` presents to
// this client, for an operator to compare with the bank's and pin. Connects
// and performs the key exchange only; nothing is authenticated.
Result<std::string> HostKeyFingerprintOf(const std::string& host, int port, int timeout_ms);

}  // namespace kontor::payments::delivery
