// Prometheus metrics for HTTP traffic, lock-free on the request path: each
// route owns fixed arrays of atomic counters. Gauges (job queue depth) are
// read through callbacks at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kontor::http {

class Metrics {
 public:
  // Latency buckets in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,     5};

  // Declares a label set "METHOD route"; returns its slot. Called while
  // building the router, before serving. Slot 0 is "unmatched".
  int AddRoute(const std::string& method, const std::string& route);
  void Observe(int slot, int status, double seconds);

  using GaugeFn = std::function<std::vector<std::pair<std::string, double>>()>;
  // `fn` returns (label-set, value) pairs, label-set like `state="queued"`.
  void AddGauge(std::string name, std::string help, GaugeFn fn);

  std::string Render() const;

 private:
  struct Series {
    std::string method, route;
    std::array<std::atomic<uint64_t>, 600> by_status{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<uint64_t> sum_us{0};
  };
  struct Gauge {
    std::string name, help;
    GaugeFn fn;
  };
  std::vector<std::unique_ptr<Series>> series_;
  std::vector<Gauge> gauges_;
  mutable std::mutex gauge_mu_;
};

}  // namespace kontor::http
