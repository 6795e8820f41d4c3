// bench/ach.sh's driver: read+validate a NACHA file (in memory and streamed
// from disk) or generate one, printing one JSON line of figures.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "payments/ach/reader.h"
#include "payments/ach/writer.h"

using namespace kontor::payments::ach;
using Clock = std::chrono::steady_clock;

static double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

static double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "stream" && argc == 3) {
    // Streamed from disk in constant memory: the peak RSS is the library's.
    std::ifstream in(argv[2], std::ios::binary);
    in.seekg(0, std::ios::end);
    double bytes = static_cast<double>(in.tellg());
    in.seekg(0);
    ErrorCollector errors;
    int64_t entries = 0;
    auto t = Clock::now();
    ScanStream(in, errors, &entries);
    double s = Since(t);
    std::printf("{\"mode\":\"stream\",\"entries\":%lld,\"errors\":%lld,\"secs\":%.4f,\"mbps\":%.1f,\"eps\":%.0f,\"peak_rss_mb\":%.1f}\n",
                static_cast<long long>(entries), static_cast<long long>(errors.count()), s, bytes / 1e6 / s,
                entries / s, PeakRssMb());
    return errors.count() ? 1 : 0;
  }
  if (mode == "memory" && argc == 3) {
    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    double best = 1e9;
    int64_t count = 0, entries = 0;
    for (int i = 0; i < 5; ++i) {  // best of 5 over the buffer in memory
      struct Count : ErrorCollector {
        int64_t entries = 0;
        void OnRecord(const RecordView& r) override { entries += r.layout && r.layout->type == '6'; }
      } h;
      auto t = Clock::now();
      ScanBuffer(data, h);
      best = std::min(best, Since(t));
      count = h.count();
      entries = h.entries;
    }
    std::printf("{\"mode\":\"memory\",\"entries\":%lld,\"errors\":%lld,\"secs\":%.4f,\"mbps\":%.1f,\"eps\":%.0f,\"peak_rss_mb\":%.1f}\n",
                static_cast<long long>(entries), static_cast<long long>(count), best,
                data.size() / 1e6 / best, entries / best, PeakRssMb());
    return count ? 1 : 0;
  }
  if (mode == "generate" && argc == 4) {
    long n = std::stol(argv[2]);
    std::ofstream out(argv[3], std::ios::binary);
    auto t = Clock::now();
    {
      StreamWriter w(out);
      w.FileHeader("101 231380104 1210428822401010000A094101Federal Reserve Bank   My Bank Name                   ");
      std::string bh = "5220" + std::string("Name on Account ") + std::string(20, ' ') + "121042882 " + "PPD" +
                       "PAYROLL   " + std::string(6, ' ') + "240102" + "   " + "1" + "12104288" + "0000001";
      std::string e = "62223138010412345678         0000000000               Receiver Account Name   0121042880000000";
      const Field& amount = *EntryLayout("PPD").Find("amount");
      const Field& trace = *EntryLayout("PPD").Find("traceNumber");
      const Field& account = *EntryLayout("PPD").Find("dfiAccountNumber");
      const Field& batch_no = *BatchHeaderLayout("PPD").Find("batchNumber");
      constexpr long kPerBatch = 10000;
      for (long i = 0; i < n; ++i) {
        if (i % kPerBatch == 0) {
          if (i) w.EndBatch();
          SetField(bh, batch_no, static_cast<uint64_t>(i / kPerBatch + 1));
          w.BatchHeader(bh);
        }
        SetField(e, amount, static_cast<uint64_t>(100 + i % 100000));
        SetField(e, account, std::to_string(10000000 + i));
        SetField(e, trace, static_cast<uint64_t>(121042880000000ULL + i + 1));
        w.Entry(e);
      }
      w.EndBatch();
      w.EndFile();
    }
    out.close();
    double s = Since(t);
    std::printf("{\"mode\":\"generate\",\"entries\":%ld,\"secs\":%.4f,\"eps\":%.0f,\"peak_rss_mb\":%.1f}\n", n, s,
                n / s, PeakRssMb());
    return 0;
  }
  std::fprintf(stderr, "usage: ach_bench stream|memory FILE | generate N FILE\n");
  return 2;
}
