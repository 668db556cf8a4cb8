#pragma once

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

// The seccomp programs nucleus compiles on the host (libseccomp, cached) for nucleus-init,
// which only loads them: one read-only file the gVisor bundle binds into the sandbox. The
// Sentry applies a guest's own seccomp(2) filters in full (argument conditions, errno
// values, SECCOMP_RET_TRACE), which runsc's --oci-seccomp loader of the runsc Debian 12
// ships does not. libc only: nucleus-init parses it.
//
//   "NUCFLT1\n", uint32 flags, uint32 count,
//   count x { uint32 role, uint32 length (instructions), length x struct sock_filter }
//
// Integers in the host's byte order: the file never leaves the machine that wrote it.
namespace nucleus::init {

inline constexpr char kFilterMagic[8] = {'N', 'U', 'C', 'F', 'L', 'T', '1', '\n'};

enum FilterRole : uint32_t {
  kWorkloadFilter = 1,    // loaded by the workload, in file order, just before its exec
  kSupervisorFilter = 2,  // loaded by nucleus-init itself once the workload runs
};

enum FilterFlags : uint32_t {
  // Trace every workload task and clear AT_NO_AUTOMOUNT from the statx and newfstatat calls
  // the workload's filter stops with SECCOMP_RET_TRACE (core/init/tracer.h).
  kTraceNoAutomount = 1u << 0,
};

inline constexpr unsigned kMaxFilterPrograms = 4;
inline constexpr uint32_t kMaxFilterLength = 4096;  // BPF_MAXINSNS

struct FilterProgram {
  uint32_t role = 0;
  uint32_t length = 0;
  const sock_filter* code = nullptr;  // points into the file's bytes
};

struct FilterSet {
  uint32_t flags = 0;
  unsigned count = 0;
  FilterProgram programs[kMaxFilterPrograms];
};

// Parses the file's bytes (which must stay mapped). Uses no libc (exec_entry.cc calls it
// before glibc is up). Returns 0, or EINVAL for anything but
// a well-formed file: nucleus-init then refuses to start the workload.
int parse_filter_file(const void* data, size_t size, FilterSet* out) noexcept;

// Reads and parses `path` (mapped read-only for the life of the process). Returns 0 or an errno.
int read_filter_file(const char* path, FilterSet* out) noexcept;

// Loads every program of `role`, in order (no_new_privs must be set). Returns 0 or an errno.
int load_filters(const FilterSet& set, uint32_t role) noexcept;

// p's instructions written to out with every SECCOMP_RET_TRACE answered SECCOMP_RET_ALLOW:
// for a process no nucleus-init traces (`nucleus-init --exec`, exec_entry.cc), where a trace
// row would answer ENOSYS. What the trace mends (AT_NO_AUTOMOUNT) then reaches the Sentry,
// as without the filter.
void untrace_program(const FilterProgram& p, sock_filter* out) noexcept;

// Whether nucleus-init has `--exec` (exec_entry.cc, written for x86_64's entry state).
#if defined(__x86_64__)
inline constexpr bool kHasExecEntry = true;
#else
inline constexpr bool kHasExecEntry = false;
#endif

}  // namespace nucleus::init
