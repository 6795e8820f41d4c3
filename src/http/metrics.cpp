#include "http/metrics.h"

#include <fmt/format.h>

namespace kontor::http {

int Metrics::AddRoute(const std::string& method, const std::string& route) {
  if (series_.empty()) {
    auto s = std::make_unique<Series>();
    s->method = "ANY";
    s->route = "unmatched";
    series_.push_back(std::move(s));
  }
  auto s = std::make_unique<Series>();
  s->method = method;
  s->route = route;
  series_.push_back(std::move(s));
  return static_cast<int>(series_.size() - 1);
}

void Metrics::Observe(int slot, int status, double seconds) {
  if (slot < 0 || slot >= static_cast<int>(series_.size())) slot = 0;
  Series& s = *series_[slot];
  if (status >= 100 && status < 600) s.by_status[status].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Metrics::AddGauge(std::string name, std::string help, GaugeFn fn) {
  std::lock_guard lock(gauge_mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(fn)});
}

std::string Metrics::Render() const {
  std::string out;
  out += "# HELP kontor_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE kontor_http_requests_total counter\n";
  for (const auto& s : series_) {
    for (int code = 100; code < 600; ++code) {
      uint64_t n = s->by_status[code].load(std::memory_order_relaxed);
      if (n) {
        out += fmt::format("kontor_http_requests_total{{method=\"{}\",route=\"{}\",code=\"{}\"}} {}\n",
                           s->method, s->route, code, n);
      }
    }
  }
  out += "# HELP kontor_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE kontor_http_request_duration_seconds histogram\n";
  for (const auto& s : series_) {
    uint64_t cum = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) cum += s->buckets[b].load(std::memory_order_relaxed);
    if (cum == 0) continue;
    uint64_t running = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      running += s->buckets[b].load(std::memory_order_relaxed);
      std::string le = b < kBuckets.size() ? fmt::format("{}", kBuckets[b]) : "+Inf";
      out += fmt::format(
          "kontor_http_request_duration_seconds_bucket{{method=\"{}\",route=\"{}\",le=\"{}\"}} {}\n",
          s->method, s->route, le, running);
    }
    out += fmt::format("kontor_http_request_duration_seconds_sum{{method=\"{}\",route=\"{}\"}} {}\n",
                       s->method, s->route, s->sum_us.load() / 1e6);
    out += fmt::format("kontor_http_request_duration_seconds_count{{method=\"{}\",route=\"{}\"}} {}\n",
                       s->method, s->route, running);
  }
  std::lock_guard lock(gauge_mu_);
  for (const auto& g : gauges_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", g.name, g.help, g.name);
    for (const auto& [labels, v] : g.fn()) {
      out += labels.empty() ? fmt::format("{} {}\n", g.name, v)
                            : fmt::format("{}{{{}}} {}\n", g.name, labels, v);
    }
  }
  return out;
}

}  // namespace kontor::http
