// The watermark's text handling and geometry, and the XMP slot, without writing PDFs.
#include "documents/watermark.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/markup.h"
#include "documents/xmp.h"

namespace kontor::documents {
namespace {

// Where the form origin (0, 0) and a point 10 along its x axis land in user space.
struct Mapped {
  double x0, y0, x1, y1;
};
Mapped Map(const Matrix& m) { return {m.e, m.f, 10 * m.a + m.e, 10 * m.b + m.f}; }

TEST(WatermarkTest, EncodesWesternNamesAsWinAnsi) {
  bool lossy = true;
  EXPECT_EQ(ToWinAnsi("Jürgen Müller-Lüdenscheidt", &lossy),
            "J\xFCrgen M\xFCller-L\xFC"
            "denscheidt");
  EXPECT_FALSE(lossy);
  EXPECT_EQ(ToWinAnsi("Élodie Straße", &lossy),
            "\xC9lodie Stra\xDF"
            "e");
  EXPECT_FALSE(lossy);
  // The Windows-1252 extras in 0x80..0x9F.
  EXPECT_EQ(ToWinAnsi("€ Œuvre Š ž – “x” …", &lossy),
            "\x80 \x8Cuvre \x8A \x9E \x96 \x93x\x94 \x85");
  EXPECT_FALSE(lossy);
}

TEST(WatermarkTest, DegradesWhatWinAnsiCannotSay) {
  bool lossy = false;
  EXPECT_EQ(ToWinAnsi("Łukasz Żółć", &lossy), "Lukasz Z\xF3lc");
  EXPECT_TRUE(lossy);
  EXPECT_EQ(ToWinAnsi("Ștefan Țurcanu"), "Stefan Turcanu");
  EXPECT_EQ(ToWinAnsi("Ĳssel"), "IJssel");
  EXPECT_EQ(ToWinAnsi("e\xCC\x81"), "e");  // combining acute dropped
  EXPECT_EQ(ToWinAnsi("a\xE2\x80\x83"
                      "b"),
            "a b");  // em space
  EXPECT_EQ(ToWinAnsi("Ω 中 😀"), "? ? ?");
  EXPECT_EQ(ToWinAnsi("tab\there\n"), "tab here ");
  EXPECT_EQ(ToWinAnsi("bad \xFF\xC3 bytes"), "bad ?? bytes");
  EXPECT_EQ(ToWinAnsi("\xED\xA0\x80"), "???");  // an encoded surrogate is not UTF-8
}

TEST(WatermarkTest, MeasuresHelvetica) {
  EXPECT_DOUBLE_EQ(HelveticaWidth("", 10), 0);
  EXPECT_DOUBLE_EQ(HelveticaWidth("H", 1000), 722);
  EXPECT_DOUBLE_EQ(HelveticaWidth("il", 10), 4.44);
  EXPECT_DOUBLE_EQ(HelveticaWidth("\xFC", 1000), 556);  // ü
}

TEST(WatermarkTest, WritesPdfNumbers) {
  EXPECT_EQ(PdfNumber(0), "0");
  EXPECT_EQ(PdfNumber(-0.00001), "0");
  EXPECT_EQ(PdfNumber(12.5), "12.5");
  EXPECT_EQ(PdfNumber(-3.14159), "-3.1416");
  EXPECT_EQ(PdfNumber(1e12), "1000000000000");
  EXPECT_EQ(PdfNumber(NAN), "0");
}

TEST(WatermarkTest, PlacesTheBottomAsTheReaderSeesIt) {
  WatermarkOptions o;
  o.margin_y = 20;
  PdfPage page{0, 0, 600, 800, 0};
  Mapped m = Map(WatermarkPlacement(page, o));
  EXPECT_NEAR(m.x0, 300, 1e-9);
  EXPECT_NEAR(m.y0, 20, 1e-9);
  EXPECT_NEAR(m.x1, 310, 1e-9);  // text runs left to right
  EXPECT_NEAR(m.y1, 20, 1e-9);

  // Displayed turned clockwise: the reader's bottom edge is user space's right edge, and text
  // that reads left to right runs up it.
  page.rotate = 90;
  m = Map(WatermarkPlacement(page, o));
  EXPECT_NEAR(m.x0, 580, 1e-9);
  EXPECT_NEAR(m.y0, 400, 1e-9);
  EXPECT_NEAR(m.x1, 580, 1e-9);
  EXPECT_NEAR(m.y1, 410, 1e-9);

  page.rotate = 180;
  m = Map(WatermarkPlacement(page, o));
  EXPECT_NEAR(m.y0, 780, 1e-9);
  EXPECT_NEAR(m.x1, 290, 1e-9);

  page.rotate = 270;
  m = Map(WatermarkPlacement(page, o));
  EXPECT_NEAR(m.x0, 20, 1e-9);
  EXPECT_NEAR(m.y0, 400, 1e-9);
  EXPECT_NEAR(m.y1, 390, 1e-9);

  // A CropBox that does not start at the origin.
  PdfPage cropped{100, 50, 700, 850, 0};
  m = Map(WatermarkPlacement(cropped, o));
  EXPECT_NEAR(m.x0, 400, 1e-9);
  EXPECT_NEAR(m.y0, 70, 1e-9);
}

TEST(WatermarkTest, AlignsAndRotates) {
  WatermarkOptions o;
  o.position = WatermarkPosition::kTop;
  o.align = WatermarkAlign::kRight;
  o.margin_x = 30;
  o.margin_y = 10;
  const PdfPage page{0, 0, 600, 800, 0};
  Mapped m = Map(WatermarkPlacement(page, o));
  EXPECT_NEAR(m.x0, 570, 1e-9);
  EXPECT_NEAR(m.y0, 790, 1e-9);

  o.position = WatermarkPosition::kDiagonal;
  m = Map(WatermarkPlacement(page, o));
  EXPECT_NEAR(m.x0, 300, 1e-9);
  EXPECT_NEAR(m.y0, 400, 1e-9);
  EXPECT_NEAR(std::atan2(m.y1 - m.y0, m.x1 - m.x0), std::atan2(800.0, 600.0), 1e-9);
  o.rotation_degrees = 90;
  m = Map(WatermarkPlacement(page, o));
  EXPECT_NEAR(m.x1, 300, 1e-9);
  EXPECT_NEAR(m.y1, 410, 1e-9);
}

TEST(WatermarkTest, RendersLinesAndShrinksLongOnes) {
  WatermarkOptions o;
  o.font_size = 10;
  const std::string content = RenderWatermarkContent({"A (b) \\ c", "", "Zweite"}, o, 500);
  EXPECT_NE(content.find("/KF 10 Tf"), std::string::npos) << content;
  EXPECT_NE(content.find("(A \\(b\\) \\\\ c) Tj"), std::string::npos) << content;
  EXPECT_NE(content.find("(Zweite) Tj"), std::string::npos);
  EXPECT_EQ(content.find("() Tj"), std::string::npos) << "blank lines take room, draw nothing";
  EXPECT_NE(content.find("/KGs gs"), std::string::npos);

  // 100 'm' at 10 pt are 833 pt wide; 416.5 pt of room halves the size.
  const std::string wide = RenderWatermarkContent({std::string(100, 'm')}, o, 416.5);
  EXPECT_NE(wide.find("/KF 5 Tf"), std::string::npos) << wide;
  const std::string floor = RenderWatermarkContent({std::string(1000, 'm')}, o, 100);
  EXPECT_NE(floor.find("/KF 4 Tf"), std::string::npos) << "min_font_size";
}

TEST(WatermarkTest, LeavesRoomOnTheNarrowestPage) {
  WatermarkOptions o;
  o.margin_x = 50;
  const std::vector<PdfPage> pages{{0, 0, 600, 800, 0}, {0, 0, 400, 900, 0}, {0, 0, 300, 1000, 90}};
  EXPECT_DOUBLE_EQ(AvailableLineWidth(pages, o), 300);  // 400 wide minus two margins
}

TEST(WatermarkTest, XmpRendersToOneLengthForEveryId) {
  const XmpLayout fresh(std::nullopt, "Börsenbrief & Co", 32);
  const std::string empty = fresh.Render(""), full = fresh.Render(std::string(32, 'x'));
  EXPECT_EQ(empty.size(), fresh.size());
  EXPECT_EQ(full.size(), fresh.size());
  EXPECT_NE(full.find("<kontor:RecipientId>" + std::string(32, 'x') + "</kontor:RecipientId>"),
            std::string::npos);
  EXPECT_NE(empty.find("Börsenbrief &amp; Co"), std::string::npos);
  EXPECT_EQ(empty.rfind("<?xpacket end=\"w\"?>"), empty.size() - 19);

  const std::string master =
      "<?xpacket begin=\"\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
      "rdf:about=\"uuid:1234\"><pdf:Producer>InDesign</pdf:Producer></rdf:Description>"
      "</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>";
  const XmpLayout merged(master, "ignored", 8);
  const std::string text = merged.Render("c-9");
  EXPECT_NE(text.find("<pdf:Producer>InDesign</pdf:Producer>"), std::string::npos);
  EXPECT_NE(text.find("<rdf:Description rdf:about=\"uuid:1234\" xmlns:kontor="), std::string::npos);
  EXPECT_LT(text.find("<kontor:RecipientId>c-9</kontor:RecipientId>"), text.find("</rdf:RDF>"));
  EXPECT_EQ(text.find("ignored"), std::string::npos);
  EXPECT_EQ(EscapeMarkup("a<b>&\"'\x01"), "a&lt;b&gt;&amp;&quot;&#39;");
}

}  // namespace
}  // namespace kontor::documents
