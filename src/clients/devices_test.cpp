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

INSTANTIATE_DATABASE_TEST(DevicesTest);

}  // namespace
}  // namespace kontor::clients
