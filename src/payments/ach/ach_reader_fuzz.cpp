// libFuzzer target for the NACHA reader and validator: no input may crash
// them, and whatever reads without error writes back to the same records.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "payments/ach/reader.h"
#include "payments/ach/writer.h"

using namespace kontor::payments::ach;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ReadResult r = Read(input);
  for (const Error& e : r.errors) {
    if (e.kind == nullptr || *e.kind == '\0') std::abort();
    (void)e.Message();
  }
  std::istringstream in{std::string(input)};
  ErrorCollector streamed;
  ScanStream(in, streamed);
  // The streaming reader sees the same file (it decides the no-line-break
  // layout from its first chunk, which holds the whole of a fuzz input).
  if ((streamed.count() == 0) != r.ok()) std::abort();
  if (r.ok()) {
    ReadResult again = Read(Write(r.file));
    if (!again.ok()) std::abort();
  }
  return 0;
}
