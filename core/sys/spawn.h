#pragma once

#include <sys/types.h>

// posix_spawn as nucleus's helpers need it (a service's `nucleus exec` for its health
// checks, nucleusd's `nucleus` processes): the given descriptors as 0, 1 and 2 (/dev/null
// for -1), nothing else open, no signal blocked and every disposition the default, so the
// child owes nothing to the spawner's signal handling.
namespace nucleus::sys {

struct SpawnStdio {
  int in = -1, out = -1, err = -1;
};

// The pid, or -errno.
pid_t spawn(const char* path, char* const argv[], SpawnStdio stdio, bool new_session) noexcept;

}  // namespace nucleus::sys
