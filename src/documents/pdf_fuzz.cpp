// libFuzzer target: the input is an uploaded master. Aborts when
// - AnalyzePdf fails other than with kValidation naming "pdf" (it must never throw or crash);
// - an accepted master cannot be personalized, or the copy does not parse back cleanly with
//   libqpdf (no warnings unless the master had some, never damage) with the same page count,
//   the recipient's id in its XMP and a two-string /ID.
// Seeds: documents/fuzz_corpus/pdf_fuzz (small generated masters).
#include <cstdint>
#include <cstdlib>
#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <string>

#include "documents/pdf_master.h"
#include "documents/personalizer.h"
#include "documents/qpdf_util.h"

namespace {

using kontor::StatusCode;
namespace documents = kontor::documents;

void CheckCopy(const std::string& pdf, const documents::PdfMaster& master,
               const documents::Personalizer& personalizer) {
  try {
    QPDF q;
    q.setSuppressWarnings(true);
    q.processMemoryFile("copy", pdf.data(), pdf.size());
    if (static_cast<int>(q.getAllPages().size()) != master.page_count()) std::abort();
    QPDFObjectHandle metadata = q.getRoot().getKey("/Metadata");
    if (!metadata.isStream()) std::abort();
    auto xmp = metadata.getStreamData(qpdf_dl_generalized);
    const std::string text(reinterpret_cast<const char*>(xmp->getBuffer()), xmp->getSize());
    if (text.find("<kontor:RecipientId>fuzz-1</kontor:RecipientId>") == std::string::npos) {
      std::abort();
    }
    QPDFObjectHandle id = q.getTrailer().getKey("/ID");
    if (!id.isArray() || id.getArrayNItems() != 2) std::abort();
    if (personalizer.FileIdFor("fuzz-1").size() != 32) std::abort();
    // The copy is written by qpdf: it reads back without damage, and without any warning at
    // all when the master had none (some sloppiness, like a name with a stray '#', is kept).
    for (const QPDFExc& w : q.getWarnings()) {
      if (!master.warnings.empty() && !documents::internal::IsDamageWarning(w)) continue;
      std::abort();
    }
  } catch (const std::exception&) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 << 10) return 0;
  documents::PdfLimits limits;
  limits.max_bytes = 256 << 10;
  limits.max_pages = 50;
  limits.max_decoded_bytes = 64 << 20;
  auto master =
      documents::AnalyzePdf(std::string(reinterpret_cast<const char*>(data), size), limits);
  if (!master.ok()) {
    const auto& fields = master.status().fields();
    if (master.status().code() != StatusCode::kValidation || fields.size() != 1 ||
        fields[0].field != "pdf" || fields[0].message.empty()) {
      std::abort();
    }
    return 0;
  }
  auto personalizer = documents::Personalizer::Create(*master, {});
  if (!personalizer.ok()) std::abort();
  auto copy = personalizer->PersonalizeToBytes({"fuzz-1", {"Fuzz Tester · fuzz@example.com"}});
  if (!copy.ok()) std::abort();
  CheckCopy(*copy, *master, *personalizer);
  return 0;
}
