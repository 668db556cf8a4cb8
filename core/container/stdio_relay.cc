#include "core/container/stdio_relay.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

constexpr size_t kChunk = 64 * 1024;

bool is_regular(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

// Whether fds a and b are one open file description (`> f 2>&1`): kcmp, or where the
// kernel has none, the same file at the same offset with the same flags.
bool same_description(int a, int b) {
  pid_t self = ::getpid();
  long same = ::syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
  if (same >= 0) return same == 0;
  struct stat sa, sb;
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
         ::lseek(a, 0, SEEK_CUR) == ::lseek(b, 0, SEEK_CUR) && ::fcntl(a, F_GETFL) == ::fcntl(b, F_GETFL);
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("relay the container's stdio", "pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

StdioRelay StdioRelay::for_regular_files() {
  StdioRelay r;
  bool regular[3];
  for (int fd = 0; fd < 3; ++fd) regular[fd] = is_regular(fd);
  if (regular[0]) {
    auto [read_end, write_end] = make_pipe();
    Link in;
    in.caller = 0;
    in.input = true;
    in.reader.reset(::fcntl(read_end.get(), F_DUPFD_CLOEXEC, 3));
    in.child = std::move(read_end);
    in.pipe = std::move(write_end);
    set_nonblocking(in.pipe.get());
    r.child_[0] = in.child.get();
    r.links_.push_back(std::move(in));
  }
  for (int fd = 1; fd < 3; ++fd) {
    if (!regular[fd]) continue;
    if (fd == 2 && regular[1] && same_description(1, 2)) {
      r.child_[2] = r.child_[1];  // one pipe: the order of stdout and stderr is kept
      continue;
    }
    auto [read_end, write_end] = make_pipe();
    Link out;
    out.caller = fd;
    out.child = std::move(write_end);
    out.pipe = std::move(read_end);
    set_nonblocking(out.pipe.get());
    r.child_[fd] = out.child.get();
    r.links_.push_back(std::move(out));
  }
  return r;
}

void StdioRelay::started() {
  for (Link& l : links_) l.child.reset();
  child_ = {-1, -1, -1};
}

void StdioRelay::poll_fds(std::vector<pollfd>& out) const {
  for (const Link& l : links_) {
    bool done = l.input ? (l.eof && l.pending.empty()) || !l.pipe : !l.pipe;
    out.push_back({done ? -1 : l.pipe.get(), static_cast<short>(l.input ? POLLOUT : POLLIN), 0});
  }
}

bool StdioRelay::copy_out(Link& l) {
  char buf[kChunk];
  for (;;) {
    ssize_t n = ::read(l.pipe.get(), buf, sizeof buf);
    if (n > 0) {
      // The caller's description: its offset and O_APPEND place the bytes (a full disk
      // loses them, as it would a native workload's write).
      (void)sys::write_all(l.caller, buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n != 0;  // EAGAIN: more later; 0: every writer is gone
  }
}

void StdioRelay::feed_in(Link& l) {
  for (;;) {
    if (l.pending.empty() && !l.eof) {
      char buf[kChunk];
      ssize_t n = ::read(l.caller, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        l.eof = true;
      } else {
        l.pending.assign(buf, static_cast<size_t>(n));
      }
    }
    if (l.pending.empty()) break;
    ssize_t n = ::write(l.pipe.get(), l.pending.data(), l.pending.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0 && errno == EPIPE) l.eof = true, l.pending.clear();
      return;  // EAGAIN: the pipe is full until the workload reads
    }
    l.pending.erase(0, static_cast<size_t>(n));
  }
  // All of the file is in the pipe: the workload reads to the end and then sees EOF.
  if (l.eof && l.pending.empty()) l.pipe.reset();
}

void StdioRelay::pump(const pollfd* ready, size_t count) {
  for (size_t i = 0; i < count && i < links_.size(); ++i) {
    if (ready[i].revents == 0) continue;
    Link& l = links_[i];
    if (l.input) {
      feed_in(l);
    } else if (!copy_out(l)) {
      l.pipe.reset();
    }
  }
}

void StdioRelay::finish(int wait_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (Link& l : links_) {
    if (l.input) {
      // What the workload read is what the caller's offset moved by: the rest goes back.
      int unread = 0;
      if (l.reader) ::ioctl(l.reader.get(), FIONREAD, &unread);
      off_t back = static_cast<off_t>(unread) + static_cast<off_t>(l.pending.size());
      if (back > 0) ::lseek(l.caller, -back, SEEK_CUR);
      l.pipe.reset();
      l.reader.reset();
      continue;
    }
    while (l.pipe && copy_out(l)) {
      // A writer still holds the pipe (the sandbox on its way out): wait for it, not forever.
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now()).count());
      pollfd p = {l.pipe.get(), POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, left) <= 0) break;
    }
    l.pipe.reset();
  }
  links_.clear();
}

}  // namespace nucleus
