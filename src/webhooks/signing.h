// Endpoint secrets and the signature every delivery carries, so a receiver
// can check that a request came from this server and was not replayed late.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kontor::webhooks {

// "whsec_" + 32 random bytes, base64url.
std::string NewSecret();

// The Kontor-Signature header value: "v1=" + lowercase hex
// HMAC-SHA256(secret, "<unix_seconds>.<body>"). The whole secret string
// (with its prefix) is the key, exactly as the receiver was shown it.
std::string Sign(std::string_view secret, int64_t unix_seconds, std::string_view body);

}  // namespace kontor::webhooks
