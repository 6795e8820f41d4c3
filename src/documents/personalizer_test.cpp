// Personalized copies checked with the real tools (qpdf, pdftotext, pdftoppm from
// poppler-utils) and read back with libqpdf.
#include "documents/personalizer.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "documents/sample_pdf.h"
#include "documents/xmp.h"

namespace kontor::documents {
namespace {

namespace fs = std::filesystem;

const Recipient kJuergen{"cust-100234",
                         {"Jürgen Müller-Lüdenscheidt · Kd.-Nr. 100234",
                          "juergen.mueller@example.de · 6. Dezember 2025"}};
const Recipient kElodie{
    "cust-100235", {"Élodie Lefèvre · Kd.-Nr. 100235", "elodie@example.fr · 6. Dezember 2025"}};

struct Command {
  int exit_code = -1;
  std::string out;  // stdout only
};

Command Shell(const std::string& cmd) {
  Command r;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// What libqpdf reads back from a copy.
struct Readback {
  std::string xmp;
  std::string id0, id1;  // hex
  int pages = 0;
};

Readback Read(const std::string& pdf, const char* password = nullptr) {
  Readback r;
  QPDF q;
  q.setSuppressWarnings(true);
  q.processMemoryFile("copy", pdf.data(), pdf.size(), password);
  QPDFObjectHandle metadata = q.getRoot().getKey("/Metadata");
  if (metadata.isStream()) {
    auto data = metadata.getStreamData(qpdf_dl_generalized);
    r.xmp.assign(reinterpret_cast<const char*>(data->getBuffer()), data->getSize());
  }
  QPDFObjectHandle id = q.getTrailer().getKey("/ID");
  if (id.isArray() && id.getArrayNItems() == 2) {
    r.id0 = HexEncode(id.getArrayItem(0).getStringValue());
    r.id1 = HexEncode(id.getArrayItem(1).getStringValue());
  }
  r.pages = static_cast<int>(q.getAllPages().size());
  return r;
}

class PersonalizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "personalizer_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static PdfMaster Master(SamplePdfOptions options = {}) {
    auto pdf = MakeSamplePdf(options);
    EXPECT_TRUE(pdf.ok()) << pdf.status().ToString();
    auto master = AnalyzePdf(pdf.ok() ? *pdf : "");
    EXPECT_TRUE(master.ok()) << master.status().ToString();
    return master.ok() ? *master : PdfMaster{};
  }
  // A 5-page master whose even pages are displayed rotated (/Rotate 90), with an XMP packet.
  static PdfMaster Newsletter() {
    SamplePdfOptions o;
    o.pages = 5;
    o.rotate = 90;
    o.with_xmp = true;
    return Master(o);
  }
  static Personalizer Make(const PdfMaster& master, WatermarkOptions w = {},
                           std::optional<ProtectionOptions> p = std::nullopt) {
    auto personalizer = Personalizer::Create(master, w, std::move(p));
    EXPECT_TRUE(personalizer.ok()) << personalizer.status().ToString();
    return std::move(personalizer).value();
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // pdftotext of one page (1-based), with `flags` such as a password.
  std::string PageText(const std::string& path, int page, const std::string& flags = "") {
    Command c = Shell("pdftotext " + flags + " -f " + std::to_string(page) + " -l " +
                      std::to_string(page) + " '" + path + "' -");
    EXPECT_EQ(c.exit_code, 0) << "pdftotext page " << page << " of " << path;
    return c.out;
  }
  void ExpectQpdfCheck(const std::string& path, const std::string& flags = "") {
    Command c = Shell("qpdf " + flags + " --check '" + path + "'");
    EXPECT_EQ(c.exit_code, 0) << c.out;
    EXPECT_TRUE(Contains(c.out, "No syntax or stream encoding errors found")) << c.out;
  }
  void ExpectRenders(const std::string& path, int pages, const std::string& flags = "") {
    const std::string prefix = path + ".render";
    Command c = Shell("pdftoppm " + flags + " -r 30 -png '" + path + "' '" + prefix + "'");
    EXPECT_EQ(c.exit_code, 0);
    int rendered = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().string();
      if (name.rfind(prefix, 0) == 0 && fs::file_size(e.path()) > 100) ++rendered;
    }
    EXPECT_EQ(rendered, pages);
  }

  std::string dir_;
};

TEST_F(PersonalizerTest, WatermarkIsOnEveryPageAndExtractable) {
  const PdfMaster master = Newsletter();
  const Personalizer personalizer = Make(master);
  const std::string out = Path("juergen.pdf");
  PersonalizeInfo info;
  ASSERT_TRUE(personalizer.Personalize(kJuergen, out, &info).ok());
  EXPECT_FALSE(info.full_rewrite);
  EXPECT_EQ(info.bytes, fs::file_size(out));
  EXPECT_EQ(info.sha256_hex, Sha256Hex(ReadFile(out)));

  ExpectQpdfCheck(out);
  for (int page = 1; page <= 5; ++page) {
    const std::string text = PageText(out, page);
    EXPECT_TRUE(Contains(text, "Jürgen Müller-Lüdenscheidt · Kd.-Nr. 100234")) << page << text;
    EXPECT_TRUE(Contains(text, "juergen.mueller@example.de")) << page << text;
    EXPECT_TRUE(Contains(text, "page " + std::to_string(page))) << "master text lost";
  }
  ExpectRenders(out, 5);
}

TEST_F(PersonalizerTest, LatinOneNamesSurviveAndOthersDegrade) {
  const Personalizer personalizer = Make(Master());
  const std::string out = Path("names.pdf");
  const Recipient r{"c-1", {"Élodie Ætherington-Øster", "Łukasz Żółć, Ștefan", "Ωmega 中文"}};
  ASSERT_TRUE(personalizer.Personalize(r, out).ok());
  const std::string text = PageText(out, 1);
  EXPECT_TRUE(Contains(text, "Élodie Ætherington-Øster")) << text;
  EXPECT_TRUE(Contains(text, "Lukasz Zólc, Stefan")) << text;
  EXPECT_TRUE(Contains(text, "?mega ??")) << text;
}

TEST_F(PersonalizerTest, RecipientIdIsInTheTrailerIdAndXmp) {
  const Personalizer personalizer = Make(Newsletter());
  auto a = personalizer.PersonalizeToBytes(kJuergen);
  auto b = personalizer.PersonalizeToBytes(Recipient{"x&<y>\"'", {"Someone"}});
  ASSERT_TRUE(a.ok() && b.ok());
  const Readback ra = Read(*a), rb = Read(*b);
  EXPECT_EQ(ra.id0, personalizer.EditionFileId());
  EXPECT_EQ(rb.id0, personalizer.EditionFileId());
  EXPECT_EQ(ra.id1, personalizer.FileIdFor("cust-100234"));
  EXPECT_EQ(rb.id1, personalizer.FileIdFor("x&<y>\"'"));
  EXPECT_NE(ra.id1, rb.id1);
  EXPECT_TRUE(Contains(ra.xmp, "<kontor:RecipientId>cust-100234</kontor:RecipientId>")) << ra.xmp;
  EXPECT_TRUE(
      Contains(rb.xmp, "<kontor:RecipientId>x&amp;&lt;y&gt;&quot;&#39;</kontor:RecipientId>"));
  EXPECT_TRUE(Contains(ra.xmp, kXmpNamespace));
  // The master's own XMP properties are kept.
  EXPECT_TRUE(Contains(ra.xmp, "<xmp:CreatorTool>Kontor sample generator</xmp:CreatorTool>"));
  EXPECT_EQ(Count(ra.xmp, "<?xpacket end="), 1u);
}

TEST_F(PersonalizerTest, OneRevisionSoCuttingAtTheFirstEofGivesNoCleanCopy) {
  const Personalizer personalizer = Make(Newsletter());
  auto pdf = personalizer.PersonalizeToBytes(kJuergen);
  ASSERT_TRUE(pdf.ok());
  EXPECT_EQ(Count(*pdf, "%%EOF"), 1u);
  EXPECT_EQ(Count(*pdf, "startxref"), 1u);
  EXPECT_FALSE(Contains(*pdf, "/Prev"));  // no earlier cross-reference section
  const std::string cut = pdf->substr(0, pdf->find("%%EOF") + 5);
  const std::string path = Path("cut.pdf");
  WriteFile(path, cut);
  for (int page = 1; page <= 5; ++page) {
    EXPECT_TRUE(Contains(PageText(path, page), "Jürgen Müller-Lüdenscheidt")) << page;
  }
  // The master's original objects are not in the copy verbatim next to a clean trailer either:
  // the copy has none of the master's xref streams.
  EXPECT_EQ(Count(*pdf, "/Type /XRef"), 1u);
}

TEST_F(PersonalizerTest, EncryptsWithAes256AndTheRequestedPermissions) {
  const PdfMaster master = Newsletter();
  ProtectionOptions protection;
  protection.owner_password = "owner-Secret-1";
  const Personalizer personalizer = Make(master, {}, protection);
  const std::string out = Path("protected.pdf");
  PersonalizeInfo info;
  ASSERT_TRUE(personalizer.Personalize(kJuergen, out, &info).ok());
  EXPECT_FALSE(info.full_rewrite);
  EXPECT_EQ(info.sha256_hex, Sha256Hex(ReadFile(out)));

  ExpectQpdfCheck(out, "--password=owner-Secret-1");
  ExpectQpdfCheck(out);  // the empty user password opens it too
  Command enc = Shell("qpdf --password=owner-Secret-1 --show-encryption '" + out + "'");
  EXPECT_TRUE(Contains(enc.out, "R = 6")) << enc.out;
  EXPECT_TRUE(Contains(enc.out, "Supplied password is owner password")) << enc.out;
  EXPECT_TRUE(Contains(enc.out, "print high resolution: allowed")) << enc.out;
  EXPECT_TRUE(Contains(enc.out, "extract for any purpose: not allowed")) << enc.out;
  EXPECT_TRUE(Contains(enc.out, "modify other: not allowed")) << enc.out;
  EXPECT_TRUE(Contains(enc.out, "modify anything: not allowed")) << enc.out;
  EXPECT_TRUE(Contains(enc.out, "stream encryption method: AESv3")) << enc.out;
  // The wrong owner password is only the user's (empty) one: qpdf says which matched.
  Command wrong = Shell("qpdf --show-encryption '" + out + "'");
  EXPECT_TRUE(Contains(wrong.out, "Supplied password is user password")) << wrong.out;

  for (int page = 1; page <= 5; ++page) {
    EXPECT_TRUE(Contains(PageText(out, page, "-upw ''"), "Jürgen Müller-Lüdenscheidt")) << page;
  }
  ExpectRenders(out, 5);
  const std::string bytes = ReadFile(out);
  EXPECT_FALSE(Contains(bytes, "Jürgen")) << "watermark left in clear text";
  EXPECT_FALSE(Contains(bytes, "cust-100234")) << "XMP left in clear text";
  const Readback r = Read(bytes, "owner-Secret-1");
  EXPECT_TRUE(Contains(r.xmp, "<kontor:RecipientId>cust-100234</kontor:RecipientId>"));
  EXPECT_EQ(r.id1, personalizer.FileIdFor("cust-100234"));
}

TEST_F(PersonalizerTest, UserPasswordIsRequiredWhenSet) {
  ProtectionOptions protection;
  protection.owner_password = "owner-pw";
  protection.user_password = "reader-pw";
  const Personalizer personalizer = Make(Master(), {}, protection);
  const std::string out = Path("user.pdf");
  ASSERT_TRUE(personalizer.Personalize(kElodie, out).ok());
  EXPECT_NE(Shell("pdftotext '" + out + "' -").exit_code, 0);
  EXPECT_TRUE(Contains(PageText(out, 2, "-upw reader-pw"), "Élodie Lefèvre"));
  ExpectQpdfCheck(out, "--password=reader-pw");
  ExpectQpdfCheck(out, "--password=owner-pw");
}

TEST_F(PersonalizerTest, TwoRecipientsDifferOnlyInTheirSlots) {
  WatermarkOptions w;
  const Personalizer personalizer = Make(Newsletter(), w);
  auto a = personalizer.PersonalizeToBytes(kJuergen);
  auto b = personalizer.PersonalizeToBytes(kElodie);
  auto a_again = personalizer.PersonalizeToBytes(kJuergen);
  ASSERT_TRUE(a.ok() && b.ok() && a_again.ok());
  EXPECT_EQ(*a, *a_again) << "unencrypted copies are deterministic";
  ASSERT_EQ(a->size(), b->size());
  EXPECT_EQ(a->size(), personalizer.template_bytes());
  size_t first = a->size(), differing = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i] != (*b)[i]) {
      first = std::min(first, i);
      ++differing;
    }
  }
  EXPECT_GE(first, personalizer.shared_prefix_bytes());
  EXPECT_GT(personalizer.shared_prefix_bytes(), a->size() * 9 / 10);
  // Watermark text, the id in the XMP and 16 bytes of /ID (32 hex digits), nothing else.
  EXPECT_GT(differing, 0u);
  EXPECT_LE(differing, 2 * 90 + 12 + 32);
}

TEST_F(PersonalizerTest, EncryptedRecipientsDifferOnlyInTheirSlots) {
  ProtectionOptions protection;
  protection.owner_password = "owner";
  const Personalizer personalizer = Make(Master(), {}, protection);
  auto a = personalizer.PersonalizeToBytes(kJuergen);
  auto b = personalizer.PersonalizeToBytes(kElodie);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  EXPECT_EQ(a->substr(0, personalizer.shared_prefix_bytes()),
            b->substr(0, personalizer.shared_prefix_bytes()));
  EXPECT_NE(*a, *b);
  const size_t reserved = WatermarkOptions{}.reserved_stream_bytes;
  size_t differing = 0;
  for (size_t i = 0; i < a->size(); ++i) differing += (*a)[i] != (*b)[i];
  EXPECT_LE(differing, reserved + 32 + 4096);  // two ciphertexts (random IVs) and /ID
}

TEST_F(PersonalizerTest, ConcurrentCallsGiveTheSameFilesAsSequentialOnes) {
  const Personalizer personalizer = Make(Newsletter());
  const auto recipient = [](int i) {
    return Recipient{"cust-" + std::to_string(i),
                     {"Kunde Nr. " + std::to_string(i), std::to_string(i) + "@example.com"}};
  };
  std::map<int, std::string> sequential;
  for (int i = 0; i < 40; ++i)
    sequential[i] = personalizer.PersonalizeToBytes(recipient(i)).value();
  std::vector<std::string> parallel(40);
  std::vector<std::string> sha(40);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 40; i += 2) {
        PersonalizeInfo info;
        auto bytes = personalizer.PersonalizeToBytes(recipient(i), &info);
        if (bytes.ok()) parallel[i] = *bytes;
        sha[i] = info.sha256_hex;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(parallel[i], sequential[i]) << i;
    EXPECT_EQ(sha[i], Sha256Hex(sequential[i])) << i;
  }
}

TEST_F(PersonalizerTest, ConcurrentEncryptedCopiesAreValid) {
  ProtectionOptions protection;
  protection.owner_password = "owner";
  const Personalizer personalizer = Make(Master(), {}, protection);
  std::vector<Status> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 8; i += 2) {
        results[i] = personalizer.Personalize(
            Recipient{"c" + std::to_string(i), {"Leser " + std::to_string(i)}},
            Path("c" + std::to_string(i) + ".pdf"));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].ToString();
    const std::string path = Path("c" + std::to_string(i) + ".pdf");
    ExpectQpdfCheck(path);
    EXPECT_TRUE(Contains(PageText(path, 3), "Leser " + std::to_string(i)));
  }
}

TEST_F(PersonalizerTest, RecipientsThatDoNotFitGetAFullRewrite) {
  WatermarkOptions w;
  w.reserved_stream_bytes = 256;
  w.reserved_id_bytes = 16;
  for (bool encrypted : {false, true}) {
    std::optional<ProtectionOptions> protection;
    if (encrypted) protection = ProtectionOptions{"owner", "", true, false, false};
    const Personalizer personalizer = Make(Newsletter(), w, protection);
    const Recipient small{"c-1", {"Kurz"}};
    const Recipient big{"a-recipient-id-longer-than-sixteen-bytes",
                        {"Maximilian Alexander von und zu Lichtenstein-Hohenberg",
                         "maximilian.alexander.von.und.zu.lichtenstein@example.com",
                         "Kundennummer 9876543210 · Premium-Abo · 6. Dezember 2025"}};
    PersonalizeInfo info;
    const std::string small_path = Path("small.pdf"), big_path = Path("big.pdf");
    ASSERT_TRUE(personalizer.Personalize(small, small_path, &info).ok());
    EXPECT_FALSE(info.full_rewrite);
    ASSERT_TRUE(personalizer.Personalize(big, big_path, &info).ok());
    EXPECT_TRUE(info.full_rewrite);
    EXPECT_EQ(info.sha256_hex, Sha256Hex(ReadFile(big_path)));
    ExpectQpdfCheck(big_path);
    for (int page = 1; page <= 5; ++page) {
      const std::string text = PageText(big_path, page);
      EXPECT_TRUE(Contains(text, "Lichtenstein-Hohenberg")) << page << text;
      EXPECT_TRUE(Contains(text, "Premium-Abo")) << page << text;
    }
    const Readback r = Read(ReadFile(big_path), encrypted ? "owner" : nullptr);
    EXPECT_EQ(r.id0, personalizer.EditionFileId());
    EXPECT_EQ(r.id1, personalizer.FileIdFor(big.id));
    EXPECT_TRUE(Contains(r.xmp, "<kontor:RecipientId>" + big.id + "</kontor:RecipientId>"));
    if (encrypted) {
      Command enc = Shell("qpdf --password=owner --show-encryption '" + big_path + "'");
      EXPECT_TRUE(Contains(enc.out, "extract for any purpose: not allowed")) << enc.out;
    }
  }
}

TEST_F(PersonalizerTest, TopAndDiagonalPositionsRenderAndCheck) {
  const PdfMaster master = Newsletter();
  for (auto position : {WatermarkPosition::kTop, WatermarkPosition::kDiagonal}) {
    WatermarkOptions w;
    w.position = position;
    w.align = WatermarkAlign::kRight;
    w.font_size = 28;
    w.opacity = 0.2;
    w.red = 0.8;
    const Personalizer personalizer = Make(master, w);
    const std::string out = Path("position.pdf");
    ASSERT_TRUE(personalizer.Personalize(kElodie, out).ok());
    ExpectQpdfCheck(out);
    ExpectRenders(out, 5);
    if (position == WatermarkPosition::kTop) {
      EXPECT_TRUE(Contains(PageText(out, 2), "Élodie Lefèvre"));
    } else {
      EXPECT_TRUE(Contains(Shell("pdftotext -raw '" + out + "' -").out, "Lef"));
    }
    fs::remove(out);
  }
}

TEST_F(PersonalizerTest, StreamsTheSameBytesItWrites) {
  const Personalizer personalizer = Make(Master());
  std::string streamed;
  int chunks = 0;
  ASSERT_TRUE(personalizer
                  .PersonalizeTo(kJuergen,
                                 [&](std::string_view chunk) {
                                   streamed.append(chunk);
                                   ++chunks;
                                   return Status::Ok();
                                 })
                  .ok());
  EXPECT_GE(chunks, 2);
  EXPECT_EQ(streamed, personalizer.PersonalizeToBytes(kJuergen).value());
  const Status stop = personalizer.PersonalizeTo(
      kJuergen, [](std::string_view) { return Status::Unavailable("client went away"); });
  EXPECT_EQ(stop.code(), StatusCode::kUnavailable);
}

TEST_F(PersonalizerTest, RejectsBadOptionsAndRecipients) {
  const PdfMaster master = Master();
  WatermarkOptions w;
  w.opacity = 1.5;
  w.font_size = 0;
  auto bad = Personalizer::Create(master, w);
  ASSERT_EQ(bad.status().code(), StatusCode::kValidation);
  EXPECT_EQ(bad.status().fields().size(), 3u);  // opacity, font_size, min_font_size
  auto no_owner = Personalizer::Create(master, {}, ProtectionOptions{});
  EXPECT_EQ(no_owner.status().code(), StatusCode::kValidation);
  auto same = Personalizer::Create(master, {}, ProtectionOptions{"pw", "pw", true, false, false});
  EXPECT_EQ(same.status().code(), StatusCode::kValidation);
  EXPECT_EQ(Personalizer::Create(PdfMaster{}, {}).status().code(), StatusCode::kInvalidArgument);

  const Personalizer personalizer = Make(master);
  const auto field = [&](const Recipient& r) {
    auto out = personalizer.PersonalizeToBytes(r);
    return out.ok() ? std::string("<ok>") : out.status().fields().at(0).field;
  };
  EXPECT_EQ(field({"", {"Name"}}), "recipient.id");
  EXPECT_EQ(field({"a\nb", {"Name"}}), "recipient.id");
  EXPECT_EQ(field({"\xff", {"Name"}}), "recipient.id");
  EXPECT_EQ(field({"id", {}}), "recipient.lines");
  EXPECT_EQ(field({"id", {"  "}}), "recipient.lines");
  EXPECT_EQ(field({"id", std::vector<std::string>(9, "x")}), "recipient.lines");
  EXPECT_FALSE(fs::exists(Path("never.pdf")));
  EXPECT_FALSE(personalizer.Personalize({"", {"x"}}, Path("never.pdf")).ok());
  EXPECT_FALSE(fs::exists(Path("never.pdf"))) << "a failed copy must not stay behind";
}

}  // namespace
}  // namespace kontor::documents
