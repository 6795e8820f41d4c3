#include "documents/sample_pdf.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <qpdf/Buffer.hh>
#include <qpdf/Pl_Buffer.hh>
#include <qpdf/Pl_DCT.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <string>
#include <vector>

namespace kontor::documents {
namespace {

// splitmix64: a tiny deterministic generator, so the same options give the same bytes.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

constexpr const char* kWords[] = {
    "market",     "earnings", "dividend",  "growth",  "outlook", "quarter", "revenue", "margin",
    "shares",     "index",    "portfolio", "yield",   "bond",    "rally",   "sector",  "energy",
    "banking",    "retail",   "forecast",  "analyst", "target",  "buy",     "hold",    "risk",
    "volatility", "capital",  "guidance",  "cash",    "flow",    "debt",    "equity",  "value"};

std::string Sentence(Rng& rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i) s += ' ';
    s += kWords[rng.Below(static_cast<int>(std::size(kWords)))];
  }
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s + '.';
}

// RGB pixels that look vaguely like a photo: gradients, soft waves and noise.
std::string PhotoPixels(Rng& rng, int w, int h, int detail) {
  std::string px(static_cast<size_t>(w) * h * 3, '\0');
  const double fx = 3.0 + rng.Below(5), fy = 2.0 + rng.Below(5);
  const int base_r = rng.Below(200), base_g = rng.Below(200), base_b = rng.Below(200);
  size_t i = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double wave = 40.0 * std::sin(fx * x / w * 6.283) * std::cos(fy * y / h * 6.283);
      const int noise = detail ? rng.Below(2 * detail + 1) - detail : 0;
      const int v[3] = {base_r + x * 55 / w, base_g + y * 55 / h, base_b + (x + y) * 30 / (w + h)};
      for (int c = 0; c < 3; ++c) {
        px[i++] = static_cast<char>(std::clamp(v[c] + static_cast<int>(wave) + noise, 0, 255));
      }
    }
  }
  return px;
}

// libjpeg's default quality (75); the detail option sets the size.
std::string Jpeg(const std::string& pixels, int w, int h) {
  Pl_Buffer out("jpeg");
  Pl_DCT dct("dct", &out, static_cast<JDIMENSION>(w), static_cast<JDIMENSION>(h), 3, JCS_RGB);
  dct.write(reinterpret_cast<const unsigned char*>(pixels.data()), pixels.size());
  dct.finish();
  std::unique_ptr<Buffer> buf(out.getBuffer());
  return std::string(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize());
}

// A bar chart as raw RGB; qpdf Flate-compresses it when writing.
std::string ChartPixels(Rng& rng, int w, int h) {
  std::string px(static_cast<size_t>(w) * h * 3, '\xff');
  const int bars = 8, bar_w = w / bars;
  for (int b = 0; b < bars; ++b) {
    const int top = h - 10 - rng.Below(h - 20);
    for (int y = top; y < h; ++y) {
      for (int x = b * bar_w + 2; x < (b + 1) * bar_w - 2; ++x) {
        const size_t i = (static_cast<size_t>(y) * w + x) * 3;
        px[i] = static_cast<char>(30 + b * 25);
        px[i + 1] = static_cast<char>(90);
        px[i + 2] = static_cast<char>(200 - b * 20);
      }
    }
  }
  return px;
}

QPDFObjectHandle ImageXObject(QPDF& pdf, const std::string& data, int w, int h,
                              const char* filter) {
  QPDFObjectHandle image = pdf.newStream();
  QPDFObjectHandle dict = image.getDict();
  dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Image"));
  dict.replaceKey("/Width", QPDFObjectHandle::newInteger(w));
  dict.replaceKey("/Height", QPDFObjectHandle::newInteger(h));
  dict.replaceKey("/ColorSpace", QPDFObjectHandle::newName("/DeviceRGB"));
  dict.replaceKey("/BitsPerComponent", QPDFObjectHandle::newInteger(8));
  image.replaceStreamData(data,
                          filter ? QPDFObjectHandle::newName(filter) : QPDFObjectHandle::newNull(),
                          QPDFObjectHandle::newNull());
  return image;
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Build(const SamplePdfOptions& o) {
  QPDF pdf;
  pdf.emptyPDF();
  Rng rng(0x6b6f6e746f72ULL + static_cast<uint64_t>(o.pages));
  QPDFObjectHandle font = pdf.makeIndirectObject(QPDFObjectHandle::parse(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
  QPDFObjectHandle bold = pdf.makeIndirectObject(QPDFObjectHandle::parse(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"));
  QPDFPageDocumentHelper pages(pdf);
  for (int p = 0; p < o.pages; ++p) {
    QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
    std::string content = fmt::format("BT /F2 20 Tf 50 {:.0f} Td ({} - page {}) Tj ET\n",
                                      o.height - 60, Escape(o.title), p + 1);
    content += fmt::format("BT /F1 10 Tf 12 TL 50 {:.0f} Td\n", o.height - 90);
    for (int line = 0; line < 18; ++line) {
      content += "(" + Escape(Sentence(rng, 7 + rng.Below(5))) + ") '\n";
    }
    content += "ET\n";
    const int images = o.photos_per_page + o.charts_per_page;
    const double slot_h = std::max(40.0, (o.height - 340.0) / std::max(1, images));
    for (int i = 0; i < images; ++i) {
      const bool photo = i < o.photos_per_page;
      const int w = photo ? o.photo_width : 160, h = photo ? o.photo_height : 100;
      std::string name = fmt::format("/Im{}", i + 1);
      if (photo) {
        xobjects.replaceKey(
            name, ImageXObject(pdf, Jpeg(PhotoPixels(rng, w, h, o.photo_detail), w, h), w, h,
                               "/DCTDecode"));
      } else {
        xobjects.replaceKey(name, ImageXObject(pdf, ChartPixels(rng, w, h), w, h, nullptr));
      }
      const double draw_h = slot_h - 10, draw_w = std::min(o.width - 100, draw_h * w / h);
      content += fmt::format("q {:.2f} 0 0 {:.2f} 50 {:.2f} cm {} Do Q\n", draw_w, draw_h,
                             60 + i * slot_h, name);
    }
    QPDFObjectHandle page = QPDFObjectHandle::parse(
        fmt::format("<< /Type /Page /MediaBox [0 0 {} {}] >>", o.width, o.height));
    QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
    QPDFObjectHandle fonts = QPDFObjectHandle::newDictionary();
    fonts.replaceKey("/F1", font);
    fonts.replaceKey("/F2", bold);
    resources.replaceKey("/Font", fonts);
    resources.replaceKey("/XObject", xobjects);
    page.replaceKey("/Resources", resources);
    page.replaceKey("/Contents", pdf.newStream(content));
    if (o.rotate && p % 2 == 1) page.replaceKey("/Rotate", QPDFObjectHandle::newInteger(o.rotate));
    pages.addPage(QPDFPageObjectHelper(pdf.makeIndirectObject(page)), false);
  }
  QPDFObjectHandle info = pdf.makeIndirectObject(QPDFObjectHandle::newDictionary());
  info.replaceKey("/Title", QPDFObjectHandle::newUnicodeString(o.title));
  info.replaceKey("/Producer", QPDFObjectHandle::newString("Kontor sample generator"));
  pdf.getTrailer().replaceKey("/Info", info);
  if (o.with_xmp) {
    QPDFObjectHandle xmp = pdf.newStream(
        "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
        "<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">"
        "<xmp:CreatorTool>Kontor sample generator</xmp:CreatorTool></rdf:Description>\n"
        "</rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>");
    xmp.getDict().replaceKey("/Type", QPDFObjectHandle::newName("/Metadata"));
    xmp.getDict().replaceKey("/Subtype", QPDFObjectHandle::newName("/XML"));
    pdf.getRoot().replaceKey("/Metadata", xmp);
  }

  QPDFWriter writer(pdf);
  writer.setOutputMemory();
  writer.setObjectStreamMode(o.object_streams ? qpdf_o_generate : qpdf_o_disable);
  if (!o.owner_password.empty() || !o.user_password.empty()) {
    writer.setR6EncryptionParameters(o.user_password.c_str(), o.owner_password.c_str(), true, true,
                                     true, true, true, true, qpdf_r3p_full, true);
  } else {
    writer.setDeterministicID(true);
  }
  writer.write();
  std::unique_ptr<Buffer> buf(writer.getBuffer());
  return std::string(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize());
}

}  // namespace

Result<std::string> MakeSamplePdf(const SamplePdfOptions& options) {
  if (options.pages < 0 || options.photo_width <= 0 || options.photo_height <= 0) {
    return Status::InvalidArgument("sample PDF: negative page count or empty photo size");
  }
  try {
    return Build(options);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("sample PDF: ") + e.what());
  }
}

}  // namespace kontor::documents
