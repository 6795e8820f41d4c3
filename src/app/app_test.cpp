// Walks the whole route table for every built-in role and for no
// credentials, through the real pipeline, and checks the answer matches what
// each route declares: 401 without credentials, 403 without the permission,
// neither when the permission is there.
#include "app/app.h"

#include <gtest/gtest.h>

#include "auth/password.h"
#include "http/openapi.h"
#include "store/test_fixture.h"

namespace kontor {
namespace {

class RouteTableTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(auth::InitCrypto().ok());
    store::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Config cfg;
    cfg.db = db_url();
    cfg.jobs.enabled = false;
    auto db = OpenDatabase(cfg);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    app_ = std::make_unique<App>(cfg, std::move(db).value(), clock_);
    ASSERT_TRUE(app_->Init().ok());
  }

  std::string TokenForRole(const std::string& role) {
    audit::Actor a = audit::Actor::System("test", clock_.NowMs());
    auto u = app_->auth().CreateUser(a, {role + "@walk.test", role, "walk-password-1", role});
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    auth::NewToken nt;
    nt.user_id = u->id;
    nt.name = role;
    auto tok = app_->auth().CreateToken(a, nt);
    EXPECT_TRUE(tok.ok());
    return tok->first;
  }

  http::Response Call(const http::Route& route, const std::string& token) {
    http::Request req;
    req.method = route.method;
    req.path = route.pattern;
    // Every path parameter gets a value no resource has: ids are numeric.
    for (size_t open; (open = req.path.find('{')) != std::string::npos;) {
      size_t close = req.path.find('}', open);
      std::string name = req.path.substr(open + 1, close - open - 1);
      req.path.replace(open, close - open + 1, name == "id" ? "999999" : "no-such-thing");
    }
    req.target = req.path;
    req.client_ip = "127.0.0.1";
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    if (!route.request_schema.is_null()) {
      req.headers.emplace_back("content-type", "application/json");
      req.body = "{}";
    }
    return app_->dispatcher().Handle(req);
  }

  FakeClock clock_{1'800'000'000'000};
  std::unique_ptr<App> app_;
};

TEST_P(RouteTableTest, EveryRouteAnswersAsDeclaredForEveryRole) {
  std::map<std::string, std::string> tokens;
  for (const auto& r : auth::BuiltinRoles()) tokens[r.name] = TokenForRole(r.name);
  ASSERT_GT(app_->router().routes().size(), 20u);
  for (const http::Route& route : app_->router().routes()) {
    SCOPED_TRACE(route.method + " " + route.pattern);
    http::Response anon = Call(route, "");
    // Public routes that carry their own credential (a provider's request
    // signature, a signed link) refuse an anonymous call with 403 or 410.
    const bool own_credential = route.pattern.starts_with("/v1/sms/") ||
                                route.pattern.starts_with("/v1/preferences/") ||
                                route.pattern.starts_with("/v1/unsubscribe/");
    if (route.access.kind == http::Access::Kind::kPublic && own_credential) {
      EXPECT_TRUE(anon.status == 403 || anon.status == 410) << anon.status << " " << anon.body;
    } else if (route.access.kind == http::Access::Kind::kPublic) {
      EXPECT_NE(anon.status, 401);
      EXPECT_NE(anon.status, 403);
    } else {
      EXPECT_EQ(anon.status, 401) << anon.body;
    }
    for (const auto& role : auth::BuiltinRoles()) {
      SCOPED_TRACE(role.name);
      http::Response r = Call(route, tokens[role.name]);
      EXPECT_LT(r.status, 500) << r.body;
      bool allowed = route.access.kind != http::Access::Kind::kPermission ||
                     role.permissions.Allows(route.access.component, route.access.level);
      if (own_credential) {
        EXPECT_TRUE(r.status == 403 || r.status == 410) << r.status << " " << r.body;
      } else if (allowed) {
        EXPECT_NE(r.status, 401) << r.body;
        EXPECT_NE(r.status, 403) << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << r.body;
      }
    }
  }
}

TEST_P(RouteTableTest, OpenApiDescribesEveryRoute) {
  json::object doc = http::BuildOpenApi(app_->router(), "test");
  EXPECT_EQ(doc["openapi"], "3.1.0");
  const json::object& paths = doc["paths"].as_object();
  for (const http::Route& route : app_->router().routes()) {
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(paths.contains(route.pattern)) << route.pattern;
    const json::object& item = paths.at(route.pattern).as_object();
    ASSERT_TRUE(item.contains(method)) << route.method << " " << route.pattern;
    EXPECT_EQ(item.at(method).at("x-permission").as_string(), http::AccessString(route.access));
    const json::object& responses = item.at(method).at("responses").as_object();
    EXPECT_TRUE(responses.contains(std::to_string(route.success_status))) << route.pattern;
    if (route.access.kind != http::Access::Kind::kPublic) EXPECT_TRUE(responses.contains("401"));
  }
}

INSTANTIATE_DATABASE_TEST(RouteTableTest);

}  // namespace
}  // namespace kontor
