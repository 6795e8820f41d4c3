#include "clients/devices.h"

#include <gtest/gtest.h>

#include "store/test_fixture.h"

namespace kontor::clients {
namespace {

class DevicesTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    store::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    svc_ = std::make_unique<DeviceService>(db());
  }
  Device Register(const std::string& id, int64_t at, const char* token) {
    DeviceInput in;
    in.installation_id = id;
    in.platform = "android";
    in.token = token;
    auto d = svc_->Upsert(audit::Actor::System("test", at), in);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d->first;
  }
  std::unique_ptr<DeviceService> svc_;
};

TEST_P(DevicesTest, StaleAfterCutoffAndRevivedByANewToken) {
  const int64_t day = 86400000, t0 = 1'800'000'000'000;
  Register("old", t0, "tok-old");
  Register("fresh", t0 + 300 * day, "tok-fresh");
  auto n = svc_->MarkStale(t0 + 300 * day, t0 + 300 * day - 270 * day);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(svc_->Get("old")->status, "stale");
  EXPECT_EQ(svc_->Get("fresh")->status, "active");
  // The same token again does not revive it; a new one does.
  EXPECT_EQ(Register("old", t0 + 301 * day, "tok-old").status, "stale");
  EXPECT_EQ(Register("old", t0 + 302 * day, "tok-new").status, "active");
  EXPECT_EQ(*svc_->MarkStale(t0 + 302 * day, t0), 0);
}

TEST_P(DevicesTest, OneTokenOneActiveInstallationUnregisterAndStats) {
  const int64_t t0 = 1'800'000'000'000;
  Register("anon", t0, "tok-shared");
  // The app reinstalled (or logged in under a new installation id) with the
  // same token: the old row must not get the same messages too.
  Register("after-login", t0 + 1000, "tok-shared");
  EXPECT_EQ(svc_->Get("anon")->status, "unregistered");
  EXPECT_EQ(svc_->Get("after-login")->status, "active");
  Register("other", t0 + 2000, "tok-other");
  auto u = svc_->Unregister(audit::Actor::System("test", t0 + 3000), "other");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->status, "unregistered");
  EXPECT_TRUE(svc_->Unregister(audit::Actor::System("test", t0 + 3000), "other").ok());
  EXPECT_EQ(svc_->Unregister(audit::Actor::System("test", t0), "nope").status().code(),
            StatusCode::kNotFound);
  DeviceInput ios;
  ios.installation_id = "phone";
  ios.platform = "ios";
  ios.token = "abcd";
  ASSERT_TRUE(svc_->Upsert(audit::Actor::System("test", t0), ios).ok());
  ASSERT_TRUE(svc_->MarkStale(t0 + 10, t0 + 1).ok());  // "phone" was seen at t0
  auto stats = svc_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].platform, "android");
  EXPECT_EQ((*stats)[0].active, 1);
  EXPECT_EQ((*stats)[0].unregistered, 2);
  EXPECT_EQ((*stats)[1].platform, "ios");
  EXPECT_EQ((*stats)[1].stale, 1);
}

INSTANTIATE_DATABASE_TEST(DevicesTest);

}  // namespace
}  // namespace kontor::clients
