#include "http/router.h"

#include <array>

namespace kontor::http {

namespace {

bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

void Router::Add(Route r) {
  Compiled c;
  for (auto s : SplitPath(r.pattern)) c.segments.emplace_back(s);
  compiled_.push_back(std::move(c));
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  // A trailing slash is a different resource; keep matching strict.
  if (path.size() > 1 && path.back() == '/') return m;
  // Runs for every request: split into a fixed array, compare without
  // allocating, and build the parameter map only for the route that matched.
  constexpr size_t kMaxSegments = 16;
  std::array<std::string_view, kMaxSegments> parts;
  size_t n = 0;
  for (size_t i = 0; i < path.size();) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (n == kMaxSegments) return m;  // deeper than any route
    parts[n++] = path.substr(i, j - i);
    i = j;
  }
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& segs = compiled_[i].segments;
    if (segs.size() != n) continue;
    bool ok = true;
    for (size_t k = 0; k < n && ok; ++k) {
      const std::string& s = segs[k];
      ok = IsParam(s) || s == parts[k];
    }
    if (!ok) continue;
    if (routes_[i].method == method || (method == "HEAD" && routes_[i].method == "GET")) {
      m.route = &routes_[i];
      for (size_t k = 0; k < n; ++k) {
        if (IsParam(segs[k])) m.params[segs[k].substr(1, segs[k].size() - 2)] = std::string(parts[k]);
      }
      return m;
    }
    m.allowed.push_back(routes_[i].method);
  }
  return m;
}

}  // namespace kontor::http
