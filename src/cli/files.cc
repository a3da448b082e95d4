#include "cli/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sw::cli {

Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  auto failed = [&](const std::string& what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status(StatusCode::kUnavailable, "cannot write " + path + " (" + what +
                                                "): " + std::strerror(err) +
                                                "; is the data directory's volume full?");
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return failed("open");
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) {
      ::close(fd);
      return failed("write");
    }
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    ::close(fd);
    return failed("sync");
  }
  if (::close(fd) != 0) {
    return failed("close");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return failed("rename");
  }
  return Status::Ok();
}

}  // namespace sw::cli
