// Glue between libqpdf and the rest of documents/: the one place that knows which qpdf warnings
// mean damage, plus small helpers around QPDF and QPDFWriter.
// Internal to documents/ (it exposes qpdf types).
#pragma once

#include <cstddef>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFWriter.hh>
#include <string>
#include <vector>

#include "core/status.h"

namespace kontor::documents::internal {

// The bytes a QPDFWriter with setOutputMemory() wrote.
std::string TakeOutput(QPDFWriter& writer);

// Makes a new QPDF collect warnings (for IsDamageWarning) instead of printing them.
void ConfigureReader(QPDF& pdf);

// False only for the few repairs known to lose nothing (a wrong stream /Length, a page with a
// wrong /Type, a stray '#' in a name, a sloppy end of line after "stream"); every other warning
// means qpdf had to guess: a rebuilt cross-reference table, objects or content it could only
// partly read, streams it cannot decode.
bool IsDamageWarning(const QPDFExc& warning);

// A sink that counts and discards, throwing std::length_error past `budget` bytes: bounds the
// work a decompression bomb can cause during validation.
class BudgetSink : public Pipeline {
 public:
  explicit BudgetSink(size_t budget) : Pipeline("budget", nullptr), budget_(budget) {}
  void write(unsigned char const* data, size_t len) override;
  void finish() override {}
  size_t count() const { return count_; }

 private:
  size_t budget_;
  size_t count_ = 0;
};

// Page content parser callbacks that only make qpdf tokenize the stream.
class DiscardTokens : public QPDFObjectHandle::ParserCallbacks {
 public:
  void handleObject(QPDFObjectHandle) override {}
  void handleEOF() override {}
};

}  // namespace kontor::documents::internal
