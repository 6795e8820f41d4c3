#include "clients/csv_reader.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace kontor::clients {
namespace {

using Fields = std::vector<std::string>;

// What Next produced, flattened for readable expectations: usable rows as their fields,
// errors as "!<row> <column>: <message>".
struct Item {
  int64_t number;
  Fields fields;
  std::optional<CsvError> error;
};

std::vector<Item> ReadAll(CsvReader& reader) {
  std::vector<Item> items;
  CsvRow row;
  std::optional<CsvError> error;
  while (reader.Next(&row, &error)) {
    items.push_back({row.number, row.fields, error});
    if (items.size() > 1000) break;  // a bug, not a test input
  }
  return items;
}

CsvReader OpenOk(std::string_view data, CsvOptions options = {}) {
  auto reader = CsvReader::Open(data, options);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return std::move(CsvReader::Open("placeholder\n")).value();
  return std::move(reader).value();
}

// Rows of a file that must parse without errors.
std::vector<Fields> GoodRows(std::string_view data, CsvOptions options = {}) {
  CsvReader reader = OpenOk(data, options);
  std::vector<Fields> rows;
  for (const Item& item : ReadAll(reader)) {
    EXPECT_FALSE(item.error) << "row " << item.error->row << " " << item.error->column << ": "
                             << item.error->message;
    if (!item.error) rows.push_back(item.fields);
  }
  return rows;
}

std::string OpenError(std::string_view data, CsvOptions options = {}) {
  auto reader = CsvReader::Open(data, options);
  EXPECT_FALSE(reader.ok());
  if (reader.ok()) return "";
  EXPECT_EQ(reader.status().code(), StatusCode::kValidation);
  EXPECT_EQ(reader.status().fields().size(), 1u);
  if (reader.status().fields().size() == 1) {
    EXPECT_EQ(reader.status().fields()[0].field, "file");
  }
  return reader.status().message();
}

TEST(CsvReaderTest, CommaDelimited) {
  CsvReader reader = OpenOk("name,email\nAda,ada@example.com\nBob,bob@example.com\n");
  EXPECT_EQ(reader.delimiter(), ',');
  EXPECT_EQ(reader.header(), (Fields{"name", "email"}));
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].number, 1);
  EXPECT_EQ(items[0].fields, (Fields{"Ada", "ada@example.com"}));
  EXPECT_EQ(items[1].number, 2);
  EXPECT_EQ(items[1].fields, (Fields{"Bob", "bob@example.com"}));
  EXPECT_EQ(reader.rows_read(), 2);
}

TEST(CsvReaderTest, SemicolonDelimited) {
  CsvReader reader = OpenOk("Name;Betrag\nMüller;1,50\n");
  EXPECT_EQ(reader.delimiter(), ';');
  EXPECT_EQ(reader.header(), (Fields{"Name", "Betrag"}));
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].fields, (Fields{"Müller", "1,50"}));
}

TEST(CsvReaderTest, SniffIgnoresDelimitersInsideQuotes) {
  // Three commas inside the quoted name would win a naive count.
  CsvReader semi = OpenOk("\"a,b,c,d\";x\n1;2\n");
  EXPECT_EQ(semi.delimiter(), ';');
  EXPECT_EQ(semi.header(), (Fields{"a,b,c,d", "x"}));
  CsvReader comma = OpenOk("\"a;b;c\",x\n1,2\n");
  EXPECT_EQ(comma.delimiter(), ',');
  EXPECT_EQ(comma.header(), (Fields{"a;b;c", "x"}));
  // Only the header line counts, not semicolons in the data.
  CsvReader header_only = OpenOk("a,b\n1;2;3;4,5\n");
  EXPECT_EQ(header_only.delimiter(), ',');
  // A single column has no delimiter to find.
  CsvReader single = OpenOk("email\nx@example.com\n");
  EXPECT_EQ(single.delimiter(), ',');
  EXPECT_EQ(ReadAll(single).size(), 1u);
}

TEST(CsvReaderTest, StripsBomAndTrimsHeader) {
  CsvReader reader = OpenOk("\xEF\xBB\xBF name ;\tEmail\t\n a ; b \n");
  EXPECT_EQ(reader.header(), (Fields{"name", "Email"}));
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].fields, (Fields{"a", "b"}));
}

TEST(CsvReaderTest, BlanksAroundUnquotedFieldsAndQuotesAreDropped) {
  // libcsv's whitespace handling: quoted content is kept exactly.
  EXPECT_EQ(GoodRows("a,b,c,d\n x\t, \"  y \" ,\"\",\t \n"),
            (std::vector<Fields>{{"x", "  y ", "", ""}}));
  EXPECT_EQ(GoodRows("a,b\ninner  space,\" \"\n"), (std::vector<Fields>{{"inner  space", " "}}));
}

TEST(CsvReaderTest, QuotedFields) {
  auto rows = GoodRows(
      "a,b,c\n"
      "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
      "\"\",plain,\"\"\"\"\n"
      "\"crlf\r\ninside\",\"a\rb\",\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (Fields{"x,y", "say \"hi\"", "two\nlines"}));
  EXPECT_EQ(rows[1], (Fields{"", "plain", "\""}));
  EXPECT_EQ(rows[2], (Fields{"crlf\r\ninside", "a\rb", ""}));
}

TEST(CsvReaderTest, RowNumbersCountRecordsNotLines) {
  CsvReader reader = OpenOk("a,b\n\"1\n2\n3\",x\nshort\n4,y\n");
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].number, 1);
  EXPECT_EQ(items[0].fields, (Fields{"1\n2\n3", "x"}));
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->row, 2);
  EXPECT_EQ(items[2].number, 3);
}

TEST(CsvReaderTest, LineEndings) {
  const Fields kRow1 = {"1", "2"}, kRow2 = {"3", ""};
  for (std::string eol : {"\r\n", "\n", "\r"}) {
    SCOPED_TRACE(testing::PrintToString(eol));
    auto rows = GoodRows("a,b" + eol + "1,2" + eol + "3," + eol);
    EXPECT_EQ(rows, (std::vector<Fields>{kRow1, kRow2}));
    // No line end after the last record.
    rows = GoodRows("a,b" + eol + "1,2" + eol + "3,");
    EXPECT_EQ(rows, (std::vector<Fields>{kRow1, kRow2}));
  }
  // Mixed in one file.
  EXPECT_EQ(GoodRows("a,b\r\n1,2\n3,\r"), (std::vector<Fields>{kRow1, kRow2}));
}

TEST(CsvReaderTest, BlankLinesAreSkipped) {
  CsvReader reader = OpenOk("\n\r\na,b\n\n1,2\r\n\r\n   \n\t\n3,4\n\n");
  EXPECT_EQ(reader.header(), (Fields{"a", "b"}));
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].number, 1);
  EXPECT_EQ(items[0].fields, (Fields{"1", "2"}));
  EXPECT_EQ(items[1].number, 2);
  EXPECT_EQ(items[1].fields, (Fields{"3", "4"}));
}

TEST(CsvReaderTest, RaggedRowsAreReportedAndReadingContinues) {
  CsvReader reader = OpenOk("a,b,c\n1,2,3\n1,2\n1,2,3,4\n4,5,6\n7\n");
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 5u);
  EXPECT_FALSE(items[0].error);
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->row, 2);
  EXPECT_EQ(items[1].error->column, "");
  EXPECT_EQ(items[1].error->message, "has 2 fields, the header has 3");
  EXPECT_TRUE(items[1].fields.empty());
  ASSERT_TRUE(items[2].error);
  EXPECT_EQ(items[2].error->row, 3);
  EXPECT_EQ(items[2].error->message, "has 4 fields, the header has 3");
  EXPECT_FALSE(items[3].error);
  EXPECT_EQ(items[3].number, 4);
  EXPECT_EQ(items[3].fields, (Fields{"4", "5", "6"}));
  ASSERT_TRUE(items[4].error);
  EXPECT_EQ(items[4].error->row, 5);
  EXPECT_EQ(items[4].error->message, "has 1 field, the header has 3");
  EXPECT_EQ(reader.rows_read(), 5);
}

TEST(CsvReaderTest, InvalidUtf8IsReportedPerRowNamingTheColumn) {
  // "Müller" and "Köln" saved as Latin-1.
  CsvReader reader =
      OpenOk("name,city\nM\xFCller,Berlin\nAda,K\xF6ln\nM\xC3\xBCller,K\xC3\xB6ln\n");
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 3u);
  ASSERT_TRUE(items[0].error);
  EXPECT_EQ(items[0].error->row, 1);
  EXPECT_EQ(items[0].error->column, "name");
  EXPECT_NE(items[0].error->message.find("UTF-8"), std::string::npos);
  EXPECT_NE(items[0].error->message.find("0xFC"), std::string::npos);
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->row, 2);
  EXPECT_EQ(items[1].error->column, "city");
  EXPECT_FALSE(items[2].error);
  EXPECT_EQ(items[2].fields, (Fields{"Müller", "Köln"}));
}

TEST(CsvReaderTest, Utf8ValidationIsStrict) {
  const std::vector<std::string> kInvalid = {
      "\xE4",              // Latin-1 ä
      "a\xE4!",            // in the middle
      "\xC0\xAF",          // overlong '/'
      "\xC1\xBF",          // overlong
      "\xE0\x80\xAF",      // overlong 3-byte
      "\xF0\x80\x80\xAF",  // overlong 4-byte
      "\xED\xA0\x80",      // surrogate U+D800
      "\xED\xBF\xBF",      // surrogate U+DFFF
      "\xF4\x90\x80\x80",  // U+110000
      "\xF5\x80\x80\x80",  // beyond the encoding
      "\xFF",              //
      "\x80",              // stray continuation
      "\xC3",              // truncated
      "\xE2\x82",          // truncated
      "\xE2\x28\xA1",      // bad continuation
      "\xF0\x9F\x98",      // truncated emoji
      "abcdefgh\xE4",      // after the ASCII fast path
  };
  for (const std::string& value : kInvalid) {
    SCOPED_TRACE(testing::PrintToString(value));
    CsvReader reader = OpenOk("v\n\"" + value + "\"\n");
    auto items = ReadAll(reader);
    ASSERT_EQ(items.size(), 1u);
    ASSERT_TRUE(items[0].error);
    EXPECT_EQ(items[0].error->column, "v");
  }
  const std::vector<std::string> kValid = {
      "\x7F",
      "\xC2\x80",
      "\xDF\xBF",
      "\xE0\xA0\x80",
      "\xED\x9F\xBF",
      "\xEE\x80\x80",
      "\xEF\xBF\xBF",
      "\xF0\x90\x80\x80",
      "\xF4\x8F\xBF\xBF",
      "€ 😀 ä ß 中",
      std::string("a\0b", 3),
  };
  for (const std::string& value : kValid) {
    SCOPED_TRACE(testing::PrintToString(value));
    EXPECT_EQ(GoodRows("v\n\"" + value + "\"\n"), (std::vector<Fields>{{value}}));
  }
}

TEST(CsvReaderTest, OversizedField) {
  CsvOptions options;
  options.max_field_bytes = 10;
  std::string big(11, 'x');
  std::string data = "a,b\n1,2\n" + big + ",3\n4,\"" + big + "\"\n" + std::string(10, 'y') + ",5\n";
  CsvReader reader = OpenOk(data, options);
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_FALSE(items[0].error);
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->row, 2);
  EXPECT_EQ(items[1].error->column, "a");
  EXPECT_EQ(items[1].error->message, "is longer than 10 bytes");
  ASSERT_TRUE(items[2].error);
  EXPECT_EQ(items[2].error->column, "b");
  EXPECT_FALSE(items[3].error);
  EXPECT_EQ(items[3].fields, (Fields{std::string(10, 'y'), "5"}));
}

TEST(CsvReaderTest, HugeFieldDoesNotStopTheFile) {
  // Spans many parser slices, so libcsv's buffer is cut back while the field is still open.
  CsvOptions options;
  options.max_field_bytes = 1000;
  std::string data = "a,b\n\"" + std::string(1 << 20, 'x') + "\",1\n2,3\n";
  CsvReader reader = OpenOk(data, options);
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 2u);
  ASSERT_TRUE(items[0].error);
  EXPECT_EQ(items[0].error->column, "a");
  EXPECT_EQ(items[1].fields, (Fields{"2", "3"}));
}

TEST(CsvReaderTest, UnbalancedQuoteAtEnd) {
  CsvReader reader = OpenOk("a,b\n1,2\n3,\"unterminated\n4,5\n");
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].fields, (Fields{"1", "2"}));
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->row, 2);
  EXPECT_EQ(items[1].error->column, "b");
  EXPECT_NE(items[1].error->message.find("not closed"), std::string::npos);
  EXPECT_EQ(reader.rows_read(), 2);
}

TEST(CsvReaderTest, UnbalancedQuoteInLongFileIsBounded) {
  // The open quote swallows the rest of the file; it is reported once, without buffering it.
  CsvOptions options;
  options.max_field_bytes = 100;
  std::string data = "a,b\n\"open,1\n";
  for (int i = 0; i < 20000; ++i) data += "x,y\n";
  CsvReader reader = OpenOk(data, options);
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].error);
  EXPECT_NE(items[0].error->message.find("not closed"), std::string::npos);
}

TEST(CsvReaderTest, StrayQuotesAreReportedAndReadingResumesOnTheNextLine) {
  CsvReader reader = OpenOk("a,b\n1,x\"y\n\"q\"z,2\n3,4\r\n\"ok\",\"fine\"\n");
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 4u);
  ASSERT_TRUE(items[0].error);
  EXPECT_EQ(items[0].error->row, 1);
  EXPECT_EQ(items[0].error->column, "b");
  EXPECT_NE(items[0].error->message.find("stray quote"), std::string::npos);
  ASSERT_TRUE(items[1].error);
  EXPECT_EQ(items[1].error->row, 2);
  EXPECT_EQ(items[1].error->column, "a");
  EXPECT_EQ(items[2].number, 3);
  EXPECT_EQ(items[2].fields, (Fields{"3", "4"}));
  EXPECT_EQ(items[3].fields, (Fields{"ok", "fine"}));
}

TEST(CsvReaderTest, HeaderProblems) {
  EXPECT_NE(OpenError("").find("empty"), std::string::npos);
  EXPECT_NE(OpenError("\xEF\xBB\xBF").find("empty"), std::string::npos);
  EXPECT_NE(OpenError("\r\n\n").find("empty"), std::string::npos);
  EXPECT_EQ(OpenError("a,b,a\n1,2,3\n"), "file: header names \"a\" more than once");
  EXPECT_EQ(OpenError("a, b ,b\n"), "file: header names \"b\" more than once");
  EXPECT_EQ(OpenError("a,,c\n"), "file: header column 2 has no name");
  EXPECT_EQ(OpenError("a, \n"), "file: header column 2 has no name");
  EXPECT_NE(OpenError("a,b\xE4\n").find("header column 2 is not valid UTF-8"), std::string::npos);
  EXPECT_NE(OpenError("a,\"b\n").find("not closed"), std::string::npos);
  EXPECT_NE(OpenError("a,b\"c\n1,2\n").find("stray quote"), std::string::npos);

  CsvOptions options;
  options.max_columns = 3;
  EXPECT_TRUE(CsvReader::Open("a,b,c\n", options).ok());
  EXPECT_EQ(OpenError("a,b,c,d\n", options), "file: header has 4 columns, at most 3 are allowed");
  options = {};
  options.max_field_bytes = 4;
  EXPECT_NE(OpenError("abcde\n", options).find("longer than 4 bytes"), std::string::npos);
  options = {};
  options.max_bytes = 8;
  EXPECT_NE(OpenError("a,b\n1,2\n3,4\n", options).find("larger than 8 bytes"), std::string::npos);
}

TEST(CsvReaderTest, HeaderOnly) {
  for (std::string data : {"a,b", "a,b\n", "a,b\r\n\r\n"}) {
    CsvReader reader = OpenOk(data);
    EXPECT_EQ(reader.header(), (Fields{"a", "b"}));
    CsvRow row;
    std::optional<CsvError> error;
    EXPECT_FALSE(reader.Next(&row, &error));
    EXPECT_FALSE(reader.Next(&row, &error));
    EXPECT_EQ(reader.rows_read(), 0);
  }
}

TEST(CsvReaderTest, RowLimit) {
  CsvOptions options;
  options.max_rows = 2;
  CsvReader reader = OpenOk("a\n1\n2\n3\n4\n", options);
  auto items = ReadAll(reader);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].fields, (Fields{"2"}));
  ASSERT_TRUE(items[2].error);
  EXPECT_EQ(items[2].error->row, 3);
  EXPECT_EQ(items[2].error->message, "file has more than 2 rows");
}

TEST(CsvReaderTest, StreamsAcrossParserSlices) {
  // Enough rows for many 64 KiB slices, with records straddling slice boundaries.
  std::string data = "id;name;note\n";
  for (int i = 0; i < 30000; ++i) {
    data += std::to_string(i) + ";name " + std::to_string(i) + ";\"multi\nline; " +
            std::to_string(i) + "\"\n";
    if (i % 997 == 0) data += "bad\xE4;x;y\n";
  }
  CsvReader reader = OpenOk(data);
  CsvRow row;
  std::optional<CsvError> error;
  int good = 0, bad = 0;
  int64_t last = 0;
  while (reader.Next(&row, &error)) {
    EXPECT_EQ(row.number, last + 1);
    last = row.number;
    if (error) {
      ++bad;
      EXPECT_EQ(error->column, "id");
      continue;
    }
    ASSERT_EQ(row.fields.size(), 3u);
    ASSERT_EQ(row.fields[0], std::to_string(good));
    ASSERT_EQ(row.fields[2], "multi\nline; " + std::to_string(good));
    ++good;
  }
  EXPECT_EQ(good, 30000);
  EXPECT_EQ(bad, 31);
  EXPECT_EQ(reader.rows_read(), 30031);
}

TEST(CsvReaderTest, MovedReaderKeepsStreaming) {
  auto opened = CsvReader::Open("a\n1\n2\n");
  ASSERT_TRUE(opened.ok());
  CsvReader first = std::move(opened).value();
  CsvRow row;
  std::optional<CsvError> error;
  ASSERT_TRUE(first.Next(&row, &error));
  CsvReader second = std::move(first);
  ASSERT_TRUE(second.Next(&row, &error));
  EXPECT_EQ(row.fields, (Fields{"2"}));
  EXPECT_FALSE(second.Next(&row, &error));
}

TEST(CsvWriterTest, Quoting) {
  std::string out;
  AppendCsvRecord(&out, {"plain", "with,comma", "say \"hi\"", "two\nlines", "cr\r", ""});
  EXPECT_EQ(out, "plain,\"with,comma\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\r\n");
  out.clear();
  AppendCsvRecord(&out, {"a;b", "c,d"}, ';');
  EXPECT_EQ(out, "\"a;b\";c,d\r\n");
  out.clear();
  // Blanks at either end are quoted: the reader trims them from unquoted fields.
  AppendCsvRecord(&out, {" lead", "trail\t", "in side", "ä"});
  EXPECT_EQ(out, "\" lead\",\"trail\t\",in side,ä\r\n");
  out.clear();
  AppendCsvRecord(&out, {""});
  EXPECT_EQ(out, "\"\"\r\n");
  out.clear();
  AppendCsvRecord(&out, {"", ""});
  EXPECT_EQ(out, ",\r\n");
  // Appends.
  AppendCsvRecord(&out, {"x"});
  EXPECT_EQ(out, ",\r\nx\r\n");
}

TEST(CsvWriterTest, DefusesFormulas) {
  std::string out;
  AppendCsvRecord(&out, {"=1+2", "+49 30 1234", "-5", "@SUM(A1)", "\tx", "a=b", "'quoted"});
  EXPECT_EQ(out, "'=1+2,'+49 30 1234,'-5,'@SUM(A1),'\tx,a=b,'quoted\r\n");
  out.clear();
  AppendCsvRecord(&out, {"=HYPERLINK(\"http://x\",\"y\")"});
  EXPECT_EQ(out, "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n");
}

TEST(CsvWriterTest, RoundTrip) {
  const std::vector<Fields> kRows = {
      {"plain", "with,comma", "semi;colon"},
      {"say \"hi\"", "\"", "\"\""},
      {"two\nlines", "crlf\r\nend", "cr\r"},
      {"", "", ""},
      {" leading", "trailing ", "\t"},
      {" ", "\t x \t", "- 1 "},
      {"Müller", "€ 😀", std::string("nul\0byte", 8)},
      {"=SUM(A1)", "-3", "'"},
  };
  for (char delimiter : {',', ';'}) {
    SCOPED_TRACE(delimiter);
    std::string out;
    AppendCsvRecord(&out, {"c1", "c2", "c3"}, delimiter);
    for (const Fields& row : kRows) AppendCsvRecord(&out, row, delimiter);
    CsvReader reader = OpenOk(out);
    EXPECT_EQ(reader.delimiter(), delimiter);
    auto items = ReadAll(reader);
    ASSERT_EQ(items.size(), kRows.size());
    for (size_t i = 0; i < kRows.size(); ++i) {
      ASSERT_FALSE(items[i].error) << items[i].error->message;
      Fields expected = kRows[i];
      for (std::string& field : expected) {
        if (!field.empty() && std::string_view("=+-@\t").find(field[0]) != std::string::npos) {
          field.insert(0, "'");
        }
      }
      EXPECT_EQ(items[i].fields, expected);
    }
  }
  // A single empty column survives (it is not a blank line).
  std::string out;
  AppendCsvRecord(&out, {"only"});
  AppendCsvRecord(&out, {""});
  AppendCsvRecord(&out, {"x"});
  EXPECT_EQ(GoodRows(out), (std::vector<Fields>{{""}, {"x"}}));
}

}  // namespace
}  // namespace kontor::clients
