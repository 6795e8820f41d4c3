#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "payments/ach/build.h"
#include "payments/ach/codes.h"
#include "payments/ach/json.h"
#include "payments/ach/reader.h"
#include "payments/ach/routing.h"
#include "payments/ach/writer.h"

namespace kontor::payments::ach {
namespace {

namespace fs = std::filesystem;

// The conformance files live in the repository beside the sources.
fs::path ConformanceDir() {
  return fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "tests" / "conformance" / "ach";
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::string Dump(const std::vector<Error>& errors) {
  std::string s;
  for (const Error& e : errors)
    s += std::to_string(e.line) + " " + e.field + ": " + e.Message() + "\n";
  return s;
}

TEST(AchConformance, ValidFilesValidateAndWriteBackRecordForRecord) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(ConformanceDir() / "valid")) {
    SCOPED_TRACE(entry.path().filename().string());
    std::string data = Slurp(entry.path());
    ReadResult r = Read(data);
    EXPECT_TRUE(r.ok()) << Dump(r.errors);
    EXPECT_EQ(Lines(Write(r.file)), Lines(data));
    // Streaming gives the same verdict.
    std::istringstream in(data);
    ErrorCollector errors;
    EXPECT_TRUE(ScanStream(in, errors));
    EXPECT_EQ(errors.count(), 0);
    // JSON and back through the builder gives the same records.
    BuildResult built = BuildFromJson(FileToJson(r));
    EXPECT_TRUE(built.ok()) << (built.errors.empty() ? "" : built.errors[0]);
    EXPECT_EQ(Lines(built.nacha), Lines(data));
    ++n;
  }
  EXPECT_GE(n, 30);
}

TEST(AchConformance, LineEndingsLfCrlfAndLoneCrReadTheSame) {
  for (const auto& entry : fs::directory_iterator(ConformanceDir() / "valid")) {
    SCOPED_TRACE(entry.path().filename().string());
    std::vector<std::string> lines = Lines(Slurp(entry.path()));
    for (const char* eol : {"\n", "\r\n", "\r"}) {
      std::string data;
      for (const auto& l : lines) data += l + eol;
      ReadResult r = Read(data);
      EXPECT_TRUE(r.ok()) << "eol " << static_cast<int>(eol[0]) << eol[1] << ": " << Dump(r.errors);
      std::istringstream in(data);
      ErrorCollector errors;
      EXPECT_TRUE(ScanStream(in, errors));
      EXPECT_EQ(errors.count(), 0) << "streamed, eol " << static_cast<int>(eol[0]);
    }
  }
}

TEST(AchReader, SplitLinesWaitsForTheRestOfALineAcrossChunks) {
  std::vector<std::string> got;
  auto emit = [&](std::string_view l) { got.emplace_back(l); };
  std::string buf = "one\r\ntwo\rthr";
  size_t start = 0;
  SplitLines(buf, &start, false, 4096, emit);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
  buf += "ee\r";  // a CR at the end may be half of a CRLF
  SplitLines(buf, &start, false, 4096, emit);
  EXPECT_EQ(got.size(), 2u);
  buf += "\nfour";
  SplitLines(buf, &start, false, 4096, emit);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
  SplitLines(buf, &start, true, 4096, emit);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three", "four"}));
  EXPECT_EQ(start, buf.size());
}

TEST(AchConformance, InvalidFilesAreRejectedWithTheExpectedError) {
  fs::path dir = ConformanceDir() / "invalid";
  std::istringstream tsv(Slurp(dir / "expected.tsv"));
  std::string line;
  std::getline(tsv, line);  // header
  int n = 0;
  while (std::getline(tsv, line)) {
    if (line.empty()) continue;
    size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    std::string name = line.substr(0, tab), expected = line.substr(tab + 1);
    SCOPED_TRACE(name);
    ReadResult r = Read(Slurp(dir / name));
    ASSERT_FALSE(r.ok());
    ++n;
    if (expected.rfind("any clear error", 0) == 0) {
      for (const Error& e : r.errors) {
        EXPECT_GT(e.line, 0);
        EXPECT_NE(std::string(e.kind), "");
      }
      continue;
    }
    // "<record>: <kind>", where <record> is the record the error names or the
    // class of check ("record length").
    size_t colon = expected.find(": ");
    std::string prefix = colon == std::string::npos ? "" : expected.substr(0, colon);
    std::string kind = colon == std::string::npos ? expected : expected.substr(colon + 2);
    bool found = false;
    for (const Error& e : r.errors) {
      if (kind != e.kind && expected != e.kind) continue;
      if (prefix.empty() || prefix == e.record || prefix == "record length" || expected == e.kind)
        found = true;
    }
    EXPECT_TRUE(found) << "expected " << expected << "; got\n" << Dump(r.errors);
  }
  EXPECT_EQ(n, 9);
}

TEST(Ach, RoutingCheckDigit) {
  EXPECT_EQ(RoutingCheckDigit("23138010"), 4);
  EXPECT_TRUE(ValidRoutingNumber("121042882"));
  EXPECT_FALSE(ValidRoutingNumber("121042883"));
  EXPECT_FALSE(ValidRoutingNumber("12104288x"));
  EXPECT_EQ(RoutingCheckDigit("1234567"), -1);
}

TEST(Ach, Codes) {
  EXPECT_EQ(ClassifyTransactionCode("22"), TxClass::kCredit);
  EXPECT_EQ(ClassifyTransactionCode("27"), TxClass::kDebit);
  EXPECT_EQ(ClassifyTransactionCode("25"), TxClass::kInvalid);
  EXPECT_EQ(ClassifyTransactionCode("81"), TxClass::kAdvCredit);
  EXPECT_NE(ReturnCodeTitle("R01"), nullptr);
  EXPECT_NE(ReturnCodeTitle("R85"), nullptr);
  EXPECT_EQ(ReturnCodeTitle("R99"), nullptr);
  EXPECT_NE(ChangeCodeTitle("C14"), nullptr);
  EXPECT_EQ(ChangeCodeTitle("C15"), nullptr);
}

// A valid file to break one field at a time.
std::string Base() { return Slurp(ConformanceDir() / "valid" / "ppd-debit.ach"); }

std::vector<Error> ErrorsAfter(int line, int col, std::string_view text) {
  std::string data = Base();
  std::vector<std::string> lines = Lines(data);
  lines[line - 1].replace(col - 1, text.size(), text);
  std::string joined;
  for (auto& l : lines) joined += l + "\n";
  return Read(joined).errors;
}

bool Has(const std::vector<Error>& errors, std::string_view field, std::string_view kind_part) {
  for (const Error& e : errors)
    if (field == e.field && std::string_view(e.kind).find(kind_part) != std::string_view::npos)
      return true;
  return false;
}

TEST(AchValidator, NamesLineFieldAndColumns) {
  auto errors = ErrorsAfter(3, 12, "5");
  ASSERT_FALSE(errors.empty());
  const Error& e = errors[0];
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.record_type, '6');
  EXPECT_STREQ(e.field, "checkDigit");
  EXPECT_EQ(e.start, 12);
  EXPECT_EQ(e.end, 12);
}

TEST(AchValidator, EachRuleFires) {
  EXPECT_TRUE(Has(ErrorsAfter(3, 2, "22"), "transactionCode", "does not match the service class"));
  EXPECT_TRUE(Has(ErrorsAfter(3, 2, "25"), "transactionCode", "invalid transaction code"));
  EXPECT_TRUE(Has(ErrorsAfter(3, 30, "0100000001"), "totalDebitEntryDollarAmount", "total debit"));
  EXPECT_TRUE(Has(ErrorsAfter(3, 30, "01000000x1"), "amount", "numeric"));
  EXPECT_TRUE(Has(ErrorsAfter(3, 80, "9"), "traceNumber", "ODFI"));
  EXPECT_TRUE(Has(ErrorsAfter(3, 79, "1"), "addendaRecordIndicator", "no addenda follow"));
  EXPECT_TRUE(Has(ErrorsAfter(4, 5, "000002"), "entryAddendaCount", "entry/addenda count"));
  EXPECT_TRUE(Has(ErrorsAfter(4, 11, "0023138011"), "entryHash", "entry hash"));
  EXPECT_TRUE(Has(ErrorsAfter(5, 2, "000002"), "batchCount", "batch count"));
  EXPECT_TRUE(Has(ErrorsAfter(5, 8, "000002"), "blockCount", "block count"));
  EXPECT_TRUE(Has(ErrorsAfter(2, 2, "201"), "serviceClassCode", "invalid service class"));
  EXPECT_TRUE(Has(ErrorsAfter(2, 51, "XYZ"), "standardEntryClassCode", "unknown SEC"));
  EXPECT_TRUE(Has(ErrorsAfter(1, 24, "191324"), "fileCreationDate", "date"));
  EXPECT_TRUE(Has(ErrorsAfter(1, 5, "231380105"), "immediateDestination", "check digit"));
  EXPECT_TRUE(Has(ErrorsAfter(4, 88, "0000002"), "batchNumber", "batch number"));
}

TEST(AchValidator, CollectsAllErrorsAndSurvivesGarbage) {
  auto errors = ErrorsAfter(3, 12, "5");
  auto more = ErrorsAfter(3, 2, "25");
  EXPECT_GE(errors.size(), 1u);
  for (std::string junk : {std::string(), std::string("\n\n\n"), std::string(500, '6'),
                           std::string("7") + std::string(93, ' '), std::string("\x00\xff", 2)}) {
    ReadResult r = Read(junk);
    EXPECT_FALSE(r.ok());
  }
}

TEST(AchValidator, AddendaRulesPerSec) {
  std::string data = Base();
  std::vector<std::string> lines = Lines(data);
  // Two 05 addenda on a PPD entry.
  lines[2][78] = '1';
  std::string a1 = "705" + std::string(80, 'x') + "0001" + "0000001";
  std::string a2 = "705" + std::string(80, 'y') + "0002" + "0000001";
  lines.insert(lines.begin() + 3, {a1, a2});
  std::string joined;
  for (auto& l : lines) joined += l + "\n";
  auto errors = Read(joined).errors;
  bool found = false;
  for (const Error& e : errors)
    found =
        found || std::string_view(e.kind).find("at most one addenda 05") != std::string_view::npos;
  EXPECT_TRUE(found) << Dump(errors);
}

TEST(AchWriter, StreamWriterComputesControls) {
  std::string data = Base();
  std::vector<std::string> lines = Lines(data);
  std::ostringstream out;
  {
    StreamWriter w(out);
    w.FileHeader(lines[0]);
    w.BatchHeader(lines[1]);
    for (int i = 0; i < 25; ++i) {
      std::string e = lines[2];
      std::string trace = std::to_string(121042880000001LL + i);
      e.replace(79, 15, trace);
      w.Entry(e);
    }
    w.EndBatch();
    w.EndFile();
  }
  ReadResult r = Read(out.str());
  EXPECT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.entries, 25);
  EXPECT_EQ(Lines(out.str()).size() % 10, 0u);
}

TEST(AchBuild, RejectsUnknownFieldsAndBadValues) {
  EXPECT_FALSE(BuildFromJson("{").ok());
  EXPECT_FALSE(BuildFromJson("[]").ok());
  BuildResult r = BuildFromJson(R"({"fileHeader":{"nope":"1"},"batches":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].find("nope"), std::string::npos);
}

}  // namespace
}  // namespace kontor::payments::ach
