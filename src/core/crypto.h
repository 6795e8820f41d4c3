// Thin wrappers over OpenSSL for the few primitives the whole server shares.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kontor {

// `n` bytes from the OS CSPRNG.
std::string RandomBytes(size_t n);
std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);     // RFC 4648, padded
std::string Base64UrlEncode(std::string_view bytes);  // unpadded
// Standard alphabet, padding optional, no whitespace; nullopt when invalid.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Sha256(std::string_view data);            // raw 32 bytes
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw
// Constant-time comparison for secrets.
bool SecureEquals(std::string_view a, std::string_view b);

}  // namespace kontor
