// What an edition's personalization is configured with: the look of the visible watermark, the
// optional protection, and what each recipient contributes. Kept apart from the Personalizer so
// the layout code (watermark.h) and the template code (pdf_template.h) can share them.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kontor::documents {

enum class WatermarkPosition {
  kBottom,    // lines stacked upwards from margin_y above the bottom edge
  kTop,       // lines hanging down from margin_y below the top edge
  kDiagonal,  // centred on the page, rotated along the page diagonal by default
};

enum class WatermarkAlign { kLeft, kCenter, kRight };  // kBottom and kTop only

struct WatermarkOptions {
  WatermarkPosition position = WatermarkPosition::kBottom;
  WatermarkAlign align = WatermarkAlign::kCenter;
  // Distances in points from the page edges as the reader sees the page (after /Rotate).
  // margin_x also bounds the line width: a line wider than the narrowest page minus both
  // margins is set smaller, down to min_font_size, so a long e-mail address stays on the page.
  double margin_x = 36.0;
  double margin_y = 18.0;
  double font_size = 8.0;  // points; the font is the standard Helvetica (not embedded)
  double min_font_size = 4.0;
  double line_spacing = 1.25;                    // baseline distance in multiples of the font size
  double red = 0.35, green = 0.35, blue = 0.35;  // fill colour, 0..1 each
  double opacity = 0.75;                         // fill opacity (ExtGState /ca), 0..1
  // Counter-clockwise degrees around the anchor. Unset: 0 at the top and bottom, the angle of
  // the page diagonal (bottom left to top right) for kDiagonal.
  std::optional<double> rotation_degrees;
  size_t max_lines = 8;
  // Bytes reserved in the template for one recipient's watermark content stream and for the
  // XML-escaped recipient id in the XMP packet. A recipient that needs more still gets a
  // correct file, through a full rewrite of the master (hundreds of milliseconds for 5 MB
  // instead of a fraction of one). The default stream holds about eight lines of 100 characters.
  size_t reserved_stream_bytes = 2048;
  size_t reserved_id_bytes = 128;
};

// AES-256 (PDF 2.0 / ISO 32000-2 security handler revision 6). The user password stays empty
// by default so subscribers open their copy without one; the owner password guards the
// permissions, which readers enforce (the PDF standard's meaning of "not allowed").
struct ProtectionOptions {
  std::string owner_password;    // required
  std::string user_password;     // empty: no password to open
  bool allow_printing = true;    // full-resolution printing
  bool allow_copying = false;    // text and image extraction (accessibility extraction stays on)
  bool allow_modifying = false;  // editing, annotating, filling forms, assembling pages
};

struct Recipient {
  // Stable identifier written invisibly into the XMP metadata (kontor:RecipientId) and hashed
  // into the trailer /ID; 1..256 bytes of UTF-8 without control characters.
  std::string id;
  // The visible watermark, final strings in UTF-8 (name, customer number, e-mail, date...), one
  // per line. Characters outside Windows-1252 degrade as documented in watermark.h.
  std::vector<std::string> lines;
};

// Receives a file front to back, chunk by chunk; a non-OK Status stops the writing.
using ChunkSink = std::function<Status(std::string_view chunk)>;

// kValidation naming the offending "watermark.*" / "protection.*" fields.
Status ValidateOptions(const WatermarkOptions& watermark, const ProtectionOptions* protection);
// kValidation naming "recipient.id" / "recipient.lines".
Status ValidateRecipient(const Recipient& recipient, const WatermarkOptions& watermark);

}  // namespace kontor::documents
