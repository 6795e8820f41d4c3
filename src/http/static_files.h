// Serves the built web app. Paths without a file fall back to index.html so
// the app's own router can handle deep links.
#pragma once

#include <optional>
#include <string>

#include "http/request.h"

namespace kontor::http {

class StaticFiles {
 public:
  explicit StaticFiles(std::string root) : root_(std::move(root)) {}
  // nullopt when the root has no index.html either.
  std::optional<Response> Serve(const std::string& path) const;

 private:
  std::string root_;
};

}  // namespace kontor::http
