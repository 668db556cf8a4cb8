#pragma once


#include <optional>
#include <vector>

#include "backends/native/plan/launch_plan.h"
#include "config/container_spec.h"
#include "core/container/notify_socket.h"
#include "network/client/container_network.h"
#include "network/client/user_mode.h"
#include "core/container/session.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"

// A native container this nucleus holds: the shared session (core/container/session.h) with
// what only the native backend has: the plan the child reads (its address must not change
// while the child runs: the session lives on the heap), the sync socket, the notify proxy.
namespace nucleus::native {

class NativeSession final : public ContainerSession {
 public:
  using ContainerSession::ContainerSession;
  // A container left running keeps its network: netd and pasta end with it.
  ~NativeSession() override {
    if (!detached()) return;
    if (network) network->detach();
    if (user_network) user_network->detach();
  }

  ContainerSpec spec;  // as created (with the notify proxy's mount, when asked)
  LaunchPlan plan;
  UniqueFd sync;  // our end of the child's sync socket
  UniqueFd fifo_reader;  // exec.fifo's read end, or the start pipe's, opened at create
  std::vector<UniqueFd> joined;  // namespaces the child joins
  std::optional<net::ContainerNetwork> network;  // --network bridge
  std::optional<net::UserModeNetwork> user_network;  // --network pasta
  std::optional<TempDir> notify_dir;
  std::optional<NotifyProxy> notify_proxy;

 protected:
  // Signals reach PID 1 through its pidfd (never a recycled pid); the supervisor passes
  // them on.
  int sync_fd() const override { return sync.get(); }
  Error describe(const ChildReport& report) const override { return describe_child_failure(plan, report); }
  NotifyProxy* notify() override { return notify_proxy ? &*notify_proxy : nullptr; }
  // The workload runs (the child's reports are over): the plan and the spec's policy tables
  // were start-up's alone; the hooks stay for delete's poststop.
  void on_idle() override {
    plan = LaunchPlan();
    HooksSpec hooks = std::move(spec.hooks);
    spec = ContainerSpec();
    spec.hooks = std::move(hooks);
    sys::give_back_startup_memory();
  }
};

}  // namespace nucleus::native
