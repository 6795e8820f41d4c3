#include "core/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/crypto.h"

namespace kontor {
namespace {

std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n);
  BIO_free(bio);
  return out;
}

std::string Unbase64Url(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  return Base64Decode(s).value_or("<bad>");
}

// Verifies with OpenSSL what SignJwt produced, the way a receiver would.
bool Verify(EVP_PKEY* key, const std::string& jwt, bool ecdsa) {
  const size_t dot = jwt.rfind('.');
  const std::string input = jwt.substr(0, dot);
  std::string sig = Unbase64Url(jwt.substr(dot + 1));
  if (ecdsa) {
    if (sig.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int n = i2d_ECDSA_SIG(es, &der);
    sig.assign(reinterpret_cast<char*>(der), n);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  const int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()),
                                  sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                                  input.size());
  EVP_MD_CTX_free(ctx);
  return ok == 1;
}

TEST(Jwt, Rs256AndEs256VerifyAndCarryHeaderAndClaims) {
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_TRUE(rsa && ec);
  json::object claims{{"iss", "svc@example.iam.gserviceaccount.com"}, {"iat", 1700000000}};
  auto rs = SignJwt(JwtAlg::kRs256, Pem(rsa), {{"kid", "k1"}}, claims);
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_TRUE(Verify(rsa, *rs, false));
  const std::string header = Unbase64Url(rs->substr(0, rs->find('.')));
  EXPECT_EQ(json::parse(header), json::parse(R"({"kid":"k1","alg":"RS256","typ":"JWT"})"));
  const size_t a = rs->find('.') + 1;
  EXPECT_EQ(json::parse(Unbase64Url(rs->substr(a, rs->rfind('.') - a))), json::value(claims));
  // ES256: raw r||s, verifiable; a different signature every time (random k).
  for (int i = 0; i < 20; ++i) {
    auto es = SignJwt(JwtAlg::kEs256, Pem(ec), {{"kid", "ABC123DEFG"}}, claims);
    ASSERT_TRUE(es.ok()) << es.status().ToString();
    EXPECT_TRUE(Verify(ec, *es, true));
  }
  // Wrong key types and garbage are refused.
  EXPECT_FALSE(SignJwt(JwtAlg::kEs256, Pem(rsa), {}, claims).ok());
  EXPECT_FALSE(SignJwt(JwtAlg::kRs256, Pem(ec), {}, claims).ok());
  EXPECT_FALSE(CheckJwtKey(JwtAlg::kRs256, "-----BEGIN PRIVATE KEY-----\nnope\n").ok());
  EXPECT_TRUE(CheckJwtKey(JwtAlg::kEs256, Pem(ec)).ok());
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
}

}  // namespace
}  // namespace kontor
