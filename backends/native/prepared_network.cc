#include "backends/native/prepared_network.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <unistd.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/trace_timing.h"

namespace nucleus::native {
namespace {

// A detached sysfs whose network devices are those of the namespace this process is in
// (sysfs takes it when the filesystem context is opened), mounted as the root's would be.
UniqueFd make_sysfs() {
  UniqueFd tree = sys::mount_detached("sysfs", {}, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (!tree) throw_errno("mount sysfs for the prepared network namespace");
  return tree;
}

}  // namespace

PreparedNetwork PreparedNetwork::adopt(net::ContainerNetwork::Prepared prepared, LaunchPlan& plan) {
  PreparedNetwork p;
  p.netns_ = std::move(prepared.netns);
  if (!p.netns_) return p;
  p.own_ = sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open nucleus's network namespace");
  p.sysfs_ = std::move(prepared.sysfs);
  if (!p.sysfs_) {
    p.enter();
    try {
      p.sysfs_ = make_sysfs();
    } catch (...) {
      p.leave();
      throw;
    }
    p.leave();
  }
  plan.clone_flags &= ~static_cast<uint64_t>(CLONE_NEWNET);
  plan.bring_up_loopback = false;
  for (size_t i = 0; i < plan.root.root_ops.size(); ++i) {
    if (plan.root.root_ops[i].kind == MountKind::kSysfs) plan.root_source_fds[i] = p.sysfs_.get();
  }
  timing::mark("prepared network namespace taken");
  return p;
}

void PreparedNetwork::enter() {
  if (netns_ && ::setns(netns_.get(), CLONE_NEWNET) != 0) throw_errno("join the prepared network namespace");
}

void PreparedNetwork::leave() {
  // nucleus left in the container's namespace would make its later sockets there: fatal.
  if (own_ && ::setns(own_.get(), CLONE_NEWNET) != 0) ::_exit(125);
}

}  // namespace nucleus::native
