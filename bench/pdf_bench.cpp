// bench/pdf.sh's driver for the edition personalizer. Modes, each printing one JSON line:
//   master OUT                      an 18-page ~5 MB newsletter (text on every page, JPEG photos,
//                                   Flate charts, object and xref streams)
//   memory MASTER N THREADS [enc]   N copies into a discarding sink: the personalizer alone
//   hotfolder MASTER DIR N THREADS [enc] [fsync] [keep=K]
//                                   N copies through Hotfolder::Write (temp, optional fsync,
//                                   rename); each copy is deleted right after its rename except
//                                   every K-th, which stays for the script to check; a manifest
//                                   of the kept copies is written last
//   watermarks DIR N                N one-page watermark PDFs (for the qpdf --overlay baseline),
//                                   written as plain PDF text
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "documents/hotfolder.h"
#include "documents/pdf_master.h"
#include "documents/personalizer.h"
#include "documents/sample_pdf.h"
#include "documents/watermark.h"

using namespace kontor;
using namespace kontor::documents;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

const char* kFirst[] = {"Jürgen",   "Élodie", "Sören",      "Ann-Kathrin", "Björn",
                        "François", "Zoë",    "Maximilian", "Ülkü",        "Grete"};
const char* kLast[] = {"Müller-Lüdenscheidt", "Lefèvre", "Øster",    "Schäfer", "Núñez",
                       "van der Berg",        "Weiß",    "O'Connor", "Dvořák",  "Hölzl"};

Recipient MakeRecipient(int i) {
  const std::string name = std::string(kFirst[i % 10]) + " " + kLast[(i / 10) % 10];
  const std::string number = std::to_string(100000 + i);
  return {"cust-" + number,
          {name + " · Kd.-Nr. " + number,
           "leser" + number + "@example.com · Ausgabe 49/2025 · 6. Dezember 2025"}};
}

PdfMaster LoadMaster(const std::string& path, double* analyze_ms) {
  const auto t = Clock::now();
  auto master = AnalyzePdfFile(path);
  *analyze_ms = Since(t) * 1000;
  if (!master.ok()) {
    std::cerr << master.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(master).value();
}

Personalizer MakePersonalizer(const PdfMaster& master, bool encrypt, double* create_ms) {
  std::optional<ProtectionOptions> protection;
  if (encrypt) protection = ProtectionOptions{"bench-owner-password", "", true, false, false};
  const auto t = Clock::now();
  auto p = Personalizer::Create(master, WatermarkOptions{}, protection);
  *create_ms = Since(t) * 1000;
  if (!p.ok()) {
    std::cerr << p.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(p).value();
}

// Runs work(i) for i in [0, n) on `threads` threads; returns seconds.
template <typename F>
double Parallel(int n, int threads, F work) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  const auto t = Clock::now();
  for (int k = 0; k < threads; ++k) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) work(i);
    });
  }
  for (auto& th : pool) th.join();
  return Since(t);
}

void Fail(const Status& s) {
  std::cerr << s.ToString() << "\n";
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto has = [&](const std::string& flag) {
    return std::find(args.begin(), args.end(), flag) != args.end();
  };
  const std::string mode = args.empty() ? "" : args[0];

  if (mode == "master" && args.size() == 2) {
    SamplePdfOptions o;
    o.pages = 18;
    o.photo_width = 1000;
    o.photo_height = 700;
    o.photo_detail = 50;
    o.title = "Kontor Börsenbrief 49/2025";
    o.with_xmp = true;
    auto pdf = MakeSamplePdf(o);
    if (!pdf.ok()) Fail(pdf.status());
    std::ofstream(args[1], std::ios::binary) << *pdf;
    std::printf("{\"bytes\":%zu,\"pages\":%d}\n", pdf->size(), o.pages);
    return 0;
  }

  if (mode == "memory" && args.size() >= 4) {
    const int n = std::stoi(args[2]), threads = std::stoi(args[3]);
    double analyze_ms = 0, create_ms = 0;
    const PdfMaster master = LoadMaster(args[1], &analyze_ms);
    const Personalizer p = MakePersonalizer(master, has("enc"), &create_ms);
    std::atomic<int> full{0};
    const double secs = Parallel(n, threads, [&](int i) {
      PersonalizeInfo info;
      Status s = p.PersonalizeTo(
          MakeRecipient(i), [](std::string_view) { return Status::Ok(); }, &info);
      if (!s.ok()) Fail(s);
      full += info.full_rewrite;
    });
    std::printf(
        "{\"mode\":\"memory\",\"n\":%d,\"threads\":%d,\"secs\":%.3f,\"pdfs_per_s\":%.0f,"
        "\"ms_per_pdf\":%.4f,\"analyze_ms\":%.1f,\"create_ms\":%.1f,\"bytes\":%zu,"
        "\"shared_prefix\":%zu,\"full_rewrites\":%d,\"peak_rss_mb\":%.1f}\n",
        n, threads, secs, n / secs, secs * 1000 / n, analyze_ms, create_ms, p.template_bytes(),
        p.shared_prefix_bytes(), full.load(), PeakRssMb());
    return 0;
  }

  if (mode == "hotfolder" && args.size() >= 5) {
    const int n = std::stoi(args[3]), threads = std::stoi(args[4]);
    int keep = 0;
    for (const auto& a : args) {
      if (a.rfind("keep=", 0) == 0) keep = std::stoi(a.substr(5));
    }
    double analyze_ms = 0, create_ms = 0;
    const PdfMaster master = LoadMaster(args[1], &analyze_ms);
    const Personalizer p = MakePersonalizer(master, has("enc"), &create_ms);
    auto folder = Hotfolder::Open(args[2], HotfolderOptions{.fsync_files = has("fsync")});
    if (!folder.ok()) Fail(folder.status());
    std::mutex mu;
    std::vector<ManifestEntry> kept;
    std::atomic<int> full{0};
    const double secs = Parallel(n, threads, [&](int i) {
      const Recipient r = MakeRecipient(i);
      const std::string name = r.id + ".pdf";
      PersonalizeInfo info;
      Status s = folder->Write(name, [&](int fd) { return p.PersonalizeToFd(r, fd, &info); });
      if (!s.ok()) Fail(s);
      full += info.full_rewrite;
      if (keep > 0 && i % keep == 0) {
        std::lock_guard lock(mu);
        kept.push_back({r.id, r.id + "@example.com", name, info.sha256_hex});
      } else {
        ::unlink((folder->dir() + "/" + name).c_str());  // keeps the disk use to a few copies
      }
    });
    const auto t = Clock::now();
    const Status manifest = folder->WriteManifest(kept);
    if (!manifest.ok()) Fail(manifest);
    std::printf(
        "{\"mode\":\"hotfolder\",\"n\":%d,\"threads\":%d,\"fsync\":%s,\"secs\":%.3f,"
        "\"pdfs_per_s\":%.0f,\"ms_per_pdf\":%.4f,\"mb_per_s\":%.0f,\"analyze_ms\":%.1f,"
        "\"create_ms\":%.1f,\"manifest_ms\":%.1f,\"bytes\":%zu,\"full_rewrites\":%d,"
        "\"peak_rss_mb\":%.1f}\n",
        n, threads, has("fsync") ? "true" : "false", secs, n / secs, secs * 1000 / n,
        n * static_cast<double>(p.template_bytes()) / 1e6 / secs, analyze_ms, create_ms,
        Since(t) * 1000, p.template_bytes(), full.load(), PeakRssMb());
    return 0;
  }

  if (mode == "watermarks" && args.size() == 3) {
    // One A4 page with the recipient's two lines at the bottom; a hand-written PDF whose xref
    // offsets are computed as it is assembled.
    const int n = std::stoi(args[2]);
    for (int i = 0; i < n; ++i) {
      const Recipient r = MakeRecipient(i);
      std::string text[2];
      for (int l = 0; l < 2; ++l) {
        for (char c : ToWinAnsi(r.lines[l])) {
          if (c == '(' || c == ')' || c == '\\') text[l] += '\\';
          text[l] += c;
        }
      }
      const std::string content = "q 0.35 0.35 0.35 rg BT /F1 8 Tf 1 0 0 1 150 28 Tm (" + text[0] +
                                  ") Tj 1 0 0 1 150 18 Tm (" + text[1] + ") Tj ET Q\n";
      const std::vector<std::string> objects = {
          "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
          "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
          "/Resources << /Font << /F1 5 0 R >> >> >>",
          "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream",
          "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"};
      std::string pdf = "%PDF-1.4\n";
      std::vector<size_t> offsets;
      for (size_t k = 0; k < objects.size(); ++k) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(k + 1) + " 0 obj\n" + objects[k] + "\nendobj\n";
      }
      const size_t xref = pdf.size();
      pdf += "xref\n0 6\n0000000000 65535 f \n";
      for (size_t off : offsets) {
        char line[32];
        std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
        pdf += line;
      }
      pdf += "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
      std::ofstream(args[1] + "/wm-" + std::to_string(i) + ".pdf", std::ios::binary) << pdf;
    }
    std::printf("{\"watermarks\":%d}\n", n);
    return 0;
  }

  std::cerr << "usage: see the comment at the top of bench/pdf_bench.cpp\n";
  return 2;
}
