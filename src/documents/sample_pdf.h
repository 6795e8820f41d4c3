// Procedurally generated newsletter-like PDFs, so the tests, the fuzz seeds and bench/pdf.sh need
// no binary fixtures: a headline and body text on every page, JPEG "photos" (DCT at libjpeg's
// default quality, generated pixel by pixel and compressed through qpdf's Pl_DCT) and Flate
// "charts", written by libqpdf with object streams and a cross-reference stream like the files
// layout programs export. Everything is deterministic for a given set of options.
#pragma once

#include <string>

#include "core/status.h"

namespace kontor::documents {

struct SamplePdfOptions {
  int pages = 4;
  double width = 595.0;  // A4 portrait, in points
  double height = 842.0;
  int rotate = 0;           // /Rotate of every second page (0, 90, 180 or 270)
  int photos_per_page = 1;  // JPEG images
  int photo_width = 320;    // pixels
  int photo_height = 200;
  int photo_detail = 24;    // noise amplitude 0..128: more detail, bigger JPEGs
  int charts_per_page = 1;  // small Flate-compressed RGB images
  std::string title = "Kontor Weekly";
  bool object_streams = true;  // object streams and an xref stream; false: classic xref table
  bool with_xmp = false;       // a catalog /Metadata stream as layout programs write one
  // Non-empty: the file is AES-256 encrypted with these passwords (to test rejection).
  std::string owner_password;
  std::string user_password;
};

// The PDF bytes. Fails only when qpdf fails (a bug in the options, e.g. zero-sized images).
Result<std::string> MakeSamplePdf(const SamplePdfOptions& options);

}  // namespace kontor::documents
