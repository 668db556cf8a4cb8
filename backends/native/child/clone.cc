#include "backends/native/child/clone.h"

#include <sched.h>
#include <signal.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::native {

pid_t clone_container(uint64_t namespace_flags, UniqueFd* pidfd, int cgroup_fd) {
  int fd = -1;
  clone_args args = {};
  args.flags = namespace_flags | CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
  args.pidfd = reinterpret_cast<uint64_t>(&fd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  long pid = sys::raw_clone3(&args);
  if (pid < 0 && (errno == ENOSYS || errno == E2BIG) && cgroup_fd < 0) {
    // clone(2) takes CLONE_PIDFD too (5.2+); the pidfd comes back through parent_tid.
    pid = ::syscall(SYS_clone, namespace_flags | CLONE_PIDFD | SIGCHLD, nullptr, &fd, nullptr, 0);
  }
  if (pid < 0) throw_errno("create the container's namespaces (clone3)");
  if (pid > 0) pidfd->reset(fd);
  return static_cast<pid_t>(pid);
}

void start_child_elsewhere(pid_t child, const cpu_set_t& allowed) noexcept {
  cpu_set_t others = allowed;
  int here = ::sched_getcpu();
  if (here < 0 || !CPU_ISSET(here, &others)) return;
  CPU_CLR(here, &others);
  if (CPU_COUNT(&others) > 0) (void)::sched_setaffinity(child, sizeof others, &others);
}

void require_single_thread() {
  // glibc clears this at the first pthread_create and never sets it again: when it is
  // set, no thread was ever made, and /proc need not be read (0.03 ms).
  if (__libc_single_threaded) return;
  char buf[1024];
  UniqueFd fd(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("read /proc/self/stat");
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) throw_errno("read /proc/self/stat");
  buf[n] = '\0';
  // Field 20 (num_threads) counts from after the ")" that closes the command name.
  const char* p = std::strrchr(buf, ')');
  int field = 2;
  while (p != nullptr && field < 20) {
    p = std::strchr(p + 1, ' ');
    ++field;
  }
  if (p == nullptr || std::atoi(p + 1) != 1) {
    throw Error("start the container", "nucleus has more than one thread before clone");
  }
}

}  // namespace nucleus::native
