#include "documents/qpdf_util.h"

#include <memory>
#include <qpdf/Buffer.hh>
#include <stdexcept>

namespace kontor::documents::internal {

std::string TakeOutput(QPDFWriter& writer) {
  std::unique_ptr<Buffer> buffer(writer.getBuffer());
  return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
}

void ConfigureReader(QPDF& pdf) { pdf.setSuppressWarnings(true); }

bool IsDamageWarning(const QPDFExc& warning) {
  // Repairs that restore exactly what the file meant; everything else (a rebuilt xref table,
  // objects or content qpdf could only partly read, undecodable streams) is damage.
  const std::string& m = warning.getMessageDetail();
  for (const char* benign :
       {"attempting to recover stream length", "recovered stream length", "expected endstream",
        "stream keyword followed by carriage return only",
        "stream keyword not followed by proper line terminator", "key should be /Page",
        "name with stray #"}) {
    if (m.find(benign) != std::string::npos) return false;
  }
  return true;
}

void BudgetSink::write(unsigned char const* data, size_t len) {
  count_ += len;
  if (count_ > budget_) throw std::length_error("decoded content exceeds the limit");
}

}  // namespace kontor::documents::internal
