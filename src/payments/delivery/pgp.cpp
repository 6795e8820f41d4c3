#include "payments/delivery/pgp.h"

#include <fcntl.h>
#include <gpgme.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

extern char** environ;

namespace kontor::payments::delivery {
namespace {

constexpr const char* kField = "pgp_public_key";
// A bank's public key is a few KiB; anything much larger is not one.
constexpr size_t kMaxKeyBytes = 1 << 20;

Status KeyError(std::string message) { return Status::Validation({{kField, std::move(message)}}); }

std::string GpgError(gpgme_error_t err) {
  char buf[256];
  gpgme_strerror_r(err, buf, sizeof buf);
  return buf;
}

// gpgme_check_version must run once before any context is made; it also
// initializes GPGME's thread support. The outcome is remembered.
Status InitGpgme() {
  static std::once_flag once;
  static Status status;
  std::call_once(once, [] {
    if (gpgme_check_version("1.13.0") == nullptr) {
      status = Status::Internal("GPGME 1.13 or later is required");
      return;
    }
    gpgme_error_t err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
    if (err != 0) status = Status::Internal("gpg is not usable: " + GpgError(err));
  });
  return status;
}

// Runs `gpgconf --homedir home --kill all`, which stops any gpg-agent or
// dirmngr serving that home directory.
void KillDaemons(const std::string& home) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {"gpgconf", "--homedir", home, "--kill", "all"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, "gpgconf", &actions, nullptr, argv.data(), environ) == 0) {
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }
  posix_spawn_file_actions_destroy(&actions);
}

// A GPGME data object over caller-owned memory or an empty output buffer.
class Data {
 public:
  Data() = default;
  Data(const Data&) = delete;
  Data& operator=(const Data&) = delete;
  ~Data() {
    if (dh_ != nullptr) gpgme_data_release(dh_);
  }

  gpgme_error_t InitFrom(std::string_view bytes) {
    return gpgme_data_new_from_mem(&dh_, bytes.data(), bytes.size(), /*copy=*/0);
  }
  gpgme_error_t InitEmpty() { return gpgme_data_new(&dh_); }
  gpgme_data_t get() const { return dh_; }

  // The bytes written into an empty buffer; the object is spent afterwards.
  std::string Take() {
    size_t len = 0;
    char* mem = gpgme_data_release_and_get_mem(dh_, &len);
    dh_ = nullptr;
    std::string out(mem != nullptr ? mem : "", mem != nullptr ? len : 0);
    gpgme_free(mem);
    return out;
  }

 private:
  gpgme_data_t dh_ = nullptr;
};

// A private GnuPG home directory with a GPGME context bound to it, holding
// exactly the one key the caller passed. Removed again on destruction.
class Keyring {
 public:
  Keyring() = default;
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;
  ~Keyring() {
    if (key_ != nullptr) gpgme_key_unref(key_);
    if (ctx_ != nullptr) gpgme_release(ctx_);
    if (home_.empty()) return;
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(home_) / "S.gpg-agent", ec)) {
      KillDaemons(home_);
    }
    std::filesystem::remove_all(home_, ec);
  }

  // Creates the home directory and imports `key_text`, checking that it is a
  // single usable public key.
  Status Open(std::string_view key_text) {
    RETURN_IF_ERROR(InitGpgme());
    if (key_text.empty()) return KeyError("is empty");
    if (key_text.size() > kMaxKeyBytes) return KeyError("is too large to be a public key");
    // Caught before gpg sees it: a secret key must not even pass through a
    // keyring, and gpg would quietly import its public part.
    if (key_text.find("PRIVATE KEY BLOCK") != std::string_view::npos) {
      return KeyError("is a secret key; give the bank's public key");
    }

    std::string templ = (std::filesystem::temp_directory_path() / "kontor-gpg-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) {
      return Status::Internal("cannot create a GnuPG home directory: " +
                              std::string(strerror(errno)));
    }
    home_ = templ;  // mkdtemp made it 0700, as gpg insists
    {
      std::ofstream conf(home_ + "/gpg.conf");
      // Importing and encrypting to a public key need no agent and no key
      // server; without autostart gpg cannot leave daemons behind.
      conf << "no-autostart\nno-auto-key-locate\n";
      if (!conf) return Status::Internal("cannot write gpg.conf in " + home_);
    }

    gpgme_error_t err = gpgme_new(&ctx_);
    if (err == 0) err = gpgme_set_protocol(ctx_, GPGME_PROTOCOL_OpenPGP);
    if (err == 0) {
      err = gpgme_ctx_set_engine_info(ctx_, GPGME_PROTOCOL_OpenPGP, nullptr, home_.c_str());
    }
    if (err != 0) return Status::Internal("cannot set up GPGME: " + GpgError(err));
    gpgme_set_offline(ctx_, 1);

    Data in;
    if ((err = in.InitFrom(key_text)) != 0) return Status::Internal(GpgError(err));
    if ((err = gpgme_op_import(ctx_, in.get())) != 0) {
      return KeyError("cannot be read as an OpenPGP key: " + GpgError(err));
    }
    gpgme_import_result_t imported = gpgme_op_import_result(ctx_);
    if (imported != nullptr && imported->secret_read > 0) {
      return KeyError("is a secret key; give the bank's public key");
    }
    return FindTheKey();
  }

  gpgme_ctx_t ctx() const { return ctx_; }
  gpgme_key_t key() const { return key_; }

 private:
  Status FindTheKey() {
    gpgme_error_t err = gpgme_op_keylist_start(ctx_, nullptr, /*secret_only=*/0);
    if (err != 0) return Status::Internal("cannot list keys: " + GpgError(err));
    int count = 0;
    gpgme_key_t key = nullptr;
    while ((err = gpgme_op_keylist_next(ctx_, &key)) == 0) {
      ++count;
      if (key_ == nullptr) {
        key_ = key;
      } else {
        gpgme_key_unref(key);
      }
    }
    gpgme_op_keylist_end(ctx_);
    if (gpg_err_code(err) != GPG_ERR_EOF) {
      return Status::Internal("cannot list keys: " + GpgError(err));
    }
    if (count == 0) return KeyError("is not an OpenPGP public key");
    if (count > 1) {
      return KeyError("holds " + std::to_string(count) + " keys; give exactly one");
    }
    if (key_->secret) return KeyError("is a secret key; give the bank's public key");
    if (key_->revoked) return KeyError("is revoked");
    if (key_->expired) return KeyError("is expired");
    if (key_->disabled) return KeyError("is disabled");
    if (key_->invalid) return KeyError("is not a valid key");
    // can_encrypt on the key (not a subkey) is set only when some subkey that
    // is neither expired nor revoked can encrypt.
    if (!key_->can_encrypt) return KeyError("has no usable encryption key");
    if (key_->fpr == nullptr) return Status::Internal("gpg reported a key without fingerprint");
    return Status::Ok();
  }

  std::string home_;
  gpgme_ctx_t ctx_ = nullptr;
  gpgme_key_t key_ = nullptr;
};

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

}  // namespace

Result<std::string> PgpFingerprint(std::string_view armored_public_key) {
  Keyring keyring;
  RETURN_IF_ERROR(keyring.Open(armored_public_key));
  return Upper(keyring.key()->fpr);
}

Result<std::string> PgpEncrypt(std::string_view plaintext, std::string_view armored_public_key,
                               bool armor) {
  Keyring keyring;
  RETURN_IF_ERROR(keyring.Open(armored_public_key));
  gpgme_set_armor(keyring.ctx(), armor ? 1 : 0);
  Data plain, cipher;
  gpgme_error_t err = plain.InitFrom(plaintext);
  if (err == 0) err = cipher.InitEmpty();
  if (err != 0) return Status::Internal(GpgError(err));
  gpgme_key_t recipients[] = {keyring.key(), nullptr};
  err = gpgme_op_encrypt(
      keyring.ctx(), recipients,
      static_cast<gpgme_encrypt_flags_t>(GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_ENCRYPT_TO),
      plain.get(), cipher.get());
  if (err != 0) {
    gpgme_encrypt_result_t result = gpgme_op_encrypt_result(keyring.ctx());
    if (result != nullptr && result->invalid_recipients != nullptr) {
      return KeyError("cannot be encrypted to: " + GpgError(result->invalid_recipients->reason));
    }
    return Status::Internal("gpg could not encrypt: " + GpgError(err));
  }
  std::string out = cipher.Take();
  if (out.empty()) return Status::Internal("gpg produced no output");
  return out;
}

}  // namespace kontor::payments::delivery
