#include "http/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kontor::http {
namespace {

std::string ContentType(const std::filesystem::path& p) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
      {".png", "image/png"},                 {".ico", "image/x-icon"},
      {".json", "application/json"},         {".woff2", "font/woff2"},
      {".woff", "font/woff"},                {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"}};
  std::string ext = p.extension().string();
  for (auto [e, t] : kTypes) {
    if (ext == e) return t;
  }
  return "application/octet-stream";
}

std::optional<std::string> ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<Response> StaticFiles::Serve(const std::string& path) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path root = fs::weakly_canonical(root_, ec);
  if (ec) return std::nullopt;
  fs::path file = fs::weakly_canonical(root / fs::path(path).relative_path(), ec);
  // Refuse anything that resolves outside the root (../, symlinks).
  auto [r, f] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  bool inside = !ec && r == root.end();
  if (!inside || !fs::is_regular_file(file, ec)) file = root / "index.html";
  auto body = ReadFile(file);
  if (!body) return std::nullopt;
  Response resp;
  resp.status = 200;
  resp.content_type = ContentType(file);
  resp.body = std::move(*body);
  // Vite puts content hashes in asset names, so those may be cached forever.
  bool hashed = file.parent_path().filename() == "assets";
  resp.SetHeader("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
  return resp;
}

}  // namespace kontor::http
