// Validation of an uploaded edition master before anything is personalized.
//
// An upload is rejected, with Status::Validation naming "pdf" and a sentence an editor can act
// on, when it is: larger than the byte limit (checked before parsing), not a PDF (no "%PDF-"
// in the first 1024 bytes, as readers require), encrypted or password protected (the copies
// get their own protection; a master's restrictions are not ours to lift), damaged (qpdf could
// not parse it, or warned while walking the whole file about anything but the few repairs that
// lose nothing, see IsDamageWarning in qpdf_util.h: a rebuilt cross-reference table, objects or
// content read only in part, undecodable streams), without pages, or with more pages than the
// limit. Masters with only such lossless repairs (say a stream Length off by a byte) are
// accepted, the repairs listed in `warnings`; copies of such a master may repeat warnings that are
// the master's own (qpdf keeps, say, a name with a stray '#' as it is), while copies of a master
// without warnings pass `qpdf --check` cleanly.
//
// The walk is what `qpdf --check` does: every object written out with its streams decoded, into
// a sink that counts and discards, then every page's content tokenized. So an accepted master
// is one qpdf can rewrite and check, as the Personalizer needs. Never crashes or throws on
// arbitrary bytes (documents/pdf_fuzz.cpp), but parsing is as slow as qpdf makes it: keep the byte
// limit.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace kontor::documents {

struct PdfLimits {
  size_t max_bytes = 100u << 20;
  int max_pages = 400;
  // Decoded stream bytes the validation walk may produce: far above a real newsletter (photos
  // stay DCT-compressed), far below what a decompression bomb would make us inflate.
  size_t max_decoded_bytes = size_t{2} << 30;
};

// One page as readers show it. The box is the CropBox (else the MediaBox) in default user
// space, normalized so llx < urx and lly < ury.
struct PdfPage {
  double llx = 0, lly = 0, urx = 612, ury = 792;
  int rotate = 0;  // /Rotate normalized to 0, 90, 180 or 270
  // Size as displayed: width and height swap for 90 and 270.
  double width() const;
  double height() const;
};

struct PdfMaster {
  std::shared_ptr<const std::string> bytes;  // the upload, shared with every Personalizer
  std::vector<PdfPage> pages;
  std::string title;                  // /Info /Title as UTF-8, "" when absent
  std::string pdf_version;            // header version, e.g. "1.7"
  std::vector<std::string> warnings;  // what qpdf repaired without damage to the content

  int page_count() const { return static_cast<int>(pages.size()); }
};

Result<PdfMaster> AnalyzePdf(std::string bytes, const PdfLimits& limits = {});
// Reads the file (kNotFound when it cannot be opened) and analyses it; a file over the byte
// limit is rejected from its size without being read.
Result<PdfMaster> AnalyzePdfFile(const std::string& path, const PdfLimits& limits = {});

}  // namespace kontor::documents
