// The rewritten master from which every recipient's copy is patched (internal to documents/).
//
// Build rewrites the master with libqpdf, in two passes:
//   1. NormalizeMaster: drops unreferenced objects and the master's XMP stream (its text is
//      kept for merging), pushes inherited page attributes down, compresses uncompressed
//      streams; written without object streams (pass 2 makes them).
//   2. Build: gives every page  q <original contents> Q q <placement> /KontorWm Do Q  where
//      /KontorWm is ONE Form XObject shared by all pages (Helvetica/WinAnsi font, ExtGState
//      /ca for the opacity), points the catalog's /Metadata at a new XMP stream, and writes it
//      all with one cross-reference stream, optionally AES-256 (R6) encrypted.
// The two per-recipient streams are left uncompressed and padded to a fixed capacity, and are
// the last objects created, which with qpdf's "preserve unreferenced objects" ordering (object
// number order; pass 1 left nothing unreferenced) places them at the end of the file, just
// before the encryption dictionary and the xref stream whose trailer holds /ID. Their offsets
// come from qpdf's written xref table, and each is checked before use.
//
// Per recipient, Write copies only the tail from the first patched byte (rounded down to a 4 KiB
// boundary, a few KiB in all) and patches in place:
//   - the watermark content, padded with spaces to the capacity;
//   - the XMP packet (XmpLayout, same length for every id);
//   - both /ID strings (32 hex digits each; /ID plays no part in R6 key derivation).
// With encryption, the template's random file key is read back from the written file (QPDF
// opened with the owner password, getEncryptionKey), and the two streams are encrypted the way
// R6 wants (AESV3: the file key itself, a fresh random 16-byte IV in front, AES-256-CBC with
// PKCS#7 padding); a fixed plaintext length gives a fixed ciphertext length, so no offset
// moves. The SHA-256 of the file continues from a digest state saved at the end of the prefix.
// A Build object is immutable and safe to share between threads.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "documents/pdf_master.h"
#include "documents/personalize_options.h"
#include "documents/xmp.h"

namespace kontor::documents::internal {

// Pass 1 (see above), shared by the edition's template and any full rewrite.
struct NormalizedMaster {
  std::string bytes;
  std::optional<std::string> xmp;  // the master's decoded XMP packet, if it had one
  std::string title;
  std::vector<PdfPage> pages;
};
Result<NormalizedMaster> NormalizeMaster(const PdfMaster& master);

struct TemplateCapacity {
  size_t content_bytes = 0;  // watermark content stream (plaintext)
  size_t id_bytes = 0;       // XML-escaped recipient id in the XMP packet
};

// One recipient's variable parts, already rendered.
struct RecipientParts {
  std::string content;     // watermark Form XObject content
  std::string escaped_id;  // EscapeMarkup(recipient id)
  std::string file_id;     // 32 raw bytes: /ID [<first 16> <last 16>]
};

class PdfTemplate {
 public:
  static Result<std::unique_ptr<PdfTemplate>> Build(const NormalizedMaster& master,
                                                    const WatermarkOptions& watermark,
                                                    const ProtectionOptions* protection,
                                                    TemplateCapacity capacity);
  ~PdfTemplate();
  PdfTemplate(const PdfTemplate&) = delete;
  PdfTemplate& operator=(const PdfTemplate&) = delete;

  bool Fits(const RecipientParts& parts) const;
  // Streams one recipient's file to `sink`: the shared prefix (a view of the template) and the
  // patched tail. Requires Fits(parts). `sha256` (optional) gets the file's raw digest.
  Status Write(const RecipientParts& parts, const ChunkSink& sink, std::string* sha256) const;

  const std::string& id0() const { return id0_; }  // raw /ID[0] as written, 16 bytes
  size_t size() const { return bytes_.size(); }
  size_t shared_prefix() const { return tail_start_; }
  const std::string& bytes() const { return bytes_; }

 private:
  struct Slot {
    size_t offset = 0;  // in bytes_
    size_t length = 0;
  };
  PdfTemplate() = default;
  std::string Seal(std::string plain) const;  // encrypts when protected

  std::string bytes_;
  std::string file_key_;  // AES-256 file key; empty when not encrypted
  std::string id0_;
  size_t content_capacity_ = 0;
  std::unique_ptr<XmpLayout> xmp_;
  Slot content_slot_, xmp_slot_, id_slot_;
  size_t tail_start_ = 0;
  EVP_MD_CTX* prefix_digest_ = nullptr;  // SHA-256 state after bytes_[0, tail_start_)
};

}  // namespace kontor::documents::internal
