#include "payments/rules.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace kontor::payments {
namespace {

namespace fs = std::filesystem;

// A Monday with no holiday near it; the drafts are effective the day after.
RuleContext Ctx() {
  RuleContext ctx;
  ctx.today = date::year{2026} / 3 / 2;
  return ctx;
}

// A valid payment of each originated SEC code.
PaymentDraft Valid(const std::string& sec) {
  PaymentDraft p;
  p.sec_code = sec;
  p.direction = "credit";
  p.amount_cents = 12345;
  p.effective_date = "2026-03-03";
  p.entry_description = "PAYROLL";
  p.idempotency_key = "req-7f3a";
  p.receiver_name = "Jane Doe";
  p.receiver_id = "EMP0001";
  p.receiver_kind = "individual";
  p.routing_number = "021000021";
  p.account_number = "123456789";
  p.account_type = "checking";
  p.company_name = "ACME PAYROLL";
  p.company_id = "1234567890";
  if (sec == "CCD" || sec == "CTX") {
    p.receiver_kind = "company";
    p.receiver_name = "ACME SUPPLY CO";
    p.entry_description = "INVOICE";
  }
  if (sec == "CCD") {
    p.direction = "debit";
    p.addenda = "INV 1001 NET 30";
  }
  if (sec == "CTX") p.addenda = "ST*820*0001~BPR*C*123.45*C*ACH*CTX~SE*3*0001~";
  if (sec == "WEB") {
    p.direction = "debit";
    p.payment_type_code = "S";
    p.entry_description = "PURCHASE";
  }
  if (sec == "TEL") {
    p.direction = "debit";
    p.payment_type_code = "R";
    p.entry_description = "SUBSCR";
  }
  return p;
}

std::string Dump(const std::vector<Violation>& v) {
  std::string s;
  for (const auto& x : v) s += x.rule + " " + x.field + ": " + x.message + "\n";
  return s;
}

std::vector<std::string> Ids(const std::vector<Violation>& v) {
  std::vector<std::string> ids;
  for (const auto& x : v) ids.push_back(x.rule);
  return ids;
}

using V = std::vector<std::string>;

TEST(PaymentRulesTest, ValidDraftOfEachCodeHasNoViolations) {
  for (std::string_view sec : kOriginatedSecCodes) {
    SCOPED_TRACE(sec);
    auto v = CheckPayment(Valid(std::string(sec)), Ctx());
    EXPECT_TRUE(v.empty()) << Dump(v);
  }
}

// One case per rule: a valid draft of `sec`, changed by `mutate`, breaks
// exactly `rule` and nothing else.
struct Case {
  std::string rule;
  std::string sec;
  std::function<void(PaymentDraft&, RuleContext&)> mutate;
};

std::vector<Case> Cases() {
  using P = PaymentDraft&;
  using C = RuleContext&;
  const std::string isa =  // a 106-character ISA segment ending in its terminator '\'
      "ISA*00*          *00*          *ZZ*ACME           *ZZ*SUPPLIER       *260302*1200*U*00401*"
      "000000001*0*P*>\\";
  return {
      {"ALL-01", "PPD", [](P p, C) { p.sec_code = "IAT"; }},
      {"ALL-01", "PPD", [](P p, C) { p.sec_code = "ppd"; }},
      {"ALL-01", "PPD", [](P p, C) { p.sec_code = "ARC"; }},
      {"ALL-01", "PPD", [](P p, C) { p.sec_code = "XYZ"; }},
      {"ALL-01", "PPD", [](P p, C) { p.sec_code = ""; }},
      {"ALL-02", "PPD",
       [](P p, C) {
         p.allowed_sec_codes = {"CCD", "CTX"};
       }},
      {"ALL-03", "PPD", [](P p, C) { p.direction = "Credit"; }},
      {"TEL-01", "TEL", [](P p, C) { p.direction = "credit"; }},
      {"ALL-04", "PPD", [](P p, C) { p.amount_cents = 0; }},
      {"ALL-04", "PPD", [](P p, C) { p.amount_cents = -5; }},
      {"ALL-05", "PPD", [](P p, C) { p.prenote = true; }},
      {"ALL-06", "PPD", [](P p, C) { p.payment_max_cents = 10000; }},
      {"ALL-07", "PPD", [](P p, C) { p.currency = "usd"; }},
      {"ALL-07", "PPD", [](P p, C) { p.currency = "EUR"; }},
      {"ALL-08", "PPD",
       [](P p, C) {
         p.same_day = true;
         p.effective_date.reset();
         p.same_day_enabled = false;
       }},
      {"ALL-09", "PPD",
       [](P p, C) {
         p.same_day = true;
         p.effective_date.reset();
         p.amount_cents = 100000001;
       }},
      {"CTX-01", "CTX", [](P p, C) { p.amount_cents = 10000000000; }},
      {"CTX-01", "CTX",
       [](P p, C) {
         p.same_day = true;
         p.allow_same_day_split = true;
         p.effective_date.reset();
         p.amount_cents = 100000001;
       }},
      {"ALL-10", "PPD", [](P p, C) { p.effective_date = "2026-02-30"; }},
      {"ALL-10", "PPD", [](P p, C) { p.effective_date = "03/03/2026"; }},
      {"ALL-11", "PPD", [](P p, C) { p.effective_date = "2026-03-01"; }},
      {"ALL-12", "PPD", [](P p, C) { p.effective_date = "2027-03-03"; }},
      {"ALL-12", "PPD",
       [](P p, C c) {
         c.max_days_ahead = 30;
         p.effective_date = "2026-04-02";
       }},
      {"ALL-13", "PPD", [](P p, C) { p.entry_description = "   "; }},
      {"ALL-14", "PPD", [](P p, C) { p.entry_description = "PAYROLL MAR"; }},
      {"ALL-15", "PPD", [](P p, C) { p.entry_description = "PAY\tROLL"; }},
      {"ALL-15", "PPD", [](P p, C) { p.entry_description = "GEH\xC3\x84LTER"; }},
      {"ALL-16", "PPD", [](P p, C) { p.entry_description = "REVERSAL"; }},
      {"ALL-16", "CCD", [](P p, C) { p.entry_description = "Retry Pmt "; }},
      {"ALL-16", "PPD", [](P p, C) { p.entry_description = "HCCLAIMPMT"; }},
      {"CCD-01", "CCD",
       [](P p, C) {
         p.entry_description = "HCCLAIMPMT";
         p.addenda = "TRN*1*12345*1512345678\\";
       }},
      {"PPD-01", "PPD", [](P p, C) { p.addenda = std::string(81, 'A'); }},
      {"PPD-01", "PPD", [](P p, C) { p.addenda = "LINE 1\nLINE 2"; }},
      {"CCD-02", "CCD", [](P p, C) { p.addenda = std::string(81, 'A'); }},
      {"WEB-01", "WEB", [](P p, C) { p.addenda = std::string(81, 'A'); }},
      {"TEL-02", "TEL", [](P p, C) { p.addenda = "ORDER 55"; }},
      {"CTX-02", "CTX", [](P p, C) { p.addenda.reset(); }},
      {"CTX-03", "CTX", [](P p, C) { p.addenda = "ST*820*0001~" + std::string(799920, 'A'); }},
      {"CTX-03", "CTX", [](P p, C) { p.addenda = "ST*820*0001~\nBPR*C*1~"; }},
      {"CTX-04", "CTX", [](P p, C) { p.addenda = "BPR*C*123.45*C*ACH*CTX~"; }},
      {"CTX-04", "CTX", [](P p, C) { p.addenda = "ISA*00*SHORT~"; }},
      {"CTX-05", "CTX", [](P p, C) { p.addenda = "ST*820*0001~BPR*C*123.45"; }},
      {"CTX-05", "CTX", [isa](P p, C) { p.addenda = isa + "ST*820*0001~"; }},
      {"CCD-03", "CCD",
       [](P p, C) {
         p.entry_description = "HCCLAIMPMT";
         p.direction = "credit";
       }},
      {"PPD-02", "PPD", [](P p, C) { p.payment_type_code = "S"; }},
      {"CCD-04", "CCD", [](P p, C) { p.payment_type_code = "R"; }},
      {"CTX-06", "CTX", [](P p, C) { p.payment_type_code = "S"; }},
      {"WEB-02", "WEB", [](P p, C) { p.payment_type_code.reset(); }},
      {"WEB-03", "WEB", [](P p, C) { p.payment_type_code = "s"; }},
      {"TEL-03", "TEL", [](P p, C) { p.payment_type_code.reset(); }},
      {"TEL-04", "TEL", [](P p, C) { p.payment_type_code = "X"; }},
      {"ALL-17", "PPD", [](P p, C) { p.receiver_name = ""; }},
      {"PPD-03", "PPD", [](P p, C) { p.receiver_name = std::string(23, 'N'); }},
      {"CCD-05", "CCD", [](P p, C) { p.receiver_name = std::string(23, 'N'); }},
      {"CTX-07", "CTX", [](P p, C) { p.receiver_name = "ACME SUPPLY CO INC"; }},
      {"WEB-04", "WEB", [](P p, C) { p.receiver_name = std::string(23, 'N'); }},
      {"TEL-05", "TEL", [](P p, C) { p.receiver_name = std::string(23, 'N'); }},
      {"ALL-18", "PPD",
       [](P p, C) {
         p.receiver_name =
             "Jane\x01"
             "Doe";
       }},
      {"ALL-19", "PPD", [](P p, C) { p.receiver_id = std::string(16, '1'); }},
      {"ALL-20", "PPD", [](P p, C) { p.receiver_id = "EMP\x7f"; }},
      {"ALL-21", "PPD", [](P p, C) { p.routing_number = "02100002"; }},
      {"ALL-21", "PPD", [](P p, C) { p.routing_number = "02100002A"; }},
      {"ALL-22", "PPD", [](P p, C) { p.routing_number = "021000022"; }},
      {"ALL-23", "PPD", [](P p, C) { p.routing_number = "000000000"; }},
      {"ALL-23", "PPD", [](P p, C) { p.routing_number = "800000006"; }},
      {"ALL-24", "PPD", [](P p, C) { p.account_number = ""; }},
      {"ALL-24", "PPD", [](P p, C) { p.account_number = std::string(18, '1'); }},
      {"ALL-25", "PPD", [](P p, C) { p.account_number = "1234_5678"; }},
      {"ALL-25", "PPD", [](P p, C) { p.account_number = " 12345678"; }},
      {"ALL-26", "PPD", [](P p, C) { p.account_number = "000-000 00"; }},
      {"ALL-27", "PPD", [](P p, C) { p.account_type = "Checking"; }},
      {"PPD-04", "PPD", [](P p, C) { p.account_type = "loan"; }},
      {"WEB-05", "WEB", [](P p, C) { p.account_type = "general_ledger"; }},
      {"TEL-06", "TEL", [](P p, C) { p.account_type = "loan"; }},
      {"CCD-06", "CCD", [](P p, C) { p.account_type = "loan"; }},
      {"CTX-08", "CTX",
       [](P p, C) {
         p.account_type = "loan";
         p.direction = "debit";
       }},
      {"ALL-28", "PPD", [](P p, C) { p.receiver_kind = "person"; }},
      {"PPD-05", "PPD", [](P p, C) { p.receiver_kind = "company"; }},
      {"CCD-07", "CCD", [](P p, C) { p.receiver_kind = "individual"; }},
      {"CTX-09", "CTX", [](P p, C) { p.receiver_kind = "individual"; }},
      {"WEB-06", "WEB", [](P p, C) { p.receiver_kind = "company"; }},
      {"TEL-07", "TEL", [](P p, C) { p.receiver_kind = "company"; }},
      {"ALL-29", "PPD", [](P p, C) { p.counterparty_active = false; }},
      {"ALL-30", "PPD", [](P p, C) { p.prenote_status = "failed"; }},
      {"ALL-31", "PPD", [](P p, C) { p.originator_active = false; }},
      {"ALL-32", "PPD", [](P p, C) { p.company_name = ""; }},
      {"ALL-32", "PPD", [](P p, C) { p.company_name = "ACME PAYROLL SERVICES"; }},
      {"ALL-33", "PPD", [](P p, C) { p.company_name = "ACME\nPAY"; }},
      {"ALL-34", "PPD", [](P p, C) { p.company_id = "123456789"; }},
      {"ALL-35", "PPD", [](P p, C) { p.company_id = "123456789\t"; }},
      {"ALL-36", "PPD", [](P p, C) { p.idempotency_key = ""; }},
      {"ALL-36", "PPD", [](P p, C) { p.idempotency_key = std::string(256, 'k'); }},
      {"ALL-37", "PPD", [](P p, C) { p.idempotency_key = "key\x01"; }},
  };
}

TEST(PaymentRulesTest, EachRuleFiresAloneOnItsMutation) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.rule + " on " + c.sec);
    PaymentDraft p = Valid(c.sec);
    RuleContext ctx = Ctx();
    c.mutate(p, ctx);
    auto v = CheckPayment(p, ctx);
    ASSERT_EQ(Ids(v), V{c.rule}) << Dump(v);
    EXPECT_FALSE(v[0].message.empty());
    // The violation names the field the rule is about.
    for (const RuleInfo& r : PaymentRules()) {
      if (r.id == c.rule) {
        EXPECT_EQ(v[0].field, r.field);
      }
    }
  }
}

TEST(PaymentRulesTest, EveryRuleHasACase) {
  std::set<std::string> covered;
  for (const Case& c : Cases()) covered.insert(c.rule);
  for (const RuleInfo& r : PaymentRules()) EXPECT_TRUE(covered.contains(r.id)) << r.id;
}

TEST(PaymentRulesTest, TableShape) {
  const std::set<std::string> fields = {"sec_code",
                                        "direction",
                                        "amount_cents",
                                        "prenote",
                                        "effective_date",
                                        "same_day",
                                        "entry_description",
                                        "addenda",
                                        "payment_type_code",
                                        "idempotency_key",
                                        "currency",
                                        "counterparty.name",
                                        "counterparty.receiver_id",
                                        "counterparty.routing_number",
                                        "counterparty.account_number",
                                        "counterparty.account_type",
                                        "counterparty",
                                        "originator"};
  std::set<std::string> ids;
  for (const RuleInfo& r : PaymentRules()) {
    SCOPED_TRACE(r.id);
    EXPECT_TRUE(ids.insert(r.id).second) << "duplicate id";
    EXPECT_TRUE(fields.contains(r.field)) << r.field;
    EXPECT_FALSE(r.description.empty());
    std::string prefix = r.id.substr(0, 3);
    if (prefix == "ALL") {
      EXPECT_EQ(r.sec_codes, (V{"PPD", "CCD", "CTX", "WEB", "TEL"}));
    } else {
      EXPECT_EQ(r.sec_codes, V{prefix});
    }
  }
  for (std::string_view sec : kOriginatedSecCodes) {
    SCOPED_TRACE(sec);
    EXPECT_GE(RuleCount(sec), 25u);
  }
  EXPECT_EQ(RuleCount("IAT"), 0u);
}

TEST(PaymentRulesTest, OneMistakeOneMessage) {
  // An unparsable date is not also "in the past" or "too far ahead".
  PaymentDraft p = Valid("PPD");
  p.effective_date = "yesterday";
  p.same_day = true;
  EXPECT_EQ(Ids(CheckPayment(p, Ctx())), V{"ALL-10"});
  // An invalid SEC code hides the code-specific rules (the payment type code
  // would break PPD-02).
  p = Valid("PPD");
  p.sec_code = "IAT";
  p.payment_type_code = "S";
  auto v = CheckPayment(p, Ctx());
  ASSERT_EQ(Ids(v), V{"ALL-01"});
  EXPECT_NE(v[0].message.find("PPD, CCD, CTX, WEB, TEL"), std::string::npos) << v[0].message;
  // So does a code the originator may not use.
  p = Valid("TEL");
  p.allowed_sec_codes = {"PPD"};
  p.direction = "credit";
  EXPECT_EQ(Ids(CheckPayment(p, Ctx())), V{"ALL-02"});
  // A wrong check digit is not also reported as a bad routing symbol.
  p = Valid("PPD");
  p.routing_number = "000000001";
  EXPECT_EQ(Ids(CheckPayment(p, Ctx())), V{"ALL-22"});
  // A bad direction does not also trip the TEL debit rule.
  p = Valid("TEL");
  p.direction = "";
  EXPECT_EQ(Ids(CheckPayment(p, Ctx())), V{"ALL-03"});
  // Independent mistakes are all reported, in table order.
  p = Valid("WEB");
  p.currency = "CAD";
  p.receiver_name = std::string(30, 'X');
  p.originator_active = false;
  p.payment_type_code.reset();
  EXPECT_EQ(Ids(CheckPayment(p, Ctx())), (V{"ALL-07", "WEB-02", "WEB-04", "ALL-31"}));
}

TEST(PaymentRulesTest, AcceptedVariants) {
  auto ok = [](PaymentDraft p, RuleContext ctx = Ctx()) {
    auto v = CheckPayment(p, ctx);
    EXPECT_TRUE(v.empty()) << Dump(v);
  };
  // Prenotes: zero amount, may carry an addenda, may go same-day, and are
  // allowed to a counterparty whose earlier prenote failed.
  PaymentDraft p = Valid("PPD");
  p.prenote = true;
  p.amount_cents = 0;
  p.addenda = "PRENOTE FOR PAYROLL";
  p.prenote_status = "failed";
  ok(p);
  p.same_day = true;
  p.effective_date = "2026-03-02";
  ok(p);
  // A CTX prenote needs no remittance.
  p = Valid("CTX");
  p.prenote = true;
  p.amount_cents = 0;
  p.addenda.reset();
  ok(p);
  // A pending or sent prenote holds live payments; that is not a violation.
  for (const char* status : {"none", "pending", "sent", "verified"}) {
    p = Valid("PPD");
    p.prenote_status = status;
    ok(p);
  }
  // Same-day over the limit when the originator splits, and effective today.
  p = Valid("CCD");
  p.same_day = true;
  p.allow_same_day_split = true;
  p.amount_cents = 500000000;
  p.effective_date = "2026-03-02";
  ok(p);
  // Same-day without a date takes today's window.
  p.effective_date.reset();
  ok(p);
  // Dates are the schedule's business: same-day requested on a holiday or for
  // a later date, and next-day effective today, are moved to a reachable
  // window there (schedule.h), not refused here.
  RuleContext thanksgiving = Ctx();
  thanksgiving.today = date::year{2026} / 11 / 26;
  p = Valid("PPD");
  p.same_day = true;
  p.effective_date.reset();
  ok(p, thanksgiving);
  p.effective_date = "2026-03-05";
  ok(p);
  p.same_day = false;
  p.effective_date = "2026-03-02";
  ok(p);
  // Next-day amounts above one entry's maximum are split (not for CTX).
  p = Valid("PPD");
  p.amount_cents = 25000000000;
  ok(p);
  // An effective date on a weekend or holiday settles the next banking day.
  p.effective_date = "2026-03-07";
  ok(p);
  p.effective_date = "2027-03-02";  // exactly 365 days ahead
  ok(p);
  // Nacha alphanumerics include lower case and symbols.
  p.receiver_name = "O'Brien & Sons, Ltd.";
  p.entry_description = "rent #4";
  p.account_number = "12-345 678A";
  p.receiver_id = "";
  ok(p);
  // Health care claim payment: a CCD credit with the TRN reassociation segment.
  p = Valid("CCD");
  p.entry_description = "HCCLAIMPMT";
  p.direction = "credit";
  p.addenda = "TRN*1*12345*1512345678\\";
  ok(p);
  // CTX with a full ISA envelope ending in the terminator it declares.
  p = Valid("CTX");
  p.addenda =
      "ISA*00*          *00*          *ZZ*ACME           *ZZ*SUPPLIER       *260302*1200*U*00401*"
      "000000001*0*P*>\\ST*820*0001\\SE*2*0001\\";
  ok(p);
  p.addenda = "ST*820*0001\\BPR*C*1\\";
  ok(p);
  // Loan accounts take CCD credits; general ledger debits are fine.
  p = Valid("CCD");
  p.direction = "credit";
  p.account_type = "loan";
  ok(p);
  p.direction = "debit";
  p.account_type = "general_ledger";
  ok(p);
  // WEB credits (person-to-person) need no payment type code; TEL single entry.
  p = Valid("WEB");
  p.direction = "credit";
  p.payment_type_code.reset();
  ok(p);
  p = Valid("TEL");
  p.payment_type_code = "S";
  ok(p);
  // The originator may limit its codes.
  p = Valid("WEB");
  p.allowed_sec_codes = {"PPD", "WEB"};
  ok(p);
}

TEST(PaymentRulesTest, MessagesSayWhatToDo) {
  PaymentDraft p = Valid("PPD");
  p.same_day = true;
  p.effective_date.reset();
  p.amount_cents = 150000000;
  auto v = CheckPayment(p, Ctx());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("$1,000,000.00"), std::string::npos) << v[0].message;

  p = Valid("PPD");
  p.routing_number = "021000022";
  v = CheckPayment(p, Ctx());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("must be 1"), std::string::npos) << v[0].message;

  p = Valid("PPD");
  p.sec_code = "IAT";
  v = CheckPayment(p, Ctx());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("IAT (international) entries are not originated"), std::string::npos)
      << v[0].message;
  EXPECT_NE(v[0].message.find("supported: PPD, CCD, CTX, WEB, TEL"), std::string::npos);
}

// docs/payments.md lists every rule with its field and description, so the
// document cannot drift from the table.
TEST(PaymentRulesTest, DocsListEveryRule) {
  fs::path doc = fs::path(__FILE__).parent_path() / ".." / ".." / "docs" / "payments.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << doc;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (const RuleInfo& r : PaymentRules()) {
    SCOPED_TRACE(r.id);
    bool found = false;
    for (const std::string& line : lines) {
      if (line.find("| " + r.id + " |") == std::string::npos) continue;
      found = true;
      EXPECT_NE(line.find("`" + r.field + "`"), std::string::npos) << line;
      // Markdown escapes the table's pipe characters; the rules have none.
      EXPECT_NE(line.find(r.description), std::string::npos) << line;
    }
    EXPECT_TRUE(found);
  }
}

}  // namespace
}  // namespace kontor::payments
