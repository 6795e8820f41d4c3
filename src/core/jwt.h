// Signing JSON Web Tokens (RFC 7519) for the providers that authenticate
// with one: RS256 for Google's OAuth2 service-account flow (FCM) and ES256
// for APNs provider tokens. Signing only; Kontor never accepts JWTs.
#pragma once

#include <string>

#include "core/json.h"
#include "core/status.h"

namespace kontor {

enum class JwtAlg { kRs256, kEs256 };

// header.claims.signature, each base64url. `header` gets "alg" (and "typ":
// "JWT" unless given); `pem_private_key` is a PKCS#8 or traditional PEM key
// of the matching type (RSA for RS256, P-256 for ES256). ES256 signatures
// are raw r||s (64 bytes), as JWS requires, not DER.
Result<std::string> SignJwt(JwtAlg alg, const std::string& pem_private_key, json::object header,
                            const json::object& claims);

// Checks that `pem_private_key` parses and fits `alg`, for configuration
// errors at startup rather than at the first message.
Status CheckJwtKey(JwtAlg alg, const std::string& pem_private_key);

}  // namespace kontor
