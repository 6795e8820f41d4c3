// Customers and the change feed, on SQLite and (with KONTOR_TEST_PG_URL) PostgreSQL.
#include "clients/customers.h"

#include <gtest/gtest.h>

#include "clients/changes.h"
#include "clients/lists.h"
#include "clients/subscriptions.h"
#include "store/test_fixture.h"

namespace kontor::clients {
namespace {

class CustomersTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    store::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    svc_ = std::make_unique<CustomerService>(db());
  }
  audit::Actor Actor() { return audit::Actor::System("test", now_); }
  CustomerInput Parse(const char* json, std::optional<std::string> id = std::nullopt) {
    auto body = ParseJsonObject(json);
    EXPECT_TRUE(body.ok());
    auto in = ParseCustomer(*body, id, now_);
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    return in.ok() ? *in : CustomerInput{};
  }
  int64_t Count(const char* sql) { return (*db().QueryRow(sql))->Int(0); }

  int64_t now_ = 1'800'000'000'000;
  std::unique_ptr<CustomerService> svc_;
};

TEST_P(CustomersTest, UpsertIsIdempotentAndVersioned) {
  const char* body = R"({"first_name":"Anna","email":"anna@example.com","tags":["vip","b","vip"],
                         "attributes":{"risk":3},"consent":{"email":{"status":"granted","source":"form"}}})";
  auto first = svc_->Upsert(Actor(), Parse(body, "C-1"), std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->customer.version, 1);
  EXPECT_EQ(first->customer.data.tags, (std::vector<std::string>{"b", "vip"}));

  now_ += 1000;
  auto again = svc_->Upsert(Actor(), Parse(body, "C-1"), std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->customer.version, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'customer.%'"), 1);

  auto changed = svc_->Upsert(Actor(), Parse(R"({"first_name":"Anne"})", "C-1"), int64_t{1});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->customer.version, 2);
  // Consent of channels not named is kept; tags are replaced.
  EXPECT_EQ(changed->customer.data.consent.at("email").status, "granted");
  EXPECT_TRUE(changed->customer.data.tags.empty());

  auto stale = svc_->Upsert(Actor(), Parse(R"({"first_name":"X"})", "C-1"), int64_t{1});
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
}

TEST_P(CustomersTest, ValidationNamesFields) {
  auto body = ParseJsonObject(R"({"email":"x","phone":"0301234","language":"DE","country":"Germany",
                                  "time_zone":"Nowhere/City","type":"robot","attributes":[],"tags":[""],
                                  "consent":{"email":{"status":"maybe"}},"bogus":1})");
  auto in = ParseCustomer(*body, std::string("C-9"), now_, "items[0].");
  ASSERT_EQ(in.status().code(), StatusCode::kValidation);
  std::set<std::string> fields;
  for (const auto& f : in.status().fields()) fields.insert(f.field);
  for (const char* f : {"items[0].email", "items[0].phone", "items[0].language", "items[0].country",
                        "items[0].time_zone", "items[0].type", "items[0].attributes", "items[0].tags[0]",
                        "items[0].consent.email.status", "items[0].bogus"}) {
    EXPECT_TRUE(fields.count(f)) << f;
  }
  EXPECT_FALSE(ValidateExternalId("a b").ok());
  EXPECT_TRUE(ValidateExternalId("crm:4711-A").ok());
}

TEST_P(CustomersTest, ErasureAnonymizesAndKeepsTheRecord) {
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Anna","email":"anna@example.com","tags":["t"]})", "C-2"),
                           std::nullopt).ok());
  auto erased = svc_->Erase(Actor(), "C-2", std::nullopt);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_FALSE(erased->data.email);
  EXPECT_FALSE(erased->data.first_name);
  EXPECT_TRUE(erased->erased_at);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM customer_tags"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM customers WHERE email IS NOT NULL"), 0);
  // The erasure's audit entry holds no personal data.
  auto row = db().QueryRow("SELECT after_json FROM audit_log WHERE action = 'customer.erase'");
  EXPECT_EQ((*row)->Str(0).find("anna"), std::string::npos);
  // Updating an erased customer is refused; erasing twice is a no-op.
  EXPECT_EQ(svc_->Upsert(Actor(), Parse(R"({"first_name":"Anna"})", "C-2"), std::nullopt).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(svc_->Erase(Actor(), "C-2", std::nullopt).ok());
  EXPECT_EQ(svc_->Erase(Actor(), "nobody", std::nullopt).status().code(), StatusCode::kNotFound);
}

TEST_P(CustomersTest, ChangeFeedIsOrderedAndResumable) {
  for (int i = 0; i < 5; ++i) {
    std::string id = "F-" + std::to_string(i);
    ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"F"})", id), std::nullopt).ok());
  }
  ASSERT_TRUE(svc_->Erase(Actor(), "F-0", std::nullopt).ok());
  auto page1 = ReadChanges(db(), 0, 4);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->items.size(), 4u);
  auto page2 = ReadChanges(db(), page1->next_cursor, 4);
  ASSERT_EQ(page2->items.size(), 2u);
  EXPECT_EQ(page2->items[1].at("op"), "delete");
  EXPECT_EQ(page2->items[1].at("key"), "F-0");
  auto page3 = ReadChanges(db(), page2->next_cursor, 4);
  EXPECT_TRUE(page3->items.empty());
  EXPECT_EQ(page3->next_cursor, page2->next_cursor);
}

TEST_P(CustomersTest, ListFiltersAndPages) {
  for (int i = 0; i < 7; ++i) {
    std::string id = "L-" + std::to_string(i);
    std::string body = std::string(R"({"last_name":"Name)") + std::to_string(i) + R"(","tags":[)" +
                       (i % 2 ? R"("odd")" : "") + "]}";
    ASSERT_TRUE(svc_->Upsert(Actor(), Parse(body.c_str(), id), std::nullopt).ok());
  }
  CustomerService::Filter f;
  f.tag = "odd";
  auto odd = svc_->List(f);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->first.size(), 3u);
  CustomerService::Filter pf;
  pf.limit = 3;
  std::vector<std::string> seen;
  for (;;) {
    auto page = svc_->List(pf);
    ASSERT_TRUE(page.ok());
    for (const auto& c : page->first) seen.push_back(c.data.external_id);
    if (!page->second) break;
    pf.after_id = page->second;
  }
  EXPECT_EQ(seen.size(), 7u);
  CustomerService::Filter q;
  q.q = "name3";
  EXPECT_EQ(svc_->List(q)->first.size(), 1u);
  q.q = "%";
  EXPECT_EQ(svc_->List(q)->first.size(), 0u);  // a literal percent, not a wildcard
}

TEST_P(CustomersTest, TimelineGathersTheCustomersRecordsAndErasureScrubsIt) {
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Tim","email":"tim@example.com"})", "T-1"),
                           std::nullopt).ok());
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Other"})", "T-2"), std::nullopt).ok());
  SubscriptionService subs(db());
  ASSERT_TRUE(subs.UpsertProduct(Actor(), "BRIEF", "Brief", "subscription", std::nullopt).ok());
  SubscriptionInput si;
  si.external_id = "S-1";
  si.customer = "T-1";
  si.product = "BRIEF";
  ASSERT_TRUE(subs.Upsert(Actor(), si, std::nullopt).ok());
  ListService lists(db());
  ListInput li;
  li.key = "vip";
  li.name = "VIP";
  ASSERT_TRUE(lists.Upsert(Actor(), li, std::nullopt).ok());
  ListInput dyn;
  dyn.key = "brief-readers";
  dyn.name = "Brief readers";
  dyn.kind = "products";
  dyn.product_codes = {"BRIEF"};
  ASSERT_TRUE(lists.Upsert(Actor(), dyn, std::nullopt).ok());
  ASSERT_TRUE(lists.AddMember(Actor(), "vip", "T-1").ok());
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Timo","email":"tim@example.com"})", "T-1"),
                           std::nullopt).ok());

  auto of = lists.ListsOf("T-1", now_);
  ASSERT_TRUE(of.ok()) << of.status().ToString();
  ASSERT_EQ(of->size(), 2u);
  EXPECT_EQ((*of)[0].data.key, "brief-readers");
  EXPECT_EQ((*of)[1].data.key, "vip");
  EXPECT_TRUE(lists.ListsOf("T-2", now_)->empty());
  EXPECT_EQ(lists.ListsOf("nobody", now_).status().code(), StatusCode::kNotFound);

  // Newest first, only T-1's records, paged.
  auto p1 = ReadCustomerTimeline(db(), "T-1", std::nullopt, 2);
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  ASSERT_EQ(p1->items.size(), 2u);
  EXPECT_EQ(p1->items[0].at("entity"), "customer");
  EXPECT_EQ(p1->items[0].at("op"), "update");
  EXPECT_EQ(p1->items[1].at("entity"), "list_membership");
  ASSERT_TRUE(p1->next_before);
  auto p2 = ReadCustomerTimeline(db(), "T-1", p1->next_before, 10);
  ASSERT_EQ(p2->items.size(), 2u);
  EXPECT_EQ(p2->items[0].at("entity"), "subscription");
  EXPECT_EQ(p2->items[1].at("op"), "create");
  EXPECT_FALSE(p2->next_before);

  // Erasure keeps that and when, drops what.
  ASSERT_TRUE(svc_->Erase(Actor(), "T-1", std::nullopt).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes WHERE CAST(data AS TEXT) LIKE '%tim@example.com%'"), 0);
  auto after = ReadCustomerTimeline(db(), "T-1", std::nullopt, 10);
  EXPECT_EQ(after->items.size(), 5u);
  EXPECT_TRUE(lists.ListsOf("T-1", now_)->empty());
}

// UpsertMany inside the caller's transaction and in its own (worked out
// before it) answer and write the same.
class CustomersBatchTest : public CustomersTest {
 protected:
  using Results = std::vector<Result<UpsertResult>>;
  Results RunBatch(std::vector<CustomerInput> items) {
    Results out;
    if (own_transaction_) {
      auto r = svc_->UpsertMany(Actor(), std::move(items));
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) out = std::move(r).value();
      return out;
    }
    Status st = db().Transact([&](store::Connection& c) -> Status {
      ASSIGN_OR_RETURN(out, svc_->UpsertMany(c, Actor(), items));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  // The change feed's latest data of the customer: its API JSON.
  void ExpectFeedHoldsCustomer(const std::string& external_id) {
    auto row = db().QueryRow(
        "SELECT data FROM changes WHERE entity_key = ? ORDER BY seq DESC LIMIT 1", {external_id});
    ASSERT_TRUE(row.ok() && *row);
    auto stored = svc_->Get(external_id);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(json::parse((**row).Str(0)), json::value(CustomerToJson(*stored))) << external_id;
  }

  bool own_transaction_ = false;
};

TEST_P(CustomersBatchTest, UpsertManyAppliesInOrderAndReportsPerItem) {
  for (bool own : {false, true}) {
    own_transaction_ = own;
    SCOPED_TRACE(own ? "own transaction" : "caller's transaction");
    const std::string p = own ? "B" : "A";
    auto id = [&](int n) { return p + "-" + std::to_string(n); };
    ASSERT_TRUE(
        svc_->Upsert(Actor(),
                     Parse(R"({"first_name":"Old","consent":{"sms":{"status":"granted"}}})", id(1)),
                     std::nullopt)
            .ok());
    ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Same"})", id(2)), std::nullopt).ok());
    ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Gone"})", id(3)), std::nullopt).ok());
    ASSERT_TRUE(svc_->Erase(Actor(), id(3), std::nullopt).ok());
    const int64_t changes_before = Count("SELECT COUNT(*) FROM changes");
    now_ += 1000;
    Results out = RunBatch({
        Parse(R"({"first_name":"New","email":"m1@example.com","tags":["a"]})", id(1)),  // update
        Parse(R"({"first_name":"Same"})", id(2)),                                       // unchanged
        Parse(R"({"first_name":"Back"})", id(3)),                                       // erased
        Parse(R"({"first_name":"Fresh","tags":["x","y"]})", id(4)),                     // create
        Parse(R"({"first_name":"Fresher","tags":["y"]})", id(4)),  // then update
    });
    ASSERT_EQ(out.size(), 5u);
    ASSERT_TRUE(out[0].ok());
    EXPECT_TRUE(out[0]->changed);
    EXPECT_EQ(out[0]->customer.version, 2);
    EXPECT_EQ(out[0]->customer.data.consent.at("sms").status, "granted")
        << "consent of channels not named stays";
    ASSERT_TRUE(out[1].ok());
    EXPECT_FALSE(out[1]->changed);
    EXPECT_EQ(out[2].status().code(), StatusCode::kFailedPrecondition);
    ASSERT_TRUE(out[3].ok());
    EXPECT_TRUE(out[3]->created);
    ASSERT_TRUE(out[4].ok());
    EXPECT_EQ(out[4]->customer.version, 2);

    auto m4 = svc_->Get(id(4));
    ASSERT_TRUE(m4.ok());
    EXPECT_EQ(*m4->data.first_name, "Fresher");
    EXPECT_EQ(m4->data.tags, (std::vector<std::string>{"y"}));
    EXPECT_EQ(m4->version, 2);
    auto m1 = svc_->Get(id(1));
    EXPECT_EQ(m1->data.tags, (std::vector<std::string>{"a"}));
    EXPECT_EQ(m1->data, out[0]->customer.data) << "the answer is what was stored";
    EXPECT_EQ(m1->id, out[0]->customer.id);
    EXPECT_EQ(m1->updated_at, now_);
    // One change per write, in item order; erased and unchanged items wrote nothing.
    auto feed = ReadChanges(db(), 0, 1000);
    ASSERT_EQ(static_cast<int64_t>(feed->items.size()), changes_before + 3);
    const json::array changes(feed->items.begin() + changes_before, feed->items.end());
    EXPECT_EQ(changes[0].at("key").as_string(), id(1));
    EXPECT_EQ(changes[1].at("key").as_string(), id(4));
    EXPECT_EQ(changes[1].at("op"), "create");
    EXPECT_EQ(changes[2].at("op"), "update");
    ExpectFeedHoldsCustomer(id(1));
    ExpectFeedHoldsCustomer(id(4));
    // The audit trail names changed fields, never their values.
    auto audit = db().QueryRow(
        "SELECT after_json FROM audit_log WHERE resource_id = ? ORDER BY id DESC", {id(1)});
    EXPECT_EQ(json::parse((*audit)->Str(0)),
              json::parse(R"({"version":2,"fields":["first_name","email","tags"]})"));
    audit = db().QueryRow(
        "SELECT after_json FROM audit_log WHERE resource_id = ? AND action = 'customer.create'",
        {id(4)});
    EXPECT_EQ(json::parse((*audit)->Str(0)),
              json::parse(R"({"version":1,"fields":["type","first_name","status","tags"]})"));
    EXPECT_EQ(Count("SELECT COUNT(*) FROM customer_tags"), own ? 4 : 2);
  }
}

TEST_P(CustomersBatchTest, PreparedItemsAreWorkedOutAgainWhenTheirCustomerChanged) {
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"One"})", "S-1"), std::nullopt).ok());
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Two"})", "S-2"), std::nullopt).ok());
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Three"})", "S-3"), std::nullopt).ok());
  now_ += 1000;
  auto prepared = svc_->PrepareUpserts(
      Actor(), {
                   Parse(R"({"first_name":"Batch"})", "S-1"),  // changed meanwhile: still an update
                   Parse(R"({"first_name":"Two"})", "S-2"),    // erased meanwhile
                   Parse(R"({"first_name":"Three"})", "S-3"),  // unchanged, then changed meanwhile
                   Parse(R"({"first_name":"Four"})", "S-4"),   // created meanwhile, the same
                   Parse(R"({"first_name":"Five"})", "S-5"),   // created by the batch
                   Parse(R"({"first_name":"Six"})", "S-4"),    // repeated: after the earlier S-4
               });
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  // What other requests do between the read and the write transaction.
  ASSERT_TRUE(
      svc_->Upsert(
              Actor(),
              Parse(R"({"first_name":"Changed","consent":{"sms":{"status":"granted"}}})", "S-1"),
              std::nullopt)
          .ok());
  ASSERT_TRUE(svc_->Erase(Actor(), "S-2", std::nullopt).ok());
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Other"})", "S-3"), std::nullopt).ok());
  ASSERT_TRUE(svc_->Upsert(Actor(), Parse(R"({"first_name":"Four"})", "S-4"), std::nullopt).ok());
  const int64_t changes_before = Count("SELECT COUNT(*) FROM changes");

  auto out = svc_->ApplyUpserts(std::move(*prepared));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 6u);
  ASSERT_TRUE((*out)[0].ok());
  EXPECT_EQ((*out)[0]->customer.version, 3);
  EXPECT_EQ((*out)[0]->customer.data.consent.count("sms"), 1u)
      << "merged with the consent given meanwhile";
  EXPECT_EQ((*out)[1].status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*out)[2].ok());
  EXPECT_TRUE((*out)[2]->changed);
  EXPECT_EQ((*out)[2]->customer.version, 3);
  ASSERT_TRUE((*out)[3].ok());
  EXPECT_FALSE((*out)[3]->created);
  EXPECT_FALSE((*out)[3]->changed);
  ASSERT_TRUE((*out)[4].ok());
  EXPECT_TRUE((*out)[4]->created);
  ASSERT_TRUE((*out)[5].ok());
  EXPECT_EQ((*out)[5]->customer.version, 2);

  auto s1 = svc_->Get("S-1");
  EXPECT_EQ(*s1->data.first_name, "Batch");
  EXPECT_EQ(s1->data, (*out)[0]->customer.data);
  EXPECT_EQ(s1->version, 3);
  EXPECT_EQ(*svc_->Get("S-3")->data.first_name, "Three");
  EXPECT_EQ(*svc_->Get("S-4")->data.first_name, "Six");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes") - changes_before, 4);  // S-1, S-3, S-5, S-4
  for (const char* id : {"S-1", "S-3", "S-4", "S-5"}) ExpectFeedHoldsCustomer(id);
  auto audit =
      db().QueryRow("SELECT after_json FROM audit_log WHERE resource_id = 'S-1' ORDER BY id DESC");
  EXPECT_EQ(json::parse((*audit)->Str(0)), json::parse(R"({"version":3,"fields":["first_name"]})"));
}

TEST_P(CustomersBatchTest, BatchThatChangesNothingWritesNothing) {
  own_transaction_ = true;
  ASSERT_TRUE(RunBatch({Parse(R"({"first_name":"One","tags":["t"]})", "U-1")})[0].ok());
  const int64_t changes = Count("SELECT COUNT(*) FROM changes");
  const int64_t audit = Count("SELECT COUNT(*) FROM audit_log");
  Results out = RunBatch({Parse(R"({"first_name":"One","tags":["t"]})", "U-1")});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].ok());
  EXPECT_FALSE(out[0]->changed);
  EXPECT_EQ(out[0]->customer.version, 1);
  EXPECT_EQ(out[0]->customer.data.tags, (std::vector<std::string>{"t"}));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes"), changes);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log"), audit);
}

// The change feed's copy of a customer is written as text directly; it must
// be the JSON of the API, escapes included.
TEST_P(CustomersBatchTest, CustomerJsonEscapesLikeTheSerializer) {
  own_transaction_ = true;
  const std::string odd =
      "quote\" back\\ slash/ tab\t nl\n cr\r ff\f bs\b ctl\x01\x1f del\x7f \xc3\xbc \xe2\x82\xac";
  const std::string tag = "t\"\\\x01\xc3\xbc";
  json::object body{
      {"first_name", odd},
      {"attributes",
       {{"k\"\n", odd}, {"n", 1.5}, {"big", 12345678901234}, {"a", {1, "x", nullptr, true}}}},
      {"tags", {tag, "plain"}},
      {"consent", {{"email", {{"status", "granted"}, {"source", odd}}}}}};
  auto in = ParseCustomer(body, std::string("J-1"), now_);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  Results out = RunBatch({*in});
  ASSERT_TRUE(out[0].ok());
  json::object j = CustomerToJson(out[0]->customer);
  EXPECT_EQ(j.at("first_name").as_string(), odd);
  EXPECT_EQ(j.at("attributes"), body.at("attributes"));
  EXPECT_EQ(j.at("tags"), (json::array{"plain", tag}));
  EXPECT_EQ(j.at("consent").at("email").at("source").as_string(), odd);
  EXPECT_EQ(j.at("id").as_string(), std::to_string(out[0]->customer.id));
  EXPECT_TRUE(j.at("erased_at").is_null());
  ExpectFeedHoldsCustomer("J-1");
  if (GetParam() == store::Dialect::kSqlite) {  // PostgreSQL stores JSONB, reformatted
    auto row = db().QueryRow("SELECT data FROM changes WHERE entity_key = 'J-1'");
    const std::string text = (*row)->Str(0);
    EXPECT_EQ(text, json::serialize(json::parse(text))) << "escaped as json::serialize escapes";
  }
}

INSTANTIATE_DATABASE_TEST(CustomersBatchTest);
INSTANTIATE_DATABASE_TEST(CustomersTest);

}  // namespace
}  // namespace kontor::clients
