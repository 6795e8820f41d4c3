#include "core/jwt.h"

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "core/crypto.h"

namespace kontor {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Result<Pkey> LoadKey(JwtAlg alg, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument("not a PEM private key");
  const int type = EVP_PKEY_base_id(key.get());
  if (alg == JwtAlg::kRs256 && type != EVP_PKEY_RSA)
    return Status::InvalidArgument("RS256 needs an RSA key");
  if (alg == JwtAlg::kEs256) {
    if (type != EVP_PKEY_EC || EVP_PKEY_get_bits(key.get()) != 256)
      return Status::InvalidArgument("ES256 needs a P-256 EC key");
  }
  return key;
}

}  // namespace

Status CheckJwtKey(JwtAlg alg, const std::string& pem_private_key) {
  return LoadKey(alg, pem_private_key).status();
}

Result<std::string> SignJwt(JwtAlg alg, const std::string& pem_private_key, json::object header,
                            const json::object& claims) {
  ASSIGN_OR_RETURN(Pkey key, LoadKey(alg, pem_private_key));
  header["alg"] = alg == JwtAlg::kRs256 ? "RS256" : "ES256";
  if (!header.contains("typ")) header["typ"] = "JWT";
  const std::string input =
      Base64UrlEncode(json::serialize(header)) + "." + Base64UrlEncode(json::serialize(claims));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    return Status::Internal("JWT signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Status::Internal("JWT signing failed");
  sig.resize(len);
  if (alg == JwtAlg::kEs256) {
    // OpenSSL writes ECDSA signatures as DER; JWS wants r and s, 32 bytes each.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> es(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())), ECDSA_SIG_free);
    if (!es) return Status::Internal("JWT signing: bad ECDSA signature");
    std::string raw(64, '\0');
    const BIGNUM* r = ECDSA_SIG_get0_r(es.get());
    const BIGNUM* s = ECDSA_SIG_get0_s(es.get());
    if (BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) != 32 ||
        BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) != 32)
      return Status::Internal("JWT signing: ECDSA value too large");
    sig = raw;
  }
  return input + "." + Base64UrlEncode(sig);
}

}  // namespace kontor
