// OpenPGP encryption of outgoing bank files (NACHA) to the bank's public key,
// through GPGME and the system's gpg.
//
// Every call imports the given key into its own throwaway keyring (a fresh
// GNUPGHOME made with mkdtemp, 0700, removed afterwards), so calls are
// thread-safe, independent of each other and never read or write ~/.gnupg or
// any key the operator imported elsewhere. The keyring's gpg.conf says
// `no-autostart`: importing a public key and encrypting to it need neither
// gpg-agent nor dirmngr, so no daemon is left running after a call (should one
// appear anyway, it is killed with `gpgconf --kill all` before the directory
// goes). Costs one or two gpg process starts per call, which is nothing next to
// an SFTP upload.
//
// The key is trusted as given (GPGME_ENCRYPT_ALWAYS_TRUST): its authenticity
// is established when an operator configures it and checks PgpFingerprint
// against what the bank says, not through the web of trust.
//
// Note: the first call initializes GPGME, which sets SIGPIPE to SIG_IGN for the
// process if it was still at its default (so a gpg child dying cannot kill the
// server); Kontor's network code does not rely on SIGPIPE.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace kontor::payments::delivery {

// The fingerprint of the primary key in `armored_public_key` (an OpenPGP
// public key, normally ASCII-armored): 40 upper-case hex digits for the v4 keys
// gpg makes. Shown to operators so they can compare it with the bank's.
//
// Returns Status::Validation naming the field "pgp_public_key" when the text is
// not an OpenPGP public key, holds a secret key (a bank must never hand us its
// private key, and we must not store one by mistake), holds more than one key,
// or the key is expired, revoked, disabled or has no usable encryption
// (sub)key. Status::Internal when gpg itself cannot be run.
Result<std::string> PgpFingerprint(std::string_view armored_public_key);

// `plaintext` encrypted to `armored_public_key` (checked as PgpFingerprint
// does, with the same errors), as binary OpenPGP or, when `armor`, as
// ASCII-armored text ("-----BEGIN PGP MESSAGE-----"). Only that key can
// decrypt it: no default or encrypt-to recipients are added.
Result<std::string> PgpEncrypt(std::string_view plaintext, std::string_view armored_public_key,
                               bool armor);

}  // namespace kontor::payments::delivery
