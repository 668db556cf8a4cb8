#pragma once

#include "backends/native/plan/launch_plan.h"
#include "core/sys/unique_fd.h"
#include "network/client/container_network.h"

// A bridge container cloned into the network namespace netd prepared ahead for it
// (docs/networking.md, "Prepared namespaces") instead of a new one: eth0 is on the bridge
// with its addresses, routes and rules before the clone, so the start waits for no veth.
namespace nucleus::native {

class PreparedNetwork {
 public:
  // Takes the prepared namespace when netd had one ready, and adapts the (finalized) plan:
  // no CLONE_NEWNET, no loopback step (netd brought lo up), and a sysfs made in that
  // namespace for the root (a container's own user namespace may not mount one there: the
  // namespace belongs to the host's; the standby's when it made one). Empty when none: the
  // plan is left as it was.
  static PreparedNetwork adopt(net::ContainerNetwork::Prepared prepared, LaunchPlan& plan);

  explicit operator bool() const { return static_cast<bool>(netns_); }

  // Around the clone (single-threaded): this process in the prepared namespace, so that the
  // child is cloned into it, then back in its own. Both do nothing when empty.
  void enter();
  void leave();

 private:
  UniqueFd netns_, own_, sysfs_;
};

}  // namespace nucleus::native
