#include "frontend/follow_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace nucleus::frontend {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(100);

ino_t inode_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Whether fd no longer reads what is at path: renamed away (another file there now) or
// truncated below what was read.
bool replaced(const std::string& path, int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return true;
  ino_t now = inode_of(path);
  return (now != 0 && now != st.st_ino) || ::lseek(fd, 0, SEEK_CUR) > st.st_size;
}

}  // namespace

void read_new_lines(int fd, std::string& partial, const LineHandler& each) {
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      each(std::string_view(partial).substr(start, nl - start));
    }
    partial.erase(0, start);
  }
}

void follow_lines(const std::string& path, UniqueFd fd, std::string partial, const LineHandler& each,
                  const FollowHooks& hooks) {
  for (;;) {
    bool go_on = hooks.go_on();  // asked first: what comes before the end is still read
    if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
      read_new_lines(fd.get(), partial, each);
      if (replaced(path, fd.get())) {
        read_new_lines(fd.get(), partial, each);
        partial.clear();
        fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        continue;
      }
    }
    hooks.caught_up();
    if (!go_on) return;
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace nucleus::frontend
