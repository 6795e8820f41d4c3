#include "documents/pdf_template.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <qpdf/QPDFXRefEntry.hh>
#include <set>
#include <string_view>
#include <utility>

#include "core/crypto.h"
#include "documents/qpdf_util.h"
#include "documents/watermark.h"

namespace kontor::documents::internal {
namespace {

constexpr size_t kAesBlock = 16;
constexpr size_t kPageAlign = 4096;
constexpr char kFormName[] = "/KontorWm";

// AES-256-CBC with PKCS#7 padding, the IV in front of the ciphertext (PDF's AESV2/AESV3
// stream format). `decrypt` reverses it.
std::string AesCbc(std::string_view key, std::string_view iv, std::string_view in, bool decrypt) {
  std::string out(in.size() + kAesBlock, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n1 = 0, n2 = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* v = reinterpret_cast<const unsigned char*>(iv.data());
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const auto* i = reinterpret_cast<const unsigned char*>(in.data());
  const bool ok = ctx &&
                  EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), nullptr, k, v, decrypt ? 0 : 1) == 1 &&
                  EVP_CipherUpdate(ctx, o, &n1, i, static_cast<int>(in.size())) == 1 &&
                  EVP_CipherFinal_ex(ctx, o + n1, &n2) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return "";
  out.resize(static_cast<size_t>(n1 + n2));
  return out;
}

size_t SealedSize(size_t plain, bool encrypted) {
  return encrypted ? kAesBlock + (plain / kAesBlock + 1) * kAesBlock : plain;
}

std::string UnusedXObjectName(std::vector<QPDFPageObjectHelper>& pages) {
  std::set<std::string> used;
  for (QPDFPageObjectHelper& page : pages) {
    QPDFObjectHandle resources = page.getAttribute("/Resources", false);
    if (!resources.isDictionary()) continue;
    QPDFObjectHandle xobjects = resources.getKey("/XObject");
    if (xobjects.isDictionary()) {
      for (const std::string& key : xobjects.getKeys()) used.insert(key);
    }
  }
  std::string name = kFormName;
  for (int i = 1; used.count(name); ++i) name = kFormName + std::to_string(i);
  return name;
}

void AddFormToResources(QPDFPageObjectHelper& page, const std::string& name,
                        QPDFObjectHandle form) {
  QPDFObjectHandle resources = page.getAttribute("/Resources", true);
  if (!resources.isDictionary()) {
    resources = QPDFObjectHandle::newDictionary();
    page.getObjectHandle().replaceKey("/Resources", resources);
  }
  QPDFObjectHandle xobjects = resources.getKey("/XObject");
  if (!xobjects.isDictionary()) {
    xobjects = QPDFObjectHandle::newDictionary();
    resources.replaceKey("/XObject", xobjects);
  }
  xobjects.replaceKey(name, form);
}

std::string Placement(const PdfPage& page, const WatermarkOptions& watermark,
                      const std::string& name) {
  const Matrix m = WatermarkPlacement(page, watermark);
  // Leading newline: the previous stream may end without whitespace after its last token.
  return "\nQ q " + PdfNumber(m.a) + ' ' + PdfNumber(m.b) + ' ' + PdfNumber(m.c) + ' ' +
         PdfNumber(m.d) + ' ' + PdfNumber(m.e) + ' ' + PdfNumber(m.f) + " cm " + name + " Do Q\n";
}

// Where a stream's data starts and how long it is, found from its object's offset: checks
// "N 0 obj", the /Length, the end-of-line after "stream" and the "endstream" after the data.
Result<std::pair<size_t, size_t>> StreamData(const std::string& bytes, size_t object_offset,
                                             size_t expected_length) {
  const auto fail = [&](const char* what) {
    return Status::Internal(fmt::format("template stream at offset {}: {}", object_offset, what));
  };
  const size_t dict_end = bytes.find("stream", object_offset);
  if (dict_end == std::string::npos || dict_end - object_offset > 4096) {
    return fail("no stream keyword");
  }
  const std::string_view dict(bytes.data() + object_offset, dict_end - object_offset);
  const size_t length_at = dict.find("/Length ");
  if (dict.find(" obj") == std::string_view::npos || length_at == std::string_view::npos) {
    return fail("no object header or /Length");
  }
  size_t length = 0;
  const char* digits = dict.data() + length_at + 8;
  std::from_chars(digits, dict.data() + dict.size(), length);
  if (length != expected_length) return fail("unexpected /Length");
  size_t data = dict_end + 6;
  if (bytes.compare(data, 2, "\r\n") == 0) {
    data += 2;
  } else if (bytes.compare(data, 1, "\n") == 0) {
    data += 1;
  } else {
    return fail("no end of line after stream");
  }
  size_t after = data + length;
  while (after < bytes.size() && (bytes[after] == '\r' || bytes[after] == '\n')) ++after;
  if (bytes.compare(after, 9, "endstream") != 0) return fail("no endstream after the data");
  return std::make_pair(data, length);
}

struct Written {
  std::string bytes;
  QPDFObjGen xmp, form;  // renumbered
  std::map<QPDFObjGen, QPDFXRefEntry> xref;
};

Written WriteTemplate(const NormalizedMaster& master, const WatermarkOptions& watermark,
                      const ProtectionOptions* protection, const XmpLayout& xmp_layout,
                      size_t content_capacity) {
  QPDF pdf;
  ConfigureReader(pdf);
  pdf.processMemoryFile("normalized master", master.bytes.data(), master.bytes.size());
  std::vector<QPDFPageObjectHelper> pages = QPDFPageDocumentHelper(pdf).getAllPages();
  if (pages.size() != master.pages.size()) throw std::runtime_error("page count changed");
  const std::string name = UnusedXObjectName(pages);

  QPDFObjectHandle font = pdf.makeIndirectObject(QPDFObjectHandle::parse(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
  const std::string opacity = PdfNumber(watermark.opacity);
  QPDFObjectHandle gstate = pdf.makeIndirectObject(
      QPDFObjectHandle::parse("<< /Type /ExtGState /ca " + opacity + " /CA " + opacity + " >>"));
  QPDFObjectHandle open = pdf.newStream(std::string("q\n"));
  std::map<std::string, QPDFObjectHandle> placements;  // pages of one size share theirs
  std::vector<QPDFObjectHandle> page_placement;
  for (size_t i = 0; i < pages.size(); ++i) {
    const std::string content = Placement(master.pages[i], watermark, name);
    auto it = placements.find(content);
    if (it == placements.end()) it = placements.emplace(content, pdf.newStream(content)).first;
    page_placement.push_back(it->second);
  }
  // Created last so they are written last (see the header).
  QPDFObjectHandle xmp = pdf.newStream(xmp_layout.Render(""));
  xmp.getDict().replaceKey("/Type", QPDFObjectHandle::newName("/Metadata"));
  xmp.getDict().replaceKey("/Subtype", QPDFObjectHandle::newName("/XML"));
  QPDFObjectHandle form = pdf.newStream(std::string(content_capacity, ' '));
  QPDFObjectHandle form_dict = form.getDict();
  form_dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  form_dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Form"));
  form_dict.replaceKey("/BBox", QPDFObjectHandle::parse("[-20000 -20000 20000 20000]"));
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  resources.replaceKey("/Font", QPDFObjectHandle::parse("<< >>"));
  resources.getKey("/Font").replaceKey("/KF", font);
  resources.replaceKey("/ExtGState", QPDFObjectHandle::parse("<< >>"));
  resources.getKey("/ExtGState").replaceKey("/KGs", gstate);
  form_dict.replaceKey("/Resources", resources);

  for (size_t i = 0; i < pages.size(); ++i) {
    pages[i].addPageContents(open, true);
    pages[i].addPageContents(page_placement[i], false);
    AddFormToResources(pages[i], name, form);
  }
  pdf.getRoot().replaceKey("/Metadata", xmp);
  // QPDFWriter keeps the master's first /ID string; an odd one (not 16 bytes) is dropped so a
  // fresh pair is generated.
  QPDFObjectHandle id = pdf.getTrailer().getKey("/ID");
  if (!id.isArray() || id.getArrayNItems() != 2 || !id.getArrayItem(0).isString() ||
      id.getArrayItem(0).getStringValue().size() != 16) {
    pdf.getTrailer().removeKey("/ID");
  }

  QPDFWriter writer(pdf);
  writer.setOutputMemory();
  writer.setPreserveUnreferencedObjects(true);
  writer.setObjectStreamMode(qpdf_o_generate);
  writer.setCompressStreams(false);  // the slots must stay plain; pass 1 compressed the rest
  writer.setDecodeLevel(qpdf_dl_none);
  writer.setMinimumPDFVersion("1.4");  // ExtGState /ca
  if (protection) {
    const bool modify = protection->allow_modifying;
    writer.setR6EncryptionParameters(
        protection->user_password.c_str(), protection->owner_password.c_str(),
        /*allow_accessibility=*/true, protection->allow_copying, /*allow_assemble=*/modify,
        /*allow_annotate_and_form=*/modify, /*allow_form_filling=*/modify,
        /*allow_modify_other=*/modify, protection->allow_printing ? qpdf_r3p_full : qpdf_r3p_none,
        /*encrypt_metadata=*/true);
  } else {
    writer.setDeterministicID(true);
  }
  writer.write();
  Written out;
  out.xmp = writer.getRenumberedObjGen(xmp.getObjGen());
  out.form = writer.getRenumberedObjGen(form.getObjGen());
  out.xref = writer.getWrittenXRefTable();
  out.bytes = TakeOutput(writer);
  return out;
}

}  // namespace

Result<NormalizedMaster> NormalizeMaster(const PdfMaster& master) {
  if (!master.bytes || master.pages.empty()) {
    return Status::InvalidArgument("the master has not been analysed (AnalyzePdf)");
  }
  try {
    QPDF pdf;
    ConfigureReader(pdf);
    pdf.processMemoryFile("master", master.bytes->data(), master.bytes->size());
    NormalizedMaster out;
    QPDFObjectHandle root = pdf.getRoot();
    QPDFObjectHandle metadata = root.getKey("/Metadata");
    if (metadata.isStream()) {
      try {
        std::shared_ptr<Buffer> data = metadata.getStreamData(qpdf_dl_generalized);
        out.xmp = std::string(reinterpret_cast<const char*>(data->getBuffer()), data->getSize());
      } catch (const std::exception&) {
        // An unreadable packet is replaced by a fresh one.
      }
    }
    root.removeKey("/Metadata");
    QPDFPageDocumentHelper(pdf).pushInheritedAttributesToPage();
    QPDFWriter writer(pdf);
    writer.setOutputMemory();
    // Stream data stays as it is (not decoded, not recompressed) except that uncompressed
    // streams get Flate. No object streams: pass 2 makes its own, and an input's object and
    // xref streams would survive pass 2's "preserve unreferenced objects" as junk.
    writer.setDecodeLevel(qpdf_dl_none);
    writer.setCompressStreams(true);
    writer.setRecompressFlate(false);
    writer.setObjectStreamMode(qpdf_o_disable);
    writer.write();
    out.bytes = TakeOutput(writer);
    out.title = master.title;
    out.pages = master.pages;
    return out;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("rewriting the master failed: ") + e.what());
  }
}

Result<std::unique_ptr<PdfTemplate>> PdfTemplate::Build(const NormalizedMaster& master,
                                                        const WatermarkOptions& watermark,
                                                        const ProtectionOptions* protection,
                                                        TemplateCapacity capacity) {
  std::unique_ptr<PdfTemplate> t(new PdfTemplate());
  t->content_capacity_ = capacity.content_bytes;
  t->xmp_ = std::make_unique<XmpLayout>(master.xmp, master.title, capacity.id_bytes);
  try {
    Written w = WriteTemplate(master, watermark, protection, *t->xmp_, capacity.content_bytes);
    t->bytes_ = std::move(w.bytes);
    const bool encrypted = protection != nullptr;

    // Read it back: the /ID as written and, when encrypted, the file key.
    QPDF check;
    ConfigureReader(check);
    check.processMemoryFile("template", t->bytes_.data(), t->bytes_.size(),
                            protection ? protection->owner_password.c_str() : nullptr);
    if (encrypted) {
      t->file_key_ = check.getEncryptionKey();
      if (t->file_key_.size() != 32) return Status::Internal("template: no AES-256 file key");
    }
    QPDFObjectHandle id = check.getTrailer().getKey("/ID");
    if (!id.isArray() || id.getArrayNItems() != 2 || !id.getArrayItem(0).isString() ||
        !id.getArrayItem(1).isString() || id.getArrayItem(0).getStringValue().size() != 16 ||
        id.getArrayItem(1).getStringValue().size() != 16) {
      return Status::Internal("template: unexpected trailer /ID");
    }
    t->id0_ = id.getArrayItem(0).getStringValue();
    const std::string id_text =
        "<" + HexEncode(t->id0_) + "><" + HexEncode(id.getArrayItem(1).getStringValue()) + ">";
    const size_t id_at = t->bytes_.rfind(id_text);
    if (id_at == std::string::npos) return Status::Internal("template: /ID not found");
    t->id_slot_ = {id_at, id_text.size()};

    const auto locate = [&](QPDFObjGen og, size_t plain) -> Result<Slot> {
      auto entry = w.xref.find(og);
      if (entry == w.xref.end() || entry->second.getType() != 1) {
        return Status::Internal("template: stream missing from the xref table");
      }
      ASSIGN_OR_RETURN(auto data,
                       StreamData(t->bytes_, static_cast<size_t>(entry->second.getOffset()),
                                  SealedSize(plain, encrypted)));
      return Slot{data.first, data.second};
    };
    ASSIGN_OR_RETURN(t->content_slot_, locate(w.form, capacity.content_bytes));
    ASSIGN_OR_RETURN(t->xmp_slot_, locate(w.xmp, t->xmp_->size()));

    // The placeholders must read back as written, through the key when encrypted.
    const auto plain = [&](const Slot& s) {
      const std::string_view raw(t->bytes_.data() + s.offset, s.length);
      return encrypted ? AesCbc(t->file_key_, raw.substr(0, kAesBlock), raw.substr(kAesBlock),
                                /*decrypt=*/true)
                       : std::string(raw);
    };
    if (plain(t->content_slot_) != std::string(capacity.content_bytes, ' ') ||
        plain(t->xmp_slot_) != t->xmp_->Render("")) {
      return Status::Internal("template: placeholder streams do not read back");
    }
  } catch (const std::exception& e) {
    return Status::Internal(std::string("building the edition template failed: ") + e.what());
  }

  t->tail_start_ = std::min({t->content_slot_.offset, t->xmp_slot_.offset, t->id_slot_.offset});
  t->tail_start_ -= t->tail_start_ % kPageAlign;
  t->prefix_digest_ = EVP_MD_CTX_new();
  if (!t->prefix_digest_ || EVP_DigestInit_ex(t->prefix_digest_, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(t->prefix_digest_, t->bytes_.data(), t->tail_start_) != 1) {
    return Status::Internal("template: SHA-256 unavailable");
  }
  return t;
}

PdfTemplate::~PdfTemplate() { EVP_MD_CTX_free(prefix_digest_); }

bool PdfTemplate::Fits(const RecipientParts& parts) const {
  return parts.content.size() <= content_capacity_ &&
         parts.escaped_id.size() <= xmp_->id_capacity() && parts.file_id.size() == 32;
}

std::string PdfTemplate::Seal(std::string plain) const {
  if (file_key_.empty()) return plain;
  const std::string iv = RandomBytes(kAesBlock);
  return iv + AesCbc(file_key_, iv, plain, /*decrypt=*/false);
}

Status PdfTemplate::Write(const RecipientParts& parts, const ChunkSink& sink,
                          std::string* sha256) const {
  if (!Fits(parts)) return Status::Internal("recipient does not fit the template");
  std::string tail(bytes_, tail_start_, std::string::npos);
  const auto patch = [&](const Slot& slot, const std::string& data) {
    if (data.size() != slot.length) return false;
    tail.replace(slot.offset - tail_start_, slot.length, data);
    return true;
  };
  std::string content = parts.content;
  content.resize(content_capacity_, ' ');
  const std::string id_text = "<" + HexEncode(std::string_view(parts.file_id).substr(0, 16)) +
                              "><" + HexEncode(std::string_view(parts.file_id).substr(16)) + ">";
  if (!patch(content_slot_, Seal(std::move(content))) ||
      !patch(xmp_slot_, Seal(xmp_->Render(parts.escaped_id))) || !patch(id_slot_, id_text)) {
    return Status::Internal("encrypting a recipient's streams failed");
  }
  if (sha256) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char digest[32];
    unsigned int n = 0;
    const bool ok = ctx && EVP_MD_CTX_copy_ex(ctx, prefix_digest_) == 1 &&
                    EVP_DigestUpdate(ctx, tail.data(), tail.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, digest, &n) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) return Status::Internal("SHA-256 failed");
    sha256->assign(reinterpret_cast<const char*>(digest), n);
  }
  RETURN_IF_ERROR(sink(std::string_view(bytes_.data(), tail_start_)));
  return sink(tail);
}

}  // namespace kontor::documents::internal
