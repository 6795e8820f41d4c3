// The webhook client refuses internal addresses unless told otherwise.
#include "webhooks/http_client.h"

#include <gtest/gtest.h>

namespace kontor::webhooks {
namespace {

PostResult PostTo(const HttpClient& c, const std::string& url) {
  PostRequest r;
  r.url = url;
  r.body = "{}";
  r.timeout = std::chrono::milliseconds(2000);
  return c.Post(r);
}

TEST(WebhookHttpClient, RefusesInternalAddressesByDefault) {
  auto client = HttpClient::Create("");
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (const char* url : {"http://127.0.0.1:9/", "http://localhost:9/", "http://10.1.2.3/", "http://172.20.0.1/",
                          "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/",
                          "http://[fd00::1]/", "http://[::ffff:10.0.0.1]/", "http://0.0.0.0:9/",
                          "http://100.64.0.1/"}) {
    PostResult r = PostTo(**client, url);
    EXPECT_EQ(r.status, 0) << url;
    EXPECT_NE(r.error.find("internal address"), std::string::npos) << url << ": " << r.error;
  }
}

TEST(WebhookHttpClient, InternalAddressesAllowedWhenConfigured) {
  auto client = HttpClient::Create("", /*allow_private_networks=*/true);
  ASSERT_TRUE(client.ok());
  // Port 9 (discard) is closed here: the attempt gets as far as connecting.
  PostResult r = PostTo(**client, "http://127.0.0.1:9/");
  EXPECT_EQ(r.error.find("internal address"), std::string::npos) << r.error;
  EXPECT_NE(r.error, "");
}

}  // namespace
}  // namespace kontor::webhooks
