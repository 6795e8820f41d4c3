#include "documents/personalizer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/crypto.h"
#include "core/markup.h"
#include "documents/pdf_template.h"
#include "documents/watermark.h"
#include "documents/xmp.h"

namespace kontor::documents {

struct Personalizer::State {
  internal::NormalizedMaster master;
  WatermarkOptions watermark;
  std::optional<ProtectionOptions> protection;
  double available_width = 0;
  std::unique_ptr<internal::PdfTemplate> edition;

  const ProtectionOptions* protection_ptr() const { return protection ? &*protection : nullptr; }
};

namespace {

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Internal(std::string("write failed: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Result<Personalizer> Personalizer::Create(const PdfMaster& master,
                                          const WatermarkOptions& watermark,
                                          std::optional<ProtectionOptions> protection) {
  RETURN_IF_ERROR(ValidateOptions(watermark, protection ? &*protection : nullptr));
  auto state = std::make_shared<State>();
  ASSIGN_OR_RETURN(state->master, internal::NormalizeMaster(master));
  state->watermark = watermark;
  state->protection = std::move(protection);
  state->available_width = AvailableLineWidth(state->master.pages, watermark);
  ASSIGN_OR_RETURN(
      state->edition,
      internal::PdfTemplate::Build(state->master, watermark, state->protection_ptr(),
                                   {watermark.reserved_stream_bytes, watermark.reserved_id_bytes}));
  return Personalizer(std::move(state));
}

Status Personalizer::PersonalizeTo(const Recipient& recipient, const ChunkSink& sink,
                                   PersonalizeInfo* info) const {
  const State& s = *state_;
  RETURN_IF_ERROR(ValidateRecipient(recipient, s.watermark));
  internal::RecipientParts parts;
  parts.content = RenderWatermarkContent(recipient.lines, s.watermark, s.available_width);
  parts.escaped_id = EscapeMarkup(recipient.id);
  parts.file_id = s.edition->id0() + Sha256(s.edition->id0() + recipient.id).substr(0, 16);

  const internal::PdfTemplate* pdf = s.edition.get();
  std::unique_ptr<internal::PdfTemplate> own;
  if (!pdf->Fits(parts)) {
    // Room for this recipient and some slack; the file is otherwise the same.
    const internal::TemplateCapacity capacity{
        std::max(s.watermark.reserved_stream_bytes, parts.content.size() + 256),
        std::max(s.watermark.reserved_id_bytes, parts.escaped_id.size())};
    ASSIGN_OR_RETURN(
        own, internal::PdfTemplate::Build(s.master, s.watermark, s.protection_ptr(), capacity));
    pdf = own.get();
  }
  size_t bytes = 0;
  std::string sha256;
  RETURN_IF_ERROR(pdf->Write(
      parts,
      [&](std::string_view chunk) {
        bytes += chunk.size();
        return sink(chunk);
      },
      info ? &sha256 : nullptr));
  if (info) {
    info->sha256_hex = HexEncode(sha256);
    info->bytes = bytes;
    info->full_rewrite = own != nullptr;
  }
  return Status::Ok();
}

Status Personalizer::PersonalizeToFd(const Recipient& recipient, int fd,
                                     PersonalizeInfo* info) const {
  return PersonalizeTo(
      recipient, [fd](std::string_view chunk) { return WriteAll(fd, chunk); }, info);
}

Status Personalizer::Personalize(const Recipient& recipient, const std::string& out_path,
                                 PersonalizeInfo* info) const {
  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::Internal("cannot create " + out_path + ": " + std::strerror(errno));
  }
  Status status = PersonalizeToFd(recipient, fd, info);
  if (::close(fd) != 0 && status.ok()) {
    status = Status::Internal("closing " + out_path + " failed: " + std::strerror(errno));
  }
  if (!status.ok()) ::unlink(out_path.c_str());
  return status;
}

Result<std::string> Personalizer::PersonalizeToBytes(const Recipient& recipient,
                                                     PersonalizeInfo* info) const {
  std::string out;
  out.reserve(template_bytes() + 4096);
  RETURN_IF_ERROR(PersonalizeTo(
      recipient,
      [&out](std::string_view chunk) {
        out.append(chunk);
        return Status::Ok();
      },
      info));
  return out;
}

std::string Personalizer::FileIdFor(std::string_view recipient_id) const {
  const std::string& id0 = state_->edition->id0();
  return HexEncode(Sha256(id0 + std::string(recipient_id)).substr(0, 16));
}

std::string Personalizer::EditionFileId() const { return HexEncode(state_->edition->id0()); }

size_t Personalizer::template_bytes() const { return state_->edition->size(); }

size_t Personalizer::shared_prefix_bytes() const { return state_->edition->shared_prefix(); }

}  // namespace kontor::documents
