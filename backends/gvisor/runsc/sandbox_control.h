#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "config/container_spec.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"

// runsc's control socket, spoken directly: what `runsc exec` does once its Go runtime has
// started (about 20 ms of its 28 on this machine), nucleus does in one connect and one
// JSON message. The sandbox (`runsc-sandbox`, the Sentry's host process) listens on the
// abstract unix socket `runsc-sandbox.<sandbox id>` of the host's network namespace and
// serves gVisor's urpc: a JSON object {method, arg} with the arguments' files attached
// (SCM_RIGHTS), answered by {success, err, result}. The methods used are the ones runsc
// exec, kill, state and ps call: containerManager.ExecuteAsync, .WaitPID, .Signal and
// .Processes. Never one that changes what runsc records (pause, resume, start, delete):
// runsc's state file would then say otherwise, and its next command act on that.
//
// A runsc that does not speak this (no abstract socket: a newer runsc keeps it as a file;
// an unknown method) makes execute() answer nullopt, and the caller takes `runsc exec`.
// Unlike runsc exec, nucleus does not chown the caller's stdio to the sandbox's user
// (runsc's configureStdios): the caller's files stay as they were.
namespace nucleus::gvisor {

// What ExecuteAsync is given: runsc exec's own mapping of an OCI process (its user, not
// resolved again; capabilities as runsc sets them, CAP_NET_RAW only with --net-raw).
struct SandboxProcess {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  CapabilitySets capabilities;
};

class SandboxControl {
 public:
  // The sandbox holding container `id`, from runsc's state under `runsc_root`
  // (<id>_sandbox:<sandbox id>.state: the sandbox's id and pid); nullopt when runsc keeps
  // none or in a form this nucleus does not know.
  static std::optional<SandboxControl> find(const std::string& runsc_root, const std::string& id);

  // Starts the process with stdio[0..2] as its 0, 1 and 2 and returns its pid in the
  // sandbox; nullopt when this runsc does not serve the call. Throws Error with runsc's
  // message when it refused the process (exit code 127/126 for a missing or
  // non-executable command, as a shell and the native backend say).
  std::optional<pid_t> execute(const SandboxProcess& p, const std::array<int, 3>& stdio) const;
  // Asks for the process's wait status; the answer arrives on the returned connection
  // (poll it, then read_wait_status). The Sentry reaps the process for it.
  UniqueFd request_wait(pid_t pid) const;
  static int read_wait_status(int connection);
  // Sends signo to the process, pid 0: the container's PID 1 (runsc kill's call); `all`:
  // to every process of the container (runsc kill --all). False: refused (the process is
  // gone) or nobody listens. Throws Error when the sandbox answers nothing readable.
  bool signal(pid_t pid, int signo, bool all = false) const;
  // The container's processes, pids in the sandbox (runsc ps's call); nullopt when nobody
  // listens or the answer is not a list.
  std::optional<std::vector<pid_t>> processes() const;
  std::optional<size_t> process_count() const;
  // The container's status as `runsc state` would say it, without starting runsc: the
  // status runsc recorded, checked as runsc checks it when it loads a container (a running
  // one's PID 1 must take signal 0, a created one's sandbox must be there; else stopped;
  // paused as recorded). nullopt for a status runsc is still changing ("creating") or none recorded:
  // runsc's own answer is needed then.
  std::optional<std::string> status() const;

  const std::string& sandbox_id() const { return sandbox_; }

 private:
  SandboxControl(std::string container, std::string sandbox, pid_t sandbox_pid, std::string recorded)
      : container_(std::move(container)), sandbox_(std::move(sandbox)), sandbox_pid_(sandbox_pid),
        recorded_(std::move(recorded)) {}
  // A connection to the sandbox; none (with *err) when nothing listens.
  UniqueFd connect(int* err) const;

  std::string container_, sandbox_;
  pid_t sandbox_pid_;  // the listener to trust (SO_PEERCRED)
  std::string recorded_;  // the container's status in runsc's state file ("" when none)
};

// What `ask` makes of the sandbox holding container `id`, or nullopt when there is none to
// ask (no state runsc keeps in a form we read) or it answered what nucleus cannot read, or
// the listener is not the sandbox: the caller then asks runsc, whose answer is the same.
template <typename Ask>
auto ask_sandbox(const std::string& runsc_root, const std::string& id, Ask&& ask)
    -> std::optional<std::invoke_result_t<Ask, const SandboxControl&>> {
  try {
    if (std::optional<SandboxControl> sandbox = SandboxControl::find(runsc_root, id)) return ask(*sandbox);
  } catch (const Error&) {
  }
  return std::nullopt;
}

}  // namespace nucleus::gvisor
