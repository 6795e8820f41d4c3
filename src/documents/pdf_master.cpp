#include "documents/pdf_master.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "documents/qpdf_util.h"

namespace kontor::documents {
namespace {

constexpr size_t kMaxWarningsKept = 20;

Status Reject(std::string message) { return Status::Validation({{"pdf", std::move(message)}}); }

std::string Megabytes(size_t n) { return fmt::format("{:.1f} MB", n / 1e6); }

Status Damaged(std::string_view detail) {
  return Reject(fmt::format(
      "the file is damaged ({}); export the PDF again from the layout program and upload it anew",
      detail));
}

Status TooBig(size_t size, const PdfLimits& limits) {
  return Reject(
      fmt::format("the file is {}; the limit is {}", Megabytes(size), Megabytes(limits.max_bytes)));
}

bool StartsLikePdf(std::string_view bytes) {
  // Readers accept the header anywhere in the first 1024 bytes (e.g. after a mail gateway's
  // junk); so do we, as long as it is there.
  return bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos;
}

std::optional<QPDFObjectHandle::Rectangle> Box(QPDFPageObjectHelper& page, const char* key) {
  QPDFObjectHandle box = page.getAttribute(key, false);
  if (!box.isRectangle()) return std::nullopt;
  QPDFObjectHandle::Rectangle r = box.getArrayAsRectangle();
  if (r.llx > r.urx) std::swap(r.llx, r.urx);
  if (r.lly > r.ury) std::swap(r.lly, r.ury);
  if (!std::isfinite(r.llx) || !std::isfinite(r.lly) || !std::isfinite(r.urx) ||
      !std::isfinite(r.ury) || r.urx - r.llx < 1 || r.ury - r.lly < 1) {
    return std::nullopt;
  }
  return r;
}

Result<PdfPage> Geometry(QPDFPageObjectHelper& page, int number) {
  std::optional<QPDFObjectHandle::Rectangle> box = Box(page, "/CropBox");
  if (!box) box = Box(page, "/MediaBox");
  if (!box) return Reject(fmt::format("page {} has no valid size (MediaBox)", number));
  PdfPage out;
  out.llx = box->llx;
  out.lly = box->lly;
  out.urx = box->urx;
  out.ury = box->ury;
  QPDFObjectHandle rotate = page.getAttribute("/Rotate", false);
  if (rotate.isInteger()) {
    // Readers ignore angles that are not multiples of 90; so does the watermark placement.
    const long long r = ((rotate.getIntValue() % 360) + 360) % 360;
    out.rotate = r % 90 == 0 ? static_cast<int>(r) : 0;
  }
  return out;
}

// Moves qpdf's pending warnings into `kept`; returns the first that means damage.
std::optional<std::string> CollectWarnings(QPDF& pdf, std::vector<std::string>& kept) {
  std::optional<std::string> damage;
  for (const QPDFExc& w : pdf.getWarnings()) {
    if (!damage && internal::IsDamageWarning(w)) damage = w.getMessageDetail();
    if (kept.size() < kMaxWarningsKept) kept.push_back(w.what());
  }
  return damage;
}

Result<PdfMaster> Analyze(std::shared_ptr<const std::string> bytes, const PdfLimits& limits) {
  PdfMaster master;
  std::vector<std::string> warnings;
  QPDF pdf;
  internal::ConfigureReader(pdf);
  pdf.processMemoryFile("master", bytes->data(), bytes->size());
  if (pdf.isEncrypted()) {
    return Reject(
        "the file is encrypted or has restrictions set; upload the master without a password "
        "or protection (the copies sent to subscribers are protected as the edition says)");
  }
  if (auto damage = CollectWarnings(pdf, warnings)) return Damaged(*damage);

  std::vector<QPDFPageObjectHelper> pages = QPDFPageDocumentHelper(pdf).getAllPages();
  if (auto damage = CollectWarnings(pdf, warnings)) return Damaged(*damage);
  if (pages.empty()) return Reject("the file has no pages");
  if (static_cast<int64_t>(pages.size()) > limits.max_pages) {
    return Reject(
        fmt::format("the file has {} pages; the limit is {}", pages.size(), limits.max_pages));
  }
  for (size_t i = 0; i < pages.size(); ++i) {
    ASSIGN_OR_RETURN(PdfPage page, Geometry(pages[i], static_cast<int>(i + 1)));
    master.pages.push_back(page);
  }

  // The walk `qpdf --check` does: write every object with its streams decoded (into a counting
  // sink), then tokenize each page's content.
  internal::BudgetSink sink(limits.max_decoded_bytes);
  {
    QPDFWriter writer(pdf);
    writer.setOutputPipeline(&sink);
    writer.setDecodeLevel(qpdf_dl_generalized);
    writer.setCompressStreams(false);
    writer.setObjectStreamMode(qpdf_o_disable);
    writer.write();
  }
  if (auto damage = CollectWarnings(pdf, warnings)) return Damaged(*damage);
  internal::DiscardTokens tokens;
  for (size_t i = 0; i < pages.size(); ++i) {
    pages[i].parseContents(&tokens);
    if (auto damage = CollectWarnings(pdf, warnings)) {
      return Damaged(fmt::format("page {}: {}", i + 1, *damage));
    }
  }

  QPDFObjectHandle info = pdf.getTrailer().getKey("/Info");
  if (info.isDictionary() && info.getKey("/Title").isString()) {
    master.title = info.getKey("/Title").getUTF8Value();
  }
  master.pdf_version = pdf.getPDFVersion();
  master.warnings = std::move(warnings);
  master.bytes = std::move(bytes);
  return master;
}

}  // namespace

double PdfPage::width() const { return rotate % 180 == 0 ? urx - llx : ury - lly; }
double PdfPage::height() const { return rotate % 180 == 0 ? ury - lly : urx - llx; }

Result<PdfMaster> AnalyzePdf(std::string bytes, const PdfLimits& limits) {
  if (bytes.size() > limits.max_bytes) return TooBig(bytes.size(), limits);
  if (!StartsLikePdf(bytes)) {
    return Reject("the file is not a PDF (it has no %PDF- header); upload the edition as PDF");
  }
  auto shared = std::make_shared<const std::string>(std::move(bytes));
  try {
    return Analyze(std::move(shared), limits);
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password) {
      return Reject(
          "the file needs a password to open; upload the master without a password or "
          "protection");
    }
    return Damaged(e.getMessageDetail());
  } catch (const std::length_error&) {
    return Reject(fmt::format("the file's content decompresses to more than {}",
                              Megabytes(limits.max_decoded_bytes)));
  } catch (const std::exception& e) {
    return Damaged(e.what());
  }
}

Result<PdfMaster> AnalyzePdfFile(const std::string& path, const PdfLimits& limits) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Status::NotFound("cannot open " + path);
  if (static_cast<size_t>(st.st_size) > limits.max_bytes) {
    return TooBig(static_cast<size_t>(st.st_size), limits);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::Internal("reading " + path + " failed");
  return AnalyzePdf(std::move(bytes), limits);
}

}  // namespace kontor::documents
