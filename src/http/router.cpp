#include "http/router.h"

namespace kontor::http {

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
  auto parts = SplitPath(path);
  // A trailing slash is a different resource; keep matching strict.
  if (path.size() > 1 && path.back() == '/') return m;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& segs = compiled_[i].segments;
    if (segs.size() != parts.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t k = 0; k < segs.size() && ok; ++k) {
      const std::string& s = segs[k];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        params[s.substr(1, s.size() - 2)] = std::string(parts[k]);
      } else {
        ok = s == parts[k];
      }
    }
    if (!ok) continue;
    if (routes_[i].method == method || (method == "HEAD" && routes_[i].method == "GET")) {
      m.route = &routes_[i];
      m.params = std::move(params);
      return m;
    }
    m.allowed.push_back(routes_[i].method);
  }
  return m;
}

}  // namespace kontor::http
