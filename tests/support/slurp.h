#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace nucleus::test {

// A whole file's content, "" when it cannot be read (what it read, if reading stopped
// halfway): what the tests compare. One copy for every test file (the tests are built a
// batch of files at a time, CMakeLists.txt). read(2), not a stream: a /proc file of a
// process that ends meanwhile fails with ESRCH, which libstdc++'s filebuf throws
// ("basic_filebuf::underflow error reading the file"), out of a leak check's TearDown.
inline std::string slurp(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace nucleus::test
