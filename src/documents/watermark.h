// Layout of the visible watermark: text encoding, metrics, the per-recipient content stream and
// where it goes on each page.
//
// The watermark is a Form XObject shared by all pages. Its content (RenderWatermarkContent) is
// the only per-recipient part and is laid out around its origin: growing upwards for kBottom,
// downwards for kTop, centred for kDiagonal, and left/centre/right aligned on x = 0. Each page
// then places that origin with a fixed matrix (WatermarkPlacement), which is written once per
// edition. So one rendered stream serves pages of any size and /Rotate.
//
// Text is set in the standard Helvetica with /WinAnsiEncoding, which every reader has and
// whose text pdftotext and copy-paste map back to Unicode without a ToUnicode map. Input is
// UTF-8. Windows-1252 covers Western European names (ä ö ü ß é è ñ ø å œ š ž € ...). Outside
// it: Latin Extended-A letters lose their accent (ł → l, ő → o, č → c, ş → s, Ș/ș/Ț/ț too),
// typographic spaces become spaces, combining marks are dropped (so decomposed "é" becomes
// "e"), anything else, and bytes that are not UTF-8, becomes '?'. Control characters become
// spaces. The invisible recipient id (XMP) keeps the exact UTF-8.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "documents/pdf_master.h"
#include "documents/personalize_options.h"

namespace kontor::documents {

// UTF-8 to Windows-1252 (= PDF WinAnsiEncoding) bytes, degraded as described above. `*lossy`
// (when given) tells whether anything was approximated or replaced.
std::string ToWinAnsi(std::string_view utf8, bool* lossy = nullptr);

// Advance width of WinAnsi-encoded text in Helvetica at `font_size`, in points (no kerning).
double HelveticaWidth(std::string_view winansi, double font_size);

// The widest a line may be on every page of `pages` (see WatermarkOptions::margin_x).
double AvailableLineWidth(const std::vector<PdfPage>& pages, const WatermarkOptions& options);

// The Form XObject content for these lines: font /KF, graphics state /KGs. Deterministic; its
// size grows with the text (about 40 bytes per line plus the text).
std::string RenderWatermarkContent(const std::vector<std::string>& utf8_lines,
                                   const WatermarkOptions& options, double available_width);

// Operands of the `cm` that maps the form's origin and axes onto `page` (user space, honouring
// /Rotate so "bottom" is the bottom the reader sees).
struct Matrix {
  double a = 1, b = 0, c = 0, d = 1, e = 0, f = 0;
};
Matrix WatermarkPlacement(const PdfPage& page, const WatermarkOptions& options);

// A number as PDF syntax accepts it: fixed notation, at most 4 decimals, no trailing zeros.
std::string PdfNumber(double value);

}  // namespace kontor::documents
