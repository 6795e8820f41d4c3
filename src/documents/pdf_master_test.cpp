// AnalyzePdf on generated masters: what it reports for good files and how it rejects bad ones.
#include "documents/pdf_master.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "documents/sample_pdf.h"

namespace kontor::documents {
namespace {

namespace fs = std::filesystem;

std::string Sample(SamplePdfOptions options = {}) {
  auto pdf = MakeSamplePdf(options);
  EXPECT_TRUE(pdf.ok()) << pdf.status().ToString();
  return pdf.ok() ? *pdf : "";
}

// The one "pdf" field message of a rejection, or a marker when it was not one.
std::string Rejection(const Result<PdfMaster>& r) {
  if (r.ok()) return "<accepted>";
  if (r.status().code() != StatusCode::kValidation || r.status().fields().size() != 1 ||
      r.status().fields()[0].field != "pdf") {
    return "<not a pdf validation error: " + r.status().ToString() + ">";
  }
  return r.status().fields()[0].message;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(PdfMasterTest, ReportsPagesSizesRotationAndTitle) {
  SamplePdfOptions o;
  o.pages = 5;
  o.rotate = 90;
  o.title = "Börsenbrief KW 49";
  auto master = AnalyzePdf(Sample(o));
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  EXPECT_EQ(master->page_count(), 5);
  EXPECT_EQ(master->title, "Börsenbrief KW 49");
  EXPECT_FALSE(master->pdf_version.empty());
  EXPECT_TRUE(master->warnings.empty());
  ASSERT_NE(master->bytes, nullptr);
  EXPECT_EQ(master->pages[0].rotate, 0);
  EXPECT_DOUBLE_EQ(master->pages[0].width(), 595);
  EXPECT_DOUBLE_EQ(master->pages[0].height(), 842);
  EXPECT_EQ(master->pages[1].rotate, 90);
  EXPECT_DOUBLE_EQ(master->pages[1].width(), 842);  // as displayed
  EXPECT_DOUBLE_EQ(master->pages[1].height(), 595);
}

TEST(PdfMasterTest, AcceptsClassicXrefTables) {
  SamplePdfOptions o;
  o.object_streams = false;
  auto master = AnalyzePdf(Sample(o));
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  EXPECT_EQ(master->page_count(), 4);
}

TEST(PdfMasterTest, RejectsWhatIsNotAPdf) {
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf("")), "not a PDF"));
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf("Subject,Name\nhello,world\n")), "not a PDF"));
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16))),
                       "not a PDF"));
  // A header alone is not enough.
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf("%PDF-1.7\nnothing else")), "damaged"));
}

TEST(PdfMasterTest, RejectsEncryptedFiles) {
  SamplePdfOptions o;
  o.owner_password = "owner";  // opens without a password, but restricted
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(Sample(o))), "encrypted"));
  o.user_password = "user";
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(Sample(o))), "password"));
}

TEST(PdfMasterTest, RejectsTruncatedFiles) {
  for (bool object_streams : {true, false}) {
    SamplePdfOptions o;
    o.object_streams = object_streams;
    const std::string pdf = Sample(o);
    for (double keep : {0.3, 0.6, 0.95}) {
      const std::string cut = pdf.substr(0, static_cast<size_t>(pdf.size() * keep));
      EXPECT_TRUE(Contains(Rejection(AnalyzePdf(cut)), "damaged"))
          << "object streams " << object_streams << ", kept " << keep << ": "
          << Rejection(AnalyzePdf(cut));
    }
  }
}

TEST(PdfMasterTest, RejectsBrokenXrefAndCorruptStreams) {
  SamplePdfOptions o;
  o.object_streams = false;
  const std::string pdf = Sample(o);

  std::string bad_xref = pdf;
  const size_t startxref = bad_xref.rfind("startxref\n");
  ASSERT_NE(startxref, std::string::npos);
  bad_xref.replace(startxref + 10, 1, "9");  // the offset now points elsewhere
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(bad_xref)), "damaged"));

  // Garbage at the start of a Flate stream: parseable, but not decodable.
  std::string bad_flate = pdf;
  size_t at = bad_flate.find("/FlateDecode");
  ASSERT_NE(at, std::string::npos);
  at = bad_flate.find("stream\n", at) + 7;
  bad_flate.replace(at, 8, "garbage!");
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(bad_flate)), "damaged"))
      << Rejection(AnalyzePdf(bad_flate));
}

TEST(PdfMasterTest, KeepsRepairsThatLoseNothing) {
  SamplePdfOptions o;
  o.object_streams = false;
  std::string pdf = Sample(o);
  // A stream /Length one digit off: qpdf finds endstream and recovers the real length.
  const size_t at = pdf.find("/Length ");
  ASSERT_NE(at, std::string::npos);
  pdf.replace(at, 9, "/Length 9");
  auto master = AnalyzePdf(pdf);
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  EXPECT_FALSE(master->warnings.empty());
}

TEST(PdfMasterTest, RejectsFilesWithoutPages) {
  SamplePdfOptions o;
  o.pages = 0;
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(Sample(o))), "no pages"));
}

TEST(PdfMasterTest, RejectsOversizedFiles) {
  const std::string pdf = Sample();
  PdfLimits limits;
  limits.max_bytes = pdf.size() - 1;
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(pdf, limits)), "the limit is"));
  limits = {};
  limits.max_pages = 3;
  EXPECT_EQ(Rejection(AnalyzePdf(pdf, limits)), "the file has 4 pages; the limit is 3");
  limits = {};
  limits.max_decoded_bytes = 1000;  // the content decodes to more than this
  EXPECT_TRUE(Contains(Rejection(AnalyzePdf(pdf, limits)), "decompresses to more than"));
}

TEST(PdfMasterTest, AnalyzesFilesAndChecksTheirSizeFirst) {
  const std::string path =
      (fs::temp_directory_path() / ("pdf_master_test_" + std::to_string(::getpid()) + ".pdf"))
          .string();
  const std::string pdf = Sample();
  std::ofstream(path, std::ios::binary) << pdf;
  auto master = AnalyzePdfFile(path);
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  EXPECT_EQ(*master->bytes, pdf);
  PdfLimits limits;
  limits.max_bytes = 100;
  EXPECT_TRUE(Contains(Rejection(AnalyzePdfFile(path, limits)), "the limit is"));
  fs::remove(path);
  EXPECT_EQ(AnalyzePdfFile(path).status().code(), StatusCode::kNotFound);
}

TEST(PdfMasterTest, SurvivesMutatedFiles) {
  // Not a fuzzer (see pdf_fuzz.cpp), but every outcome must be an answer, never a crash.
  SamplePdfOptions o;
  o.pages = 2;
  o.photos_per_page = 0;
  const std::string pdf = Sample(o);
  uint64_t state = 42;
  for (int i = 0; i < 300; ++i) {
    std::string mutated = pdf;
    for (int k = 0; k < 1 + i % 8; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      mutated[(state >> 33) % mutated.size()] = static_cast<char>(state >> 56);
    }
    auto r = AnalyzePdf(mutated);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kValidation) << r.status().ToString();
    }
  }
}

}  // namespace
}  // namespace kontor::documents
