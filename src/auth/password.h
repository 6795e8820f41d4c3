// Password hashing with argon2id (libsodium's crypto_pwhash_str, which stores
// the algorithm, parameters and salt inside the hash string).
#pragma once

#include <string>

#include "core/status.h"

namespace kontor::auth {

// REQUIRES: sodium_init() was called (InitCrypto does it).
Status InitCrypto();
Result<std::string> HashPassword(const std::string& password);
bool VerifyPassword(const std::string& hash, const std::string& password);
// The policy: 10 to 256 characters, not all one character.
Status ValidatePassword(const std::string& password, const std::string& field = "password");
// Runs a verification against a fixed hash, so an unknown email costs as much
// time as a wrong password and cannot be told apart by timing.
void BurnVerifyTime(const std::string& password);

}  // namespace kontor::auth
