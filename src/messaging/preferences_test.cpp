// Preferences, the suppression list and signed links on both databases.
#include "messaging/preferences.h"

#include <gtest/gtest.h>

#include "store/test_fixture.h"

namespace kontor::messaging {
namespace {

constexpr int64_t kT0 = 1767225600000;

TEST(PreferencesLinkTest, SignsVerifiesAndRefusesTamperingAndExpiry) {
  PreferenceLinks links("secret-1", "https://kontor.example/");
  const std::string token = links.Make(42, kT0 + 1000);
  auto id = links.Verify(token, kT0);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 42);
  auto expired = links.Verify(token, kT0 + 1000);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kFailedPrecondition);
  // Another secret, a flipped character, garbage: all refused.
  EXPECT_EQ(PreferenceLinks("secret-2").Verify(token, kT0).status().code(),
            StatusCode::kPermissionDenied);
  std::string flipped = token;
  flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(links.Verify(flipped, kT0).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(links.Verify("not a token", kT0).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(links.Verify("", kT0).status().code(), StatusCode::kPermissionDenied);

  const std::string url = links.UnsubscribeUrl(7, kT0);
  ASSERT_TRUE(url.starts_with("https://kontor.example/v1/unsubscribe/")) << url;
  auto from_url = links.Verify(url.substr(url.rfind('/') + 1), kT0);
  ASSERT_TRUE(from_url.ok());
  EXPECT_EQ(*from_url, 7);
  EXPECT_EQ(PreferenceLinks("s").UnsubscribeUrl(7, kT0), "");

  NewMessage m;
  m.channel = "email";
  m.purpose = "marketing";
  m.customer_id = 7;
  links.AddListUnsubscribe(m, kT0);
  ASSERT_TRUE(m.content.contains("list_unsubscribe"));
  NewMessage t = m;
  t.purpose = "transactional";
  t.content.clear();
  links.AddListUnsubscribe(t, kT0);
  EXPECT_FALSE(t.content.contains("list_unsubscribe"));
}

TEST(PreferencesJsonTest, ParsesAndNamesFields) {
  auto p = PreferencesFromJson(
      json::parse(R"({"topics":{"offers":{"email":false,"push":true}}})").as_object());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->at("offers").at("email"), false);
  EXPECT_EQ(p->at("offers").size(), 2u);
  auto field_of = [](const char* body) {
    auto r = PreferencesFromJson(json::parse(body).as_object());
    return r.ok() ? std::string("ok") : r.status().fields().front().field;
  };
  EXPECT_EQ(field_of(R"({"topics":{"Bad Topic":{}}})"), "topics.Bad Topic");
  EXPECT_EQ(field_of(R"({"topics":{"offers":{"fax":false}}})"), "topics.offers.fax");
  EXPECT_EQ(field_of(R"({"topics":{"offers":{"email":"no"}}})"), "topics.offers.email");
  EXPECT_EQ(field_of(R"({})"), "topics");
}

class PreferencesDbTest : public store::DatabaseTest {
 protected:
  int64_t AddCustomer(const std::string& id) {
    auto r = db().QueryRow(
        "INSERT INTO customers (external_id, created_at, updated_at) VALUES "
        "(?, 0, 0) RETURNING id",
        {id});
    EXPECT_TRUE(r.ok() && *r);
    return (*r)->Int(0);
  }
};

TEST_P(PreferencesDbTest, ApplyPreferencesMarksOptOutsAndSuppressions) {
  const int64_t a = AddCustomer("a"), b = AddCustomer("b");
  auto actor = audit::Actor::System("test", kT0);
  ASSERT_TRUE(
      db().Transact([&](store::Connection& c) {
            return SavePreferences(c, actor, a, {{"offers", {{"email", false}, {"sms", true}}}});
          })
          .ok());
  ASSERT_TRUE(db().Execute("INSERT INTO suppressions (channel, recipient, reason, created_by, "
                           "created_at) VALUES ('email', 'bounced@example.com', 'bounce', 't', 0)")
                  .ok());
  std::vector<Candidate> cs = {
      {a, "email", "a@example.com", std::nullopt},
      {a, "sms", "+4930111", std::nullopt},
      {b, "email", "Bounced@Example.com", std::nullopt},
      {b, "sms", "+4930222", std::nullopt},
      {std::nullopt, "email", "x@example.com", std::string("no consent")},
  };
  ASSERT_TRUE(
      db().WithConnection([&](store::Connection& c) { return ApplyPreferences(c, "offers", cs); })
          .ok());
  EXPECT_EQ(cs[0].suppressed_because, "opted_out:offers");
  EXPECT_FALSE(cs[1].suppressed_because);
  EXPECT_EQ(cs[2].suppressed_because, "suppressed");
  EXPECT_FALSE(cs[3].suppressed_because);
  EXPECT_EQ(cs[4].suppressed_because, "no consent");  // kept
  // Another topic: only the suppression list applies.
  for (auto& k : cs) k.suppressed_because.reset();
  ASSERT_TRUE(
      db().WithConnection([&](store::Connection& c) { return ApplyPreferences(c, "news", cs); })
          .ok());
  EXPECT_FALSE(cs[0].suppressed_because);
  EXPECT_EQ(cs[2].suppressed_because, "suppressed");

  // Saving is audited only when something changed.
  auto audited = [&] {
    auto r = db().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'customer.preferences'");
    return (*r)->Int(0);
  };
  EXPECT_EQ(audited(), 1);
  ASSERT_TRUE(db().Transact([&](store::Connection& c) {
                    return SavePreferences(c, actor, a, {{"offers", {{"email", false}}}});
                  })
                  .ok());
  EXPECT_EQ(audited(), 1);
}

TEST_P(PreferencesDbTest, SecretIsGeneratedOnceAndShared) {
  auto s1 = PreferencesSecret(db(), "");
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  EXPECT_GE(s1->size(), 32u);
  auto s2 = PreferencesSecret(db(), "");
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(*s1, *s2);
  auto configured = PreferencesSecret(db(), "mine");
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(*configured, "mine");
}

INSTANTIATE_DATABASE_TEST(PreferencesDbTest);

}  // namespace
}  // namespace kontor::messaging
