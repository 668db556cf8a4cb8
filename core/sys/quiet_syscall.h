// System calls that leave errno alone, for a process that shares nucleus's memory (and so
// its errno) until it execs or exits (the cleanup keeper).
// quiet_syscall returns the result, or -errno (where kQuietSyscalls; elsewhere it is
// syscall(2), and callers must not share memory).
#pragma once

#include <unistd.h>

#include <sys/syscall.h>

namespace nucleus::sys {

#if defined(__x86_64__)
inline long quiet_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0) noexcept {
  long ret;
  register long r10 asm("r10") = d;
  asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}
inline constexpr bool kQuietSyscalls = true;
#elif defined(__aarch64__)
inline long quiet_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0) noexcept {
  register long x8 asm("x8") = nr;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
inline constexpr bool kQuietSyscalls = true;
#else
inline long quiet_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0) noexcept {
  return ::syscall(nr, a, b, c, d);
}
inline constexpr bool kQuietSyscalls = false;  // callers fork instead of sharing memory
#endif
}  // namespace nucleus::sys
