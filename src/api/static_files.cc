#include "api/static_files.h"

#include <fstream>
#include <sstream>

namespace sw {

namespace {

std::string ContentTypeFor(const std::filesystem::path& file) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  auto it = kTypes.find(file.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

std::string ReadAll(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

StaticFiles::StaticFiles(const std::filesystem::path& root) {
  std::error_code ec;
  if (root.empty() || !std::filesystem::is_regular_file(root / "index.html", ec)) {
    return;
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    const std::filesystem::path rel = std::filesystem::relative(entry.path(), root);
    files_["/" + rel.generic_string()] = File{ContentTypeFor(entry.path()), ReadAll(entry.path())};
  }
  index_ = files_["/index.html"];
}

Result<Response> StaticFiles::Serve(const std::vector<std::string>& segments) const {
  if (!index_) {
    return NotFound("The web UI is not built (run make)");
  }
  const bool under_assets = !segments.empty() && segments.front() == "assets";
  std::string path;
  bool may_be_file = true;
  for (const std::string& segment : segments) {
    path += "/" + segment;
    may_be_file = may_be_file && segment.find('/') == std::string::npos;
  }
  Response r;
  if (auto it = may_be_file ? files_.find(path) : files_.end();
      it != files_.end() && path != "/index.html") {
    r.content_type = it->second.content_type;
    r.body = it->second.body;
    r.headers.emplace_back("Cache-Control", under_assets ? "public, max-age=31536000, immutable"
                                                         : "public, max-age=300");
    return r;
  }
  if (under_assets) {
    // An asset of another build: answering index.html would hide the mistake.
    return NotFound("No such asset: " + path);
  }
  r.content_type = index_->content_type;
  r.body = index_->body;
  r.headers.emplace_back("Cache-Control", "no-cache");
  // Everything the UI needs comes from this server: nothing else may be fetched.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                         "img-src 'self' data:; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace sw
