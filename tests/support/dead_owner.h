#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sys/sys.h"
#include "network/ipam/lease_store.h"

namespace nucleus::test {

// A pid and start time that once belonged to a process that has since been reaped.
inline net::LeaseOwner dead_owner() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  net::LeaseOwner owner{pid, sys::process_stat(pid)->start_time};
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return owner;
}

}  // namespace nucleus::test
