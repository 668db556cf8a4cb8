#pragma once

#include <fcntl.h>
#include <sched.h>

#include <cstdlib>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"

// nucleus-netd in a container's network namespace for a scope, then back in its own: what
// it opens meanwhile (a netlink socket, a /proc/net file, a sysfs) belongs to that namespace.
// netd is single-threaded, so the switch affects nothing else.
namespace nucleus::net {

class NetnsSwitch {
 public:
  explicit NetnsSwitch(int target) : home_(sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open own network namespace")) {
    if (::setns(target, CLONE_NEWNET) != 0) throw_errno("enter the container's network namespace");
  }
  ~NetnsSwitch() {
    // Staying in the container's namespace would make every later step act there.
    if (::setns(home_.get(), CLONE_NEWNET) != 0) std::abort();
  }
  NetnsSwitch(const NetnsSwitch&) = delete;
  NetnsSwitch& operator=(const NetnsSwitch&) = delete;

 private:
  UniqueFd home_;
};

}  // namespace nucleus::net
