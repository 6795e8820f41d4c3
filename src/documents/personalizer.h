// Per-recipient copies of one newsletter edition: a visible watermark with the recipient's
// lines on every page, an invisible recipient id (XMP kontor:RecipientId and the trailer /ID),
// optional AES-256 protection.
//
// Speed is the point: an edition goes to tens of thousands of subscribers. Running a PDF
// rewrite per recipient (e.g. `qpdf --overlay`) re-parses and re-serializes the whole master
// each time. Instead, Create rewrites the master ONCE into a template (pdf_template.h) whose
// only per-recipient bytes are two small fixed-capacity streams at the end of the file (the
// shared watermark Form XObject's content and the XMP packet) and the /ID strings. A copy is
// then the template's bytes with those few KiB patched: the file is written straight from the
// shared buffer (no per-recipient copy of the 5 MB), and its SHA-256 continues from a digest
// saved at the end of the shared prefix. Every copy is one complete rewrite of the master with
// ONE cross-reference table; nothing is appended to the untouched master (cutting a copy at
// its first %%EOF does not give back a clean copy).
//
// With protection, the template is encrypted once (R6, one random file key per edition) and
// each recipient's two streams are encrypted with that key and a fresh random IV; see
// pdf_template.h. Sharing the file key across an edition's copies costs nothing: they all have
// the same passwords, so whoever can open one copy can derive the key from it anyway.
//
// A recipient whose rendered watermark or id does not fit the reserved capacity
// (WatermarkOptions::reserved_*) gets a full libqpdf rewrite with room to spare: correct, and
// about as slow as qpdf itself. PersonalizeInfo::full_rewrite tells which path a copy took.
//
// All Personalize* methods are const and may run concurrently on one Personalizer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "documents/pdf_master.h"
#include "documents/personalize_options.h"

namespace kontor::documents {

namespace internal {
class PdfTemplate;
struct NormalizedMaster;
}  // namespace internal

struct PersonalizeInfo {
  std::string sha256_hex;  // of the whole file
  size_t bytes = 0;
  bool full_rewrite = false;  // the recipient did not fit the template's reserved capacity
};

class Personalizer {
 public:
  // Validates the options (kValidation naming watermark.* / protection.*) and builds the
  // template; `master` must come from AnalyzePdf. Takes about as long as two qpdf rewrites.
  static Result<Personalizer> Create(const PdfMaster& master, const WatermarkOptions& watermark,
                                     std::optional<ProtectionOptions> protection = std::nullopt);

  // Writes the copy to `out_path` (created or truncated; removed again on failure). Not atomic:
  // Hotfolder::Write gives temp-file-and-rename semantics.
  Status Personalize(const Recipient& recipient, const std::string& out_path,
                     PersonalizeInfo* info = nullptr) const;
  // Writes the copy to an open file descriptor, at its current position.
  Status PersonalizeToFd(const Recipient& recipient, int fd, PersonalizeInfo* info = nullptr) const;
  Result<std::string> PersonalizeToBytes(const Recipient& recipient,
                                         PersonalizeInfo* info = nullptr) const;
  // Streams the copy (for downloads): a large chunk shared by all copies, then a few KiB.
  Status PersonalizeTo(const Recipient& recipient, const ChunkSink& sink,
                       PersonalizeInfo* info = nullptr) const;

  // Hex of the second /ID string a copy for `recipient_id` carries: the first 16 bytes of
  // SHA-256(first /ID string || recipient id). The first string is the edition's, the same in
  // every copy; to trace a leaked copy, compare its /ID with this for each recipient.
  std::string FileIdFor(std::string_view recipient_id) const;
  std::string EditionFileId() const;  // hex of the first /ID string

  size_t template_bytes() const;  // size of every copy that took the fast path
  size_t shared_prefix_bytes() const;

 private:
  struct State;
  explicit Personalizer(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace kontor::documents
