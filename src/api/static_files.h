// StaticFiles serves the web UI's production build (web/dist): hashed assets under
// /assets/ with a year-long immutable cache, other files of the build's root as they
// are, and index.html for every other path (the single-page app's deep links), never
// cached so a new build is picked up at once.
//
// Files are read once, at construction: the build is small and a restart picks up a
// new one. Thread-safe after construction (read-only).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "core/result.h"

namespace sw {

class StaticFiles {
 public:
  // An empty or missing `root` serves nothing (Serve answers kNotFound with a hint).
  explicit StaticFiles(const std::filesystem::path& root);

  bool loaded() const { return index_.has_value(); }
  // The answer to a GET or HEAD of a path outside /api/, given as its decoded
  // segments. A segment that holds a "/" (sent as %2F) names no file.
  Result<Response> Serve(const std::vector<std::string>& segments) const;

 private:
  struct File {
    std::string content_type;
    std::string body;
  };

  std::map<std::string, File> files_;  // by URL path, e.g. "/assets/index-3fa1.js"
  std::optional<File> index_;
};

}  // namespace sw
