// nucleus-init's entry point, ahead of glibc's `_start` (linked with -e nucleus_init_entry).
//
//   nucleus-init [--filters FILE] --exec [--] COMMAND [ARG...]
//
// is how a `nucleus exec` into a gVisor container starts (runsc exec would start the command
// with no filter of the container's): the workload's seccomp programs from FILE, untraced
// (filter_file.h), then COMMAND in this process, searched in PATH as execvp does. It runs from
// here to that exec without glibc's start-up, which in the Sentry costs 2-3 ms per exec (its
// page faults and CPUID probing); this path costs a few system calls. Anything else goes on to
// glibc's `_start` with the stack and registers as the kernel left them.
//
// Nothing here may touch glibc: no TLS, no IFUNC (memcpy and friends), no stack protector
// (this file is built without it), no errno. System calls are made directly.
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <initializer_list>

#include "core/init/filter_file.h"

#if defined(__x86_64__)

namespace {

using nucleus::init::FilterSet;

long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) noexcept {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
  return r;
}

size_t length(const char* s) noexcept {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

bool same(const char* a, const char* b) noexcept {
  size_t i = 0;
  for (; a[i] != '\0' && a[i] == b[i]; ++i) {
  }
  return a[i] == b[i];
}

void say(const char* a, const char* b = "", const char* c = "", const char* d = "") noexcept {
  for (const char* p : {a, b, c, d}) (void)raw_syscall(SYS_write, 2, reinterpret_cast<long>(p), static_cast<long>(length(p)));
}

[[noreturn]] void leave(int code) noexcept {
  for (;;) raw_syscall(SYS_exit_group, code);
}

const char* describe(long err) noexcept {
  switch (err) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ENOTDIR: return "Not a directory";
    case ENOEXEC: return "Exec format error";
    case ENOMEM: return "Cannot allocate memory";
    case E2BIG: return "Argument list too long";
    case ELOOP: return "Too many levels of symbolic links";
    case ENAMETOOLONG: return "File name too long";
    case EINVAL: return "Invalid argument";
    case EPERM: return "Operation not permitted";
    default: return "error";
  }
}

// The file's bytes: a filter file is at most a few programs of BPF_MAXINSNS each.
alignas(8) unsigned char file_bytes[64 + nucleus::init::kMaxFilterPrograms * (8 + nucleus::init::kMaxFilterLength * 8)];
sock_filter untraced[nucleus::init::kMaxFilterLength];

// 0, or an errno (EINVAL: not a filter file).
long load_workload_filters(const char* path) noexcept {
  long fd = raw_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -fd;
  size_t size = 0;
  for (;;) {
    long n = raw_syscall(SYS_read, fd, reinterpret_cast<long>(file_bytes + size), static_cast<long>(sizeof file_bytes - size));
    if (n == -EINTR) continue;
    if (n < 0) {
      raw_syscall(SYS_close, fd);
      return -n;
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
    if (size == sizeof file_bytes) break;  // too large: refused by the parser's size check below
  }
  raw_syscall(SYS_close, fd);
  FilterSet set;
  if (size == sizeof file_bytes || nucleus::init::parse_filter_file(file_bytes, size, &set) != 0) return EINVAL;
  // A filtered process gets no new privileges, as the container's workload has (the Sentry
  // would load the filter without it, and neither runsc exec nor the control call sets it).
  if (long r = raw_syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); r < 0) return -r;
  for (unsigned i = 0; i < set.count; ++i) {
    const nucleus::init::FilterProgram& p = set.programs[i];
    if (p.role != nucleus::init::kWorkloadFilter) continue;
    nucleus::init::untrace_program(p, untraced);
    sock_fprog prog = {static_cast<unsigned short>(p.length), untraced};
    if (long r = raw_syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(&prog)); r < 0) return -r;
  }
  return 0;
}

const char* path_of(char** envp) noexcept {
  for (char** e = envp; *e != nullptr; ++e) {
    const char* v = *e;
    if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') return v + 5;
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

char candidate[4096];

// execvp's search: a name with a slash as it is, else each PATH entry in turn; EACCES
// remembered, the search stops at any error but a missing file.
long exec_searching(char** argv, char** envp) noexcept {
  const char* name = argv[0];
  for (const char* c = name; *c != '\0'; ++c) {
    if (*c == '/') return -raw_syscall(SYS_execve, reinterpret_cast<long>(name), reinterpret_cast<long>(argv), reinterpret_cast<long>(envp));
  }
  const size_t name_length = length(name);
  long seen = ENOENT;
  for (const char* dir = path_of(envp);;) {
    const char* end = dir;
    while (*end != '\0' && *end != ':') ++end;
    size_t dir_length = static_cast<size_t>(end - dir);
    const char* prefix = dir_length == 0 ? "." : dir;  // an empty entry is the working directory
    if (dir_length == 0) dir_length = 1;
    if (dir_length + 1 + name_length < sizeof candidate) {
      size_t at = 0;
      for (size_t i = 0; i < dir_length; ++i) candidate[at++] = prefix[i];
      candidate[at++] = '/';
      for (size_t i = 0; i <= name_length; ++i) candidate[at++] = name[i];
      long err = -raw_syscall(SYS_execve, reinterpret_cast<long>(candidate), reinterpret_cast<long>(argv), reinterpret_cast<long>(envp));
      if (err == EACCES) {
        seen = EACCES;
      } else if (err != ENOENT && err != ENOTDIR) {
        return err;
      }
    }
    if (*end == '\0') return seen;
    dir = end + 1;
  }
}

}  // namespace

// Returns when the command line is not --exec's (glibc's _start follows).
extern "C" void nucleus_init_exec_fast_path(long* stack) noexcept {
  const long argc = stack[0];
  char** argv = reinterpret_cast<char**>(stack + 1);
  char** envp = argv + argc + 1;
  long i = 1;
  const char* filters = nullptr;
  if (i + 1 < argc && same(argv[i], "--filters")) {
    filters = argv[i + 1];
    i += 2;
  }
  if (i >= argc || !same(argv[i], "--exec")) return;
  if (++i < argc && same(argv[i], "--")) ++i;
  if (i >= argc) {
    say("nucleus-init: usage: nucleus-init [--filters FILE] --exec [--] COMMAND [ARG...]\n");
    leave(125);
  }
  if (filters != nullptr) {
    if (long err = load_workload_filters(filters)) {
      say("nucleus-init: cannot load the workload's seccomp filter from ", filters, ": ", describe(err));
      say("\n");
      leave(125);
    }
  }
  long err = exec_searching(argv + i, envp);
  say("nucleus: exec ", argv[i], ": ", describe(err));
  say("\n");
  leave(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

// The kernel's entry state: %rsp at argc (16-byte aligned), %rdx the function a dynamic
// loader would register (kept for _start). r12 and r13 are callee-saved across the call.
__asm__(
    ".text\n"
    ".globl nucleus_init_entry\n"
    ".type nucleus_init_entry, @function\n"
    "nucleus_init_entry:\n"
    "  mov %rsp, %r13\n"
    "  mov %rdx, %r12\n"
    "  mov %rsp, %rdi\n"
    "  call nucleus_init_exec_fast_path\n"
    "  mov %r13, %rsp\n"
    "  mov %r12, %rdx\n"
    "  jmp _start\n"
    ".size nucleus_init_entry, .-nucleus_init_entry\n");

#endif
