#include "webhooks/signing.h"

#include "core/crypto.h"

namespace kontor::webhooks {

std::string NewSecret() { return "whsec_" + Base64UrlEncode(RandomBytes(32)); }

std::string Sign(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string message = std::to_string(unix_seconds);
  message += '.';
  message += body;
  return "v1=" + HexEncode(HmacSha256(secret, message));
}

}  // namespace kontor::webhooks
