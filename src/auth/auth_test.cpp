#include <gtest/gtest.h>

#include "auth/auth_service.h"
#include "auth/password.h"
#include "auth/permissions.h"
#include "store/test_fixture.h"

namespace kontor::auth {
namespace {

TEST(Permissions, BuiltinRolesMatchTheTable) {
  std::map<std::string, PermissionSet> roles;
  for (const auto& r : BuiltinRoles()) roles[r.name] = r.permissions;
  ASSERT_EQ(roles.size(), 6u);
  EXPECT_EQ(roles["admin"], PermissionSet::All(Level::kWrite));
  EXPECT_EQ(roles["auditor"], PermissionSet::All(Level::kRead));
  EXPECT_EQ(roles["editor"].Get(Component::kEditions), Level::kWrite);
  EXPECT_EQ(roles["editor"].Get(Component::kPayments), Level::kNone);
  EXPECT_EQ(roles["payments-operator"].Get(Component::kPayments), Level::kWrite);
  EXPECT_EQ(roles["payments-operator"].Get(Component::kAdmin), Level::kNone);
}

TEST(Permissions, OverridesAllowRestrictDeny) {
  PermissionSet base = PermissionSet::All(Level::kRead);
  Overrides o = {{Component::kPayments, Level::kWrite}, {Component::kAdmin, Level::kNone}};
  PermissionSet p = ApplyOverrides(base, o);
  EXPECT_EQ(p.Get(Component::kPayments), Level::kWrite);
  EXPECT_EQ(p.Get(Component::kAdmin), Level::kNone);
  EXPECT_EQ(p.Get(Component::kCustomers), Level::kRead);
}

TEST(Permissions, ScopesNarrow) {
  auto s = ScopesToPermissions({"customers:read", "payments:write"});
  ASSERT_TRUE(s.ok());
  PermissionSet eff = PermissionSet::All(Level::kWrite).Intersect(*s);
  EXPECT_EQ(eff.Get(Component::kCustomers), Level::kRead);
  EXPECT_EQ(eff.Get(Component::kPayments), Level::kWrite);
  EXPECT_EQ(eff.Get(Component::kAdmin), Level::kNone);
  EXPECT_FALSE(ScopesToPermissions({"bogus"}).ok());
  EXPECT_FALSE(ScopesToPermissions({"admin:none"}).ok());
}

TEST(Password, Argon2idRoundTrip) {
  ASSERT_TRUE(InitCrypto().ok());
  auto h = HashPassword("correct horse battery");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->starts_with("$argon2id$"));
  EXPECT_TRUE(VerifyPassword(*h, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*h, "correct horse batterx"));
  EXPECT_FALSE(ValidatePassword("short").ok());
  EXPECT_FALSE(ValidatePassword("aaaaaaaaaaaa").ok());
}

class AuthServiceTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    store::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    AuthOptions o;
    o.token_cache_seconds = 0;
    svc_ = std::make_unique<AuthService>(db(), clock_, o);
    ASSERT_TRUE(svc_->SeedRoles().ok());
    auto u = svc_->CreateUser(Actor(), {"Admin@Example.com", "Admin", "a-good-password", "admin"});
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    admin_ = *u;
  }
  audit::Actor Actor() {
    auto a = audit::Actor::System("test", clock_.NowMs());
    a.client_ip = "10.0.0.1";
    return a;
  }
  http::Request Bearer(const std::string& token) {
    http::Request r;
    r.headers.emplace_back("authorization", "Bearer " + token);
    return r;
  }
  FakeClock clock_{1'800'000'000'000};
  std::unique_ptr<AuthService> svc_;
  User admin_;
};

TEST_P(AuthServiceTest, EmailIsCaseInsensitiveAndUnique) {
  EXPECT_EQ(admin_.email, "admin@example.com");
  auto dup = svc_->CreateUser(Actor(), {"ADMIN@example.com", "X", "another-password", "editor"});
  EXPECT_EQ(dup.status().code(), StatusCode::kConflict);
}

TEST_P(AuthServiceTest, TokenLifecycle) {
  NewToken nt;
  nt.user_id = admin_.id;
  nt.name = "ci";
  nt.expires_in_days = 1;
  auto created = svc_->CreateToken(Actor(), nt);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string secret = created->first;
  EXPECT_TRUE(secret.starts_with("kt_"));
  EXPECT_GE(secret.size(), 3u + 32u);  // 192 bits in base64url
  // Only the hash is stored.
  auto row = db().QueryRow("SELECT token_hash FROM api_tokens");
  EXPECT_NE((*row)->Str(0), secret);
  EXPECT_EQ((*row)->Str(0).size(), 64u);

  auto p = svc_->Authenticate(Bearer(secret));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->user_id, admin_.id);
  auto listed = svc_->ListTokens(true);
  ASSERT_TRUE(listed->front().last_used_at.has_value());

  clock_.Advance(std::chrono::hours(25));
  EXPECT_EQ(svc_->Authenticate(Bearer(secret)).status().code(), StatusCode::kUnauthenticated);
}

TEST_P(AuthServiceTest, RevokedTokenFails) {
  NewToken nt;
  nt.user_id = admin_.id;
  nt.name = "x";
  auto created = svc_->CreateToken(Actor(), nt);
  ASSERT_TRUE(svc_->Authenticate(Bearer(created->first)).ok());
  ASSERT_TRUE(svc_->RevokeToken(Actor(), created->second.id).ok());
  EXPECT_FALSE(svc_->Authenticate(Bearer(created->first)).ok());
  EXPECT_FALSE(svc_->Authenticate(Bearer("kt_notatoken1234567890")).ok());
  EXPECT_FALSE(svc_->Authenticate(Bearer("garbage")).ok());
}

TEST_P(AuthServiceTest, LoginLockoutAndSessionExpiry) {
  for (int i = 0; i < 5; ++i) {
    auto r = svc_->Login(Actor(), "admin@example.com", "wrong-password", "ua");
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  }
  auto locked = svc_->Login(Actor(), "admin@example.com", "a-good-password", "ua");
  ASSERT_EQ(locked.status().code(), StatusCode::kResourceExhausted);
  EXPECT_GT(locked.status().retry_after(), 0);
  EXPECT_LE(locked.status().retry_after(), 15 * 60);

  clock_.Advance(std::chrono::minutes(16));
  auto ok = svc_->Login(Actor(), "admin@example.com", "a-good-password", "ua");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  http::Request req;
  req.headers.emplace_back("cookie", "other=1; kontor_session=" + ok->session_token);
  auto p = svc_->Authenticate(req);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->csrf_token, ok->csrf_token);
  clock_.Advance(std::chrono::hours(13));
  EXPECT_FALSE(svc_->Authenticate(req).ok());
}

TEST_P(AuthServiceTest, DisabledUserLosesAccess) {
  auto u = svc_->CreateUser(Actor(), {"ed@example.com", "Ed", "editor-password", "editor"});
  NewToken nt;
  nt.user_id = u->id;
  nt.name = "ed";
  auto tok = svc_->CreateToken(Actor(), nt);
  ASSERT_TRUE(svc_->Authenticate(Bearer(tok->first)).ok());
  UserPatch patch;
  patch.status = "disabled";
  ASSERT_TRUE(svc_->UpdateUser(Actor(), u->id, patch).ok());
  EXPECT_FALSE(svc_->Authenticate(Bearer(tok->first)).ok());
  EXPECT_FALSE(svc_->Login(Actor(), "ed@example.com", "editor-password", "").ok());
}

TEST_P(AuthServiceTest, LastAdminIsKept) {
  UserPatch patch;
  patch.role = "editor";
  EXPECT_EQ(svc_->UpdateUser(Actor(), admin_.id, patch).status().code(), StatusCode::kFailedPrecondition);
}

TEST_P(AuthServiceTest, EveryChangeIsAudited) {
  auto n = db().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'");
  EXPECT_EQ((*n)->Int(0), 1);
  Role r;
  r.name = "custom";
  ASSERT_TRUE(svc_->CreateRole(Actor(), r).ok());
  ASSERT_TRUE(svc_->DeleteRole(Actor(), "custom").ok());
  auto rows = db().Execute("SELECT action, actor_label, client_ip FROM audit_log ORDER BY id");
  ASSERT_EQ(rows->rows.size(), 3u);
  EXPECT_EQ(rows->rows[2].Str(0), "role.delete");
  EXPECT_EQ(rows->rows[2].Str(1), "test");
  EXPECT_EQ(rows->rows[2].Str(2), "10.0.0.1");
}

INSTANTIATE_DATABASE_TEST(AuthServiceTest);

}  // namespace
}  // namespace kontor::auth
