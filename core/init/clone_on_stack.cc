#include "core/init/clone_on_stack.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>

namespace nucleus::init {

pid_t clone_on_stack(int (*fn)(void*), void* arg, int flags, size_t stack_size) noexcept {
  constexpr size_t kGuard = 4096;
  void* base = mmap(nullptr, kGuard + stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return -errno;
  pid_t pid = -ENOMEM;
  if (mprotect(base, kGuard, PROT_NONE) == 0) {
    pid = clone(fn, static_cast<char*>(base) + kGuard + stack_size, flags, arg);
    if (pid < 0) pid = -errno;
  } else {
    pid = -errno;
  }
  munmap(base, kGuard + stack_size);
  return pid;
}

}  // namespace nucleus::init
