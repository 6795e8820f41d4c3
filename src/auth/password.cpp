#include "auth/password.h"

#include <sodium.h>

namespace kontor::auth {

Status InitCrypto() {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

Result<std::string> HashPassword(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Unavailable("out of memory while hashing a password");
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Status ValidatePassword(const std::string& password, const std::string& field) {
  if (password.size() < 10) return Status::Validation({{field, "must be at least 10 characters"}});
  if (password.size() > 256) return Status::Validation({{field, "must be at most 256 characters"}});
  if (password.find_first_not_of(password[0]) == std::string::npos) {
    return Status::Validation({{field, "must not repeat one character"}});
  }
  return Status::Ok();
}

void BurnVerifyTime(const std::string& password) {
  static const std::string kDummy = [] {
    auto h = HashPassword("kontor-dummy-password");
    return h.ok() ? *h : std::string();
  }();
  (void)VerifyPassword(kDummy, password);
}

}  // namespace kontor::auth
