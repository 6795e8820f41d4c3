#include "documents/watermark.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace kontor::documents {
namespace {

// Helvetica advance widths (Adobe AFM, 1/1000 em) by WinAnsiEncoding code; 0 = no glyph.
// clang-format off
constexpr uint16_t kHelveticaWidths[256] = {
       0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
       0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
     278,  278,  355,  556,  556,  889,  667,  191,  333,  333,  389,  584,  278,  333,  278,  278,
     556,  556,  556,  556,  556,  556,  556,  556,  556,  556,  278,  278,  584,  584,  584,  556,
    1015,  667,  667,  722,  722,  667,  611,  778,  722,  278,  500,  667,  556,  833,  722,  778,
     667,  778,  722,  667,  611,  722,  667,  944,  667,  667,  611,  278,  278,  278,  469,  556,
     333,  556,  556,  500,  556,  556,  278,  556,  556,  222,  222,  500,  222,  833,  556,  556,
     556,  556,  333,  500,  278,  556,  500,  722,  500,  500,  500,  334,  260,  334,  584,    0,
     556,    0,  222,  556,  333, 1000,  556,  556,  333, 1000,  667,  333, 1000,    0,  611,    0,
       0,  222,  222,  333,  333,  350,  556, 1000,  333, 1000,  500,  333,  944,    0,  500,  667,
     278,  333,  556,  556,  556,  556,  260,  556,  333,  737,  370,  556,  584,  333,  737,  333,
     400,  584,  333,  333,  333,  578,  537,  278,  333,  333,  365,  556,  834,  834,  834,  611,
     667,  667,  667,  667,  667,  667, 1000,  722,  667,  667,  667,  667,  278,  278,  278,  278,
     722,  722,  778,  778,  778,  778,  778,  584,  778,  722,  722,  722,  722,  667,  667,  611,
     556,  556,  556,  556,  556,  556,  889,  500,  556,  556,  556,  556,  278,  278,  278,  278,
     556,  556,  556,  556,  556,  556,  556,  584,  611,  556,  556,  556,  556,  500,  556,  500,
};
// clang-format on

// Unicode of Windows-1252 0x80..0x9F (0 = unassigned).
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

// U+0100..U+017F without their accents ('#' marks the ligatures handled apart).
constexpr char kLatinExtendedA[] =
    "AaAaAaCcCcCcCcDd"
    "DdEeEeEeEeEeGgGg"
    "GgGgHhHhIiIiIiIi"
    "Ii##JjKkkLlLlLlL"
    "lLlNnNnNnnNnOoOo"
    "OoOoRrRrRrSsSsSs"
    "SsTtTtTtUuUuUuUu"
    "UuUuWwYyYZzZzZzs";

// Next code point of `s` from `*i` (advanced); -1 for a byte that does not start valid UTF-8.
int32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(*i);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return -1;
  }
  int32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const unsigned char cc = byte(*i + k);
    if ((cc >> 6) != 2) {
      ++*i;
      return -1;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr int32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return -1;
  }
  *i += len;
  return cp;
}

// The WinAnsi bytes for one code point ("" to drop it); sets *lossy when approximated.
std::string MapCodePoint(int32_t cp, bool* lossy) {
  if (cp >= 0x20 && cp < 0x7F) return std::string(1, static_cast<char>(cp));
  if (cp >= 0xA0 && cp <= 0xFF) return std::string(1, static_cast<char>(cp));
  for (int k = 0; k < 32; ++k) {
    if (kCp1252High[k] != 0 && static_cast<int32_t>(kCp1252High[k]) == cp) {
      return std::string(1, static_cast<char>(0x80 + k));
    }
  }
  *lossy = true;
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) return " ";  // controls
  if (cp == 0x0132) return "IJ";
  if (cp == 0x0133) return "ij";
  if (cp >= 0x0100 && cp <= 0x017F) return std::string(1, kLatinExtendedA[cp - 0x100]);
  if (cp >= 0x0218 && cp <= 0x021B) return std::string(1, "SsTt"[cp - 0x218]);  // comma below
  if (cp >= 0x0300 && cp <= 0x036F) return "";                                  // combining
  if ((cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000) return " ";
  if (cp >= 0x200B && cp <= 0x200F) return "";  // zero width and direction marks
  if (cp == 0x2010 || cp == 0x2011 || cp == 0x2212) return "-";
  return "?";
}

// Matrix product: apply `m1`, then `m2` (PDF's row-vector convention).
Matrix Then(const Matrix& m1, const Matrix& m2) {
  return {m1.a * m2.a + m1.b * m2.c,        m1.a * m2.b + m1.b * m2.d,
          m1.c * m2.a + m1.d * m2.c,        m1.c * m2.b + m1.d * m2.d,
          m1.e * m2.a + m1.f * m2.c + m2.e, m1.e * m2.b + m1.f * m2.d + m2.f};
}

// From the page as the reader sees it (origin bottom left, after /Rotate) to user space.
Matrix ViewToUser(const PdfPage& p) {
  const double w = p.urx - p.llx, h = p.ury - p.lly;
  switch (p.rotate) {
    case 90:
      return {0, 1, -1, 0, p.llx + w, p.lly};
    case 180:
      return {-1, 0, 0, -1, p.llx + w, p.lly + h};
    case 270:
      return {0, -1, 1, 0, p.llx, p.lly + h};
    default:
      return {1, 0, 0, 1, p.llx, p.lly};
  }
}

double RotationDegrees(const PdfPage& page, const WatermarkOptions& o) {
  if (o.rotation_degrees) return *o.rotation_degrees;
  if (o.position != WatermarkPosition::kDiagonal) return 0;
  return std::atan2(page.height(), page.width()) * 180.0 / std::numbers::pi;
}

void AppendLiteral(std::string& out, std::string_view winansi) {
  out += '(';
  for (char c : winansi) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  out += ')';
}

// Helvetica's cap height and descender (AFM), in font sizes.
constexpr double kAscent = 0.718;
constexpr double kDescent = 0.207;

}  // namespace

std::string ToWinAnsi(std::string_view utf8, bool* lossy) {
  bool approximated = false;
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    const int32_t cp = NextCodePoint(utf8, &i);
    if (cp < 0) {
      approximated = true;
      out += '?';
      continue;
    }
    out += MapCodePoint(cp, &approximated);
  }
  if (lossy) *lossy = approximated;
  return out;
}

double HelveticaWidth(std::string_view winansi, double font_size) {
  double units = 0;
  for (unsigned char c : winansi) units += kHelveticaWidths[c];
  return units * font_size / 1000.0;
}

double AvailableLineWidth(const std::vector<PdfPage>& pages, const WatermarkOptions& o) {
  double narrowest = 1e9;
  for (const PdfPage& p : pages) {
    double room = p.width();
    if (o.position == WatermarkPosition::kDiagonal) {
      room = o.rotation_degrees ? std::min(p.width(), p.height())
                                : 0.8 * std::hypot(p.width(), p.height());
    }
    narrowest = std::min(narrowest, room - 2 * o.margin_x);
  }
  return std::max(36.0, pages.empty() ? 36.0 : narrowest);
}

std::string RenderWatermarkContent(const std::vector<std::string>& utf8_lines,
                                   const WatermarkOptions& o, double available_width) {
  std::vector<std::string> lines;
  double widest = 0;
  for (const std::string& line : utf8_lines) {
    lines.push_back(ToWinAnsi(line));
    widest = std::max(widest, HelveticaWidth(lines.back(), o.font_size));
  }
  double size = o.font_size;
  if (widest > available_width) {
    size = std::max(o.min_font_size, o.font_size * available_width / widest);
  }
  const double leading = size * o.line_spacing;
  const double n = static_cast<double>(lines.size());
  double first_baseline = 0;  // of line 0; the others follow `leading` lower each
  switch (o.position) {
    case WatermarkPosition::kBottom:
      first_baseline = kDescent * size + (n - 1) * leading;
      break;
    case WatermarkPosition::kTop:
      first_baseline = -kAscent * size;
      break;
    case WatermarkPosition::kDiagonal:
      first_baseline = ((n - 1) * leading + (kAscent + kDescent) * size) / 2 - kAscent * size;
      break;
  }
  const bool centred =
      o.position == WatermarkPosition::kDiagonal || o.align == WatermarkAlign::kCenter;

  std::string out = "q /KGs gs " + PdfNumber(o.red) + ' ' + PdfNumber(o.green) + ' ' +
                    PdfNumber(o.blue) + " rg BT /KF " + PdfNumber(size) + " Tf\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const double w = HelveticaWidth(lines[i], size);
    const double x = centred ? -w / 2 : o.align == WatermarkAlign::kRight ? -w : 0;
    const double y = first_baseline - static_cast<double>(i) * leading;
    out += "1 0 0 1 " + PdfNumber(x) + ' ' + PdfNumber(y) + " Tm ";
    AppendLiteral(out, lines[i]);
    out += " Tj\n";
  }
  out += "ET Q\n";
  return out;
}

Matrix WatermarkPlacement(const PdfPage& page, const WatermarkOptions& o) {
  const double w = page.width(), h = page.height();
  double x = w / 2, y = h / 2;
  if (o.position != WatermarkPosition::kDiagonal) {
    y = o.position == WatermarkPosition::kBottom ? o.margin_y : h - o.margin_y;
    if (o.align == WatermarkAlign::kLeft) x = o.margin_x;
    if (o.align == WatermarkAlign::kRight) x = w - o.margin_x;
  }
  const double theta = RotationDegrees(page, o) * std::numbers::pi / 180.0;
  const double cs = std::cos(theta), sn = std::sin(theta);
  const Matrix rotate{cs, sn, -sn, cs, 0, 0};
  const Matrix translate{1, 0, 0, 1, x, y};
  return Then(Then(rotate, translate), ViewToUser(page));
}

std::string PdfNumber(double value) {
  if (!std::isfinite(value)) return "0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed, 4);
  if (ec != std::errc()) return "0";
  std::string s(buf, end);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace kontor::documents
