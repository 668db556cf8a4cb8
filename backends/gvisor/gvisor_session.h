#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "backends/gvisor/runsc/runsc_args.h"
#include "backends/gvisor/runsc/runsc_process.h"
#include "backends/gvisor/runsc/sandbox_control.h"
#include "config/container_spec.h"
#include "core/container/session.h"
#include "core/sys/sys.h"
#include "network/client/container_network.h"

// What the gVisor backend keeps of a container: runsc's state lives in the container's
// record directory (<record>/runsc, its bundle in <record>/bundle, runsc's own log in
// <record>/runsc.log), and runsc's container id is the container's id.
namespace nucleus::gvisor {

// runsc with the flags a container was created with (kept in its record's `data`), and a
// log for this call.
struct Runsc {
  std::string binary;
  std::string dir;  // the record's directory
  RunscConfig config;
  UniqueFd log;

  Runsc(const std::string& record_dir, const std::string& data);
  // The record's `data`: what later verbs need to drive runsc the same way.
  static std::string data_of(const RunscConfig& config);
  std::vector<std::string> args(std::initializer_list<std::string> verb) const;
  // Runs a verb; a failure is an Error carrying runsc's own message.
  void must(const std::string& what, const std::vector<std::string>& a, bool attached = false) const;
  // "created", "running", "paused", "stopped" (no state: stopped).
  std::string status(const std::string& id) const;
  // runsc's state for the container, deleted (a killed sandbox included); idempotent.
  void delete_state(const std::string& id) const;
};

// A gVisor container this nucleus holds in the foreground: `runsc run` is its main process.
class GvisorSession final : public ContainerSession {
 public:
  using ContainerSession::ContainerSession;
  ~GvisorSession() override;

  ContainerSpec spec;
  RunscConfig config;
  UniqueFd netns;                                // --network bridge: the namespace runsc joins
  std::optional<net::ContainerNetwork> network;  // and what nucleus put in it
  std::string log_path;
  StdioRelay stdio;  // regular files among nucleus's stdio, copied (stdio_relay.h)

 protected:
  // runsc run does not pass signals on (it dies of them): the sandbox is asked to signal
  // the container's PID 1, nucleus-init, which forwards them to the workload (runsc's
  // control socket, runsc/sandbox_control.h; runsc kill when it does not answer). Until the
  // workload exists (nucleus-init has it: two processes in the sandbox), a signal is kept
  // for later: sent earlier, it would be refused (no container yet) or reach a PID 1 that
  // has not yet blocked it, which the Sentry then drops (issue 13).
  bool forward(int signal) override;
  StdioRelay* relay() override { return stdio.active() ? &stdio : nullptr; }
  // A stalled Sentry no longer answers `runsc kill`: the cgroup is killed.
  void kill_now() override;
  bool has_watchdog() const override { return cgroup() != nullptr && spec.limits.memory_bytes.has_value(); }
  bool watchdog() override;
  void on_idle() override { sys::give_back_startup_memory(); }

 private:
  bool workload_started();
  std::optional<SandboxControl> control_;  // the sandbox's control socket (forward)
  int pressure_ = 0;
  uint64_t last_failures_ = 0;
  bool started_ = false;
};

}  // namespace nucleus::gvisor
