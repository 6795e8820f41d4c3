// CSV import and export: the pure row logic, and the import service with its job on SQLite and
// (with KONTOR_TEST_PG_URL) PostgreSQL.
#include "clients/import.h"

#include <gtest/gtest.h>

#include "clients/csv_reader.h"
#include "clients/export.h"
#include "store/test_fixture.h"

namespace kontor::clients {
namespace {

std::vector<std::string> Fields(const Status& st) {
  std::vector<std::string> out;
  for (const auto& f : st.fields()) out.push_back(f.field);
  return out;
}

TEST(ImportMapping, SuggestsFieldsFromCommonHeaderNames) {
  std::vector<std::string> columns = {"Kundennummer",  "Vorname",  "Last Name",
                                      "E-Mail",        "Mobile",   "attributes.risk",
                                      "Email Address", "whatever", "consent_email"};
  auto m = SuggestMapping(ImportKind::kCustomers, columns);
  EXPECT_EQ(m[0], "external_id");
  EXPECT_EQ(m[1], "first_name");
  EXPECT_EQ(m[2], "last_name");
  EXPECT_EQ(m[3], "email");
  EXPECT_EQ(m[4], "phone");
  EXPECT_EQ(m[5], "attributes.risk");
  EXPECT_EQ(m[6], std::nullopt) << "email is taken by the first matching column";
  EXPECT_EQ(m[7], std::nullopt);
  EXPECT_EQ(m[8], "consent_email");
  auto s = SuggestMapping(ImportKind::kSubscriptions,
                          {"Subscription ID", "customer_id", "Product Code", "Start"});
  EXPECT_EQ(s[0], "external_id");
  EXPECT_EQ(s[1], "customer");
  EXPECT_EQ(s[2], "product");
  EXPECT_EQ(s[3], "starts_at");
}

TEST(ImportMapping, RejectsUnknownDuplicateAndMissingFields) {
  std::vector<std::string> columns = {"id", "mail", "mail2", "x"};
  auto bad =
      ParseMapping(ImportKind::kCustomers, columns,
                   *ParseJsonObject(R"({"mail":"email","mail2":"email","x":"nope","y":"email",
                                               "id":null})"));
  ASSERT_EQ(bad.status().code(), StatusCode::kValidation);
  auto fields = Fields(bad.status());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "mapping.mail2"), fields.end());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "mapping.x"), fields.end());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "mapping.y"), fields.end());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "mapping"), fields.end())
      << "external_id is required";

  auto attr = ParseMapping(ImportKind::kCustomers, columns,
                           *ParseJsonObject(R"({"id":"external_id","x":"attributes.bad name"})"));
  EXPECT_EQ(Fields(attr.status()), std::vector<std::string>{"mapping.x"});

  auto ok = ParseMapping(ImportKind::kCustomers, columns,
                         *ParseJsonObject(R"({"id":"external_id","x":"attributes.risk_class"})"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)[0], "external_id");
  EXPECT_EQ((*ok)[1], std::nullopt);
  EXPECT_EQ((*ok)[3], "attributes.risk_class");
}

TEST(ImportInspect, RejectsFilesThatAreNotUtf8Csv) {
  auto utf16 = InspectCsv(std::string("\xFF\xFEi\0d\0\n\0", 8));
  EXPECT_EQ(Fields(utf16.status()), std::vector<std::string>{"file"});
  auto bomless16 = InspectCsv(std::string("i\0d\0\n\0", 6));
  EXPECT_EQ(Fields(bomless16.status()), std::vector<std::string>{"file"});
  auto latin1 = InspectCsv("id,name\n1,M\xFCller\n");
  EXPECT_EQ(Fields(latin1.status()), std::vector<std::string>{"file"});
  EXPECT_EQ(Fields(InspectCsv("").status()), std::vector<std::string>{"file"});
  EXPECT_EQ(Fields(InspectCsv("id,id\n1,2\n").status()), std::vector<std::string>{"file"});

  // One bad record in a UTF-8 file is the import's business (a row error), not the upload's.
  auto mixed = InspectCsv("\xEF\xBB\xBFid;name\n1;M\xC3\xBCller\n2;M\xFCller\n3;x\n");
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  EXPECT_EQ(mixed->delimiter, ';');
  EXPECT_EQ(mixed->columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(mixed->records, 3);
  ASSERT_EQ(mixed->preview.size(), 2u);
  EXPECT_EQ(mixed->preview[0][1], "M\xC3\xBCller");
}

TEST(ImportRows, BuildCustomerMergesOntoTheStoredCustomer) {
  std::vector<std::string> columns = {"id", "mail", "tags", "risk", "news"};
  ColumnMapping mapping = {"external_id", "email", "tags", "attributes.risk", "consent_email"};
  CustomerInput stored;
  stored.external_id = "C-1";
  stored.first_name = "Anna";
  stored.email = "old@example.com";
  stored.attributes = {{"risk", 3}, {"segment", "gold"}};
  stored.consent["email"] = {"granted", "web form", 1000};
  stored.consent["sms"] = {"granted", "api", 1000};
  std::vector<RowError> errors;
  MappedRow row(columns, mapping, {"C-1", "new@example.com", "b | a|", "3", "yes"}, 2);
  auto in = BuildCustomer(row, stored, 5000, &errors);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(in->first_name, "Anna") << "unmapped fields keep their value";
  EXPECT_EQ(in->email, "new@example.com");
  EXPECT_EQ(in->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(in->attributes.at("risk"), json::value(3)) << "the same text keeps the number";
  EXPECT_EQ(in->attributes.at("segment"), json::value("gold"));
  EXPECT_EQ(in->consent.at("email").source, "web form") << "same status: consent untouched";
  EXPECT_EQ(in->consent.count("sms"), 0u) << "unmapped channels are left to the stored state";

  MappedRow changed(columns, mapping, {"C-1", "", "", "", "no"}, 3);
  in = BuildCustomer(changed, stored, 5000, &errors);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->email, std::nullopt) << "an empty cell clears";
  EXPECT_TRUE(in->tags.empty());
  EXPECT_EQ(in->attributes.count("risk"), 0u);
  EXPECT_EQ(in->consent.at("email").status, "withdrawn");
  EXPECT_EQ(in->consent.at("email").source, "import");

  MappedRow bad(columns, mapping, {"C 1", "nope", "ok", "'=1+1", "maybe"}, 7);
  in = BuildCustomer(bad, std::nullopt, 5000, &errors);
  EXPECT_FALSE(in.ok());
  ASSERT_EQ(errors.size(), 3u);
  std::map<std::string, RowError> by_field;
  for (const auto& e : errors) by_field[e.field] = e;
  EXPECT_EQ(by_field["external_id"].column, "id");
  EXPECT_EQ(by_field["email"].column, "mail");
  EXPECT_EQ(by_field["consent_email"].column, "news");
  for (const auto& e : errors) EXPECT_EQ(e.row, 7);

  // The export's formula guard is undone.
  MappedRow guarded({"id", "phone"}, {"external_id", "phone"}, {"C-2", "'+4930123456"}, 2);
  errors.clear();
  in = BuildCustomer(guarded, std::nullopt, 5000, &errors);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->phone, "+4930123456");
}

class ImportServiceTest : public store::DatabaseTest {
 protected:
  void SetUp() override {
    store::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    customers_ = std::make_unique<CustomerService>(db());
    subscriptions_ = std::make_unique<SubscriptionService>(db());
    jobs_ = std::make_unique<jobs::JobService>(db(), clock_, jobs::Options{"test-node"});
    NewImports(500);
    // The handler follows imports_, which a test may replace.
    jobs::JobKind kind = imports_->JobKind();
    kind.handler = [this](jobs::JobContext& ctx) { return imports_->JobKind().handler(ctx); };
    jobs_->RegisterKind(std::move(kind));
  }
  void TearDown() override {
    imports_.reset();
    jobs_.reset();
  }
  void NewImports(int chunk_rows) {
    imports_ = std::make_unique<ImportService>(db(), clock_, *customers_, *subscriptions_, *jobs_,
                                               ImportOptions{chunk_rows});
  }
  audit::Actor Actor() {
    audit::Actor a;
    a.type = "user";
    a.id = "7";
    a.label = "importer@example.com";
    a.now_ms = clock_.NowMs();
    return a;
  }
  Import Started(const std::string& csv, ImportKind kind = ImportKind::kCustomers,
                 const char* mapping = nullptr) {
    auto up = imports_->Upload(Actor(), kind, "test.csv", csv);
    EXPECT_TRUE(up.ok()) << up.status().ToString();
    if (!up.ok()) return {};
    std::optional<json::object> m;
    if (mapping) m = *ParseJsonObject(mapping);
    auto started = imports_->Start(Actor(), up->id, m ? &*m : nullptr);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    return started.ok() ? *started : Import{};
  }
  Import RunToEnd(const Import& m) {
    Status st = imports_->Run(m.id, *m.job_id, [](int64_t, int64_t) { return true; });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return *imports_->Get(m.id);
  }
  int64_t Count(const std::string& sql) { return (*db().QueryRow(sql))->Int(0); }

  FakeClock clock_{1'800'000'000'000};
  std::unique_ptr<CustomerService> customers_;
  std::unique_ptr<SubscriptionService> subscriptions_;
  std::unique_ptr<jobs::JobService> jobs_;
  std::unique_ptr<ImportService> imports_;
};

const char* kCustomersCsv =
    "Kundennummer;Vorname;Nachname;E-Mail;Mobile;Tags;Newsletter;attributes.risk\r\n"
    "C-1;Anna;\"Muster; Frau\";anna@example.com;+4930123456;vip|b;granted;3\r\n"
    "C-2;Bob;Bauer;not-an-email;0301234;;;\r\n"
    "C-3;Carl;Kurz\r\n"
    "C-4;Dora;Lang;dora@example.com;;;withdrawn;\"1\"\r\n"
    "C-5;\"Eve;Ende;eve@example.com;;;;\r\n";

TEST_P(ImportServiceTest, AppliesValidRowsAndReportsRowErrors) {
  Import m = Started(kCustomersCsv, ImportKind::kCustomers,
                     R"({"Kundennummer":"external_id","Vorname":"first_name","Nachname":"last_name",
                         "E-Mail":"email","Mobile":"phone","Tags":"tags","Newsletter":"consent_email",
                         "attributes.risk":"attributes.risk"})");
  EXPECT_EQ(m.state, "queued");
  ASSERT_TRUE(m.job_id);
  EXPECT_EQ(m.rows_total, 5);
  Import done = RunToEnd(m);
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.counts.rows, 5);
  EXPECT_EQ(done.counts.created, 2);
  EXPECT_EQ(done.counts.failed, 3);
  std::vector<std::tuple<int64_t, std::string, std::string>> errors;
  for (const auto& e : done.first_errors) errors.emplace_back(e.row, e.column, e.field);
  EXPECT_EQ(errors, (std::vector<std::tuple<int64_t, std::string, std::string>>{
                        {3, "E-Mail", "email"},
                        {3, "Mobile", "phone"},
                        {4, "", ""},
                        {6, "Vorname", "first_name"}}));
  auto anna = customers_->Get("C-1");
  ASSERT_TRUE(anna.ok());
  EXPECT_EQ(anna->data.last_name, "Muster; Frau");
  EXPECT_EQ(anna->data.consent.at("email").status, "granted");
  EXPECT_EQ(anna->data.attributes.at("risk"), json::value("3"));
  EXPECT_FALSE(customers_->Get("C-2").ok()) << "a failing row changes nothing";
  // The upserts audit themselves as the user who started the import.
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'customer.create' AND actor_label = "
            "'importer@example.com'"),
      2);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action IN ('import.create', 'import.start')"), 2);

  auto csv = imports_->ErrorsCsv(m.id);
  ASSERT_TRUE(csv.ok());
  EXPECT_TRUE(
      csv->starts_with("row,column,field,message\r\n3,E-Mail,email,must be an email address\r\n"))
      << *csv;

  // The same file again: nothing changes, not even the change feed.
  const int64_t changes = Count("SELECT COUNT(*) FROM changes");
  clock_.Advance(std::chrono::minutes(5));
  Import again = Started(kCustomersCsv);  // the suggested mapping names the same fields
  EXPECT_EQ(again.previous_import_id, m.id);
  ASSERT_TRUE(again.mapping && m.mapping);
  EXPECT_EQ(*again.mapping, *m.mapping);
  Import second = RunToEnd(again);
  EXPECT_EQ(second.counts.unchanged, 2);
  EXPECT_EQ(second.counts.created + second.counts.updated, 0);
  EXPECT_EQ(second.counts.failed, 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes"), changes);
  EXPECT_EQ(customers_->Get("C-1")->version, 1);
}

TEST_P(ImportServiceTest, OnlyMappedColumnsAreWritten) {
  CustomerInput in;
  in.external_id = "C-1";
  in.first_name = "Anna";
  in.email = "anna@example.com";
  in.tags = {"vip"};
  in.consent["email"] = {"granted", "web form", 1000};
  ASSERT_TRUE(customers_->Upsert(Actor(), in, std::nullopt).ok());
  Import done = RunToEnd(Started("id,email,phone\nC-1,anna@example.com,+4930999\n"));
  EXPECT_EQ(done.counts.updated, 1);
  auto c = customers_->Get("C-1");
  EXPECT_EQ(c->data.first_name, "Anna");
  EXPECT_EQ(c->data.phone, "+4930999");
  EXPECT_EQ(c->data.tags, std::vector<std::string>{"vip"});
  EXPECT_EQ(c->data.consent.at("email").source, "web form");
}

TEST_P(ImportServiceTest, ResumesAfterTheLastCommittedChunk) {
  NewImports(2);
  std::string csv = "id,first_name\n";
  for (int i = 1; i <= 5; ++i) csv += "C-" + std::to_string(i) + ",N" + std::to_string(i) + "\n";
  csv += "C 6,bad\n";
  Import m = Started(csv);
  // The first run stops after one chunk (as when the lease is lost or the job is cancelled).
  Status st = imports_->Run(m.id, *m.job_id, [](int64_t done, int64_t) { return done < 2; });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  Import half = *imports_->Get(m.id);
  EXPECT_EQ(half.state, "running");
  EXPECT_EQ(half.counts.rows, 2);
  EXPECT_EQ(half.counts.created, 2);
  EXPECT_FALSE(customers_->Get("C-3").ok());

  // A second attempt takes over from row 2; nothing is counted or reported twice.
  std::vector<std::pair<int64_t, int64_t>> seen;
  st = imports_->Run(m.id, *m.job_id, [&](int64_t d, int64_t t) {
    seen.emplace_back(d, t);
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen.front(), (std::pair<int64_t, int64_t>{2, 6}));
  EXPECT_EQ(seen.back(), (std::pair<int64_t, int64_t>{6, 6}));
  Import done = *imports_->Get(m.id);
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.counts.rows, 6);
  EXPECT_EQ(done.counts.created, 5);
  EXPECT_EQ(done.counts.failed, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM import_errors"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM customers"), 5);

  // A stale attempt that still believes it is at row 2 commits nothing.
  ImportService stale(db(), clock_, *customers_, *subscriptions_, *jobs_, ImportOptions{2});
  ASSERT_TRUE(
      db().Execute("UPDATE imports SET state = 'running', rows_done = 2 WHERE id = ?", {m.id})
          .ok());
  st = stale.Run(m.id, *m.job_id, [&](int64_t d, int64_t) {
    if (d == 2)
      EXPECT_TRUE(db().Execute("UPDATE imports SET rows_done = 4 WHERE id = ?", {m.id}).ok());
    return true;
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(Count("SELECT rows_done FROM imports"), 4);
  EXPECT_EQ(Count("SELECT created_count FROM imports"), 5);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM import_errors"), 1);
}

TEST_P(ImportServiceTest, RunsAsAJobAndHonoursCancel) {
  Import m = Started("id,first_name\nC-1,Anna\nC-2,Bob\n");
  EXPECT_EQ(jobs_->RunOnce(), 1);
  Import done = *imports_->Get(m.id);
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.counts.created, 2);

  // Cancelled while queued: the import shows the job's state.
  Import queued = Started("id,first_name\nC-3,Carl\n");
  auto cancelled = imports_->Cancel(Actor(), queued.id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(cancelled->state, "cancelled");
  EXPECT_EQ(jobs_->RunOnce(), 0);
  EXPECT_FALSE(customers_->Get("C-3").ok());
  EXPECT_EQ(imports_->Start(Actor(), queued.id, nullptr).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(ImportServiceTest, ImportsSubscriptionsAndNamesUnknownReferences) {
  ASSERT_TRUE(
      subscriptions_->UpsertProduct(Actor(), "DAX", "DAX Brief", "subscription", std::nullopt)
          .ok());
  CustomerInput c;
  c.external_id = "C-1";
  ASSERT_TRUE(customers_->Upsert(Actor(), c, std::nullopt).ok());
  const char* csv =
      "Abo-ID,Kunde,Produkt,Status,Start\n"
      "S-1,C-1,DAX,active,2026-01-01\n"
      "S-2,C-404,DAX,active,\n"
      "S-3,C-1,NOPE,,\n"
      "S-4,C-1,DAX,paused,yesterday\n";
  Import m = Started(csv, ImportKind::kSubscriptions);
  ASSERT_TRUE(m.mapping);
  EXPECT_EQ(*m.mapping,
            *ParseJsonObject(R"({"Abo-ID":"external_id","Kunde":"customer","Produkt":"product",
                                             "Status":"status","Start":"starts_at"})"));
  Import done = RunToEnd(m);
  EXPECT_EQ(done.counts.created, 1);
  EXPECT_EQ(done.counts.failed, 3);
  std::vector<std::tuple<int64_t, std::string, std::string>> errors;
  for (const auto& e : done.first_errors) errors.emplace_back(e.row, e.column, e.field);
  EXPECT_EQ(errors,
            (std::vector<std::tuple<int64_t, std::string, std::string>>{
                {3, "Kunde", "customer"}, {4, "Produkt", "product"}, {5, "Start", "starts_at"}}));
  auto s = subscriptions_->Get("S-1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data.starts_at, ParseRfc3339("2026-01-01T00:00:00Z").value());

  // Only the status column: the rest of S-1 stays; the same again is unchanged.
  Import status = RunToEnd(Started("external_id,status\nS-1,paused\n", ImportKind::kSubscriptions));
  EXPECT_EQ(status.counts.updated, 1);
  EXPECT_EQ(subscriptions_->Get("S-1")->data.starts_at, s->data.starts_at);
  Import same = RunToEnd(Started("external_id,status\nS-1,paused\n", ImportKind::kSubscriptions));
  EXPECT_EQ(same.counts.unchanged, 1);
}

TEST_P(ImportServiceTest, RejectsBadUploadsAndMappings) {
  auto utf16 =
      imports_->Upload(Actor(), ImportKind::kCustomers, "x.csv", std::string("\xFF\xFEi\0d\0", 6));
  EXPECT_EQ(Fields(utf16.status()), std::vector<std::string>{"file"});
  auto up =
      imports_->Upload(Actor(), ImportKind::kCustomers, "x.csv", "name,mail\nA,a@example.com\n");
  ASSERT_TRUE(up.ok());
  // Nothing suggests an external_id: starting with the suggestion fails and names the mapping.
  EXPECT_EQ(Fields(imports_->Start(Actor(), up->id, nullptr).status()),
            std::vector<std::string>{"mapping"});
  auto twice = *ParseJsonObject(R"({"name":"external_id","mail":"external_id"})");
  EXPECT_EQ(Fields(imports_->Start(Actor(), up->id, &twice).status()),
            std::vector<std::string>{"mapping.mail"});
  EXPECT_EQ(imports_->Get(up->id)->state, "uploaded");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 0) << "a rejected start enqueues nothing";
}

TEST_P(ImportServiceTest, ExportsTheAttributeUnionAndReadsBack) {
  const char* people[][3] = {{"C-1", "{\"risk\":3}", "=SUM(A1)"},
                             {"C-2", "{\"zip\":\"01234\",\"vip\":true}", "Bo"},
                             {"C-3", "{}", "Cy"}};
  for (const auto& p : people) {
    CustomerInput in;
    in.external_id = p[0];
    in.attributes = *ParseJsonObject(p[1]);
    in.first_name = p[2];
    in.tags = {"t1", "t2"};
    ASSERT_TRUE(customers_->Upsert(Actor(), in, std::nullopt).ok());
  }
  CustomerService::Filter f;
  std::string csv;
  auto e = ExportCustomersCsv(
      db(), f,
      [&csv](std::string_view text) {
        csv += text;
        return Status::Ok();
      },
      2);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->rows, 3);
  EXPECT_EQ(e->attribute_names, (std::vector<std::string>{"risk", "vip", "zip"}));
  auto reader = CsvReader::Open(csv);
  ASSERT_TRUE(reader.ok());
  const auto& header = reader->header();
  EXPECT_EQ(header.front(), "external_id");
  EXPECT_EQ(header.back(), "attributes.zip");
  CsvRow row;
  std::optional<CsvError> err;
  std::vector<std::vector<std::string>> rows;
  while (reader->Next(&row, &err)) {
    ASSERT_FALSE(err);
    rows.push_back(row.fields);
  }
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][3], "'=SUM(A1)") << "formula guard";
  EXPECT_EQ(rows[0][12], "t1|t2");
  EXPECT_EQ(rows[0][16], "3");
  EXPECT_EQ(rows[1][17], "true");
  EXPECT_EQ(rows[1][18], "01234");

  // Imported back: nothing changes.
  Import back = RunToEnd(Started(csv));
  EXPECT_EQ(back.counts.unchanged, 3)
      << (back.first_errors.empty() ? "" : back.first_errors[0].message);
}

INSTANTIATE_DATABASE_TEST(ImportServiceTest);

}  // namespace
}  // namespace kontor::clients
