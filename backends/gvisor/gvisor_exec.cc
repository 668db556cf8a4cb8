// `nucleus exec` on the gVisor backend: one more process in a running sandbox.
//
// Without a terminal and not detached (what a person, a script or a runc-style caller with
// --pid-file runs), nucleus asks the sandbox itself through runsc's control socket
// (runsc/sandbox_control.h): no `runsc exec`, whose Go runtime start is most of its cost.
// nucleus then stays as the process's stand-in: its pid is the one --pid-file names, it
// forwards its signals to the process (runsc exec does that only with a terminal: without
// one, a SIGTERM ended runsc and left the process running), copies for the regular files
// among its stdio (the Sentry would write a file from offset 0: stdio_relay.h) and returns
// the process's status. A terminal, --console-socket or --detach (a pty, or a host pid an
// orchestrator watches after we return) take `runsc exec`, nucleus becoming it; so does a
// runsc that does not serve the control call.
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backends/gvisor/gvisor_backend.h"
#include "backends/gvisor/gvisor_session.h"
#include "backends/gvisor/init_filters.h"
#include "backends/gvisor/oci_bundle.h"
#include "backends/gvisor/runsc/runsc_process.h"
#include "backends/gvisor/runsc/sandbox_control.h"
#include "core/container/monitor.h"
#include "core/container/stdio_relay.h"
#include "core/init/filter_file.h"
#include "core/init/supervisor.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

using json = nlohmann::json;

// The process as the sandbox gets it: the PATH runsc would resolve the command with and,
// where nucleus wrote the bundle, nucleus-init in front to load the container's seccomp
// programs before exec'ing the command in place (both runsc exec and the control call
// start a process bare; `--exec`: no supervisor, untraced, docs/security-model.md).
SandboxProcess sandbox_process(const std::string& dir, const ProcessSpec& p, bool* filtered) {
  SandboxProcess s;
  s.env = p.env;
  if (p.env_value("PATH").empty()) s.env.push_back("PATH=" + p.search_path());
  s.argv = p.args;
  *filtered = init::kHasExecEntry && ::access((dir + "/bundle/" + kInitFiltersFile).c_str(), F_OK) == 0;
  if (*filtered) {
    std::vector<std::string> init = init_args(true, true);
    s.argv.insert(s.argv.begin(), init.begin(), init.end());
  }
  s.cwd = p.cwd;
  s.uid = p.uid;
  s.gid = p.gid;
  s.additional_gids = p.additional_gids;
  s.capabilities = p.capabilities;
  return s;
}

// Passes on the signals nucleus received; one the sandbox cannot take (the process just
// ended, the sandbox going) is dropped, as the wait says what happened.
void forward_signals(const SandboxControl& sandbox, pid_t pid, int signal_fd) {
  signalfd_siginfo info;
  while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    try {
      sandbox.signal(pid, static_cast<int>(info.ssi_signo));
    } catch (const Error&) {
    }
  }
}

// Waits for the process's status while forwarding signals and copying for the relay.
int wait_forwarding(const SandboxControl& sandbox, pid_t pid, ForwardedSignals& signals, StdioRelay& relay) {
  // What the pipes still hold is copied however the wait ends.
  struct Finish {
    StdioRelay& relay;
    ~Finish() { relay.finish(); }
  } finish{relay};
  UniqueFd wait = sandbox.request_wait(pid);
  for (;;) {
    std::vector<pollfd> fds = {{wait.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    relay.poll_fds(fds);
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("wait for the exec'd process");
    }
    if (fds.size() > 2) relay.pump(fds.data() + 2, fds.size() - 2);
    // The answer first: once the Sentry has reaped the process its pid may be another's.
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) forward_signals(sandbox, pid, signals.fd());
  }
  return SandboxControl::read_wait_status(wait.get());
}

std::optional<int> exec_through_control(const Runsc& runsc, const std::string& name, const SandboxProcess& s,
                                        const std::string& pid_file) {
  std::optional<SandboxControl> sandbox = SandboxControl::find(runsc.config.root, name);
  if (!sandbox) return std::nullopt;
  StdioRelay relay = StdioRelay::for_regular_files();
  std::array<int, 3> stdio = {0, 1, 2};
  for (int fd = 0; fd < 3; ++fd) {
    if (relay.child_fds()[fd] >= 0) stdio[fd] = relay.child_fds()[fd];
  }
  ForwardedSignals signals;  // before the process exists: no signal of ours is lost
  std::optional<pid_t> pid = sandbox->execute(s, stdio);
  if (!pid) return std::nullopt;
  relay.started();
  if (!pid_file.empty()) sys::replace_file(pid_file, std::to_string(::getpid()), "write --pid-file", 0644);
  return init::exit_code_from_wait_status(wait_forwarding(*sandbox, *pid, signals, relay));
}

// `runsc exec` for what the control call does not cover: the process as an OCI process,
// read from a memfd we pass on (no file to remove). This runsc reads its args, env, cwd,
// user, capabilities and terminal (not rlimits nor noNewPrivileges: the sandbox's own apply).
std::vector<std::string> runsc_exec_args(const Runsc& runsc, const std::string& name, const SandboxProcess& s,
                                         const ProcessSpec& p, const ExecOptions& o, bool filtered, UniqueFd& memfd) {
  json process = {{"terminal", p.terminal}, {"args", s.argv}, {"env", s.env}, {"cwd", s.cwd},
                  {"user", oci_user(s.uid, s.gid, s.additional_gids)},
                  // seccomp(2) needs it (the container's own process has it too)
                  {"noNewPrivileges", p.no_new_privileges || filtered},
                  {"capabilities", oci_capabilities(s.capabilities)}};
  memfd.reset(static_cast<int>(::syscall(SYS_memfd_create, "nucleus-exec-process", 0)));
  if (!memfd) throw_errno("create the exec process file");
  const std::string text = process.dump();
  if (int err = sys::write_all(memfd.get(), text.data(), text.size())) throw Error("write the exec process", "", err);
  std::vector<std::string> args = runsc.args({"exec", "--process", "/proc/self/fd/" + std::to_string(memfd.get())});
  if (o.detach) args.push_back("--detach");
  if (!o.pid_file.empty()) args.insert(args.end(), {"--pid-file", o.pid_file});
  if (!o.console_socket.empty()) args.insert(args.end(), {"--console-socket", o.console_socket});
  args.push_back(name);
  return args;
}

}  // namespace

int GvisorBackend::exec(const ContainerRecord& record, const std::string& dir, const ContainerSpec&, const ProcessSpec& p,
                       const ExecOptions& o) {
  // The record's status, not `runsc state` (one more runsc process per exec): the sandbox
  // itself refuses an exec once it is gone.
  if (record.status != "running") throw Error(record.name, "cannot exec in a container that is " + record.status);
  if (o.preserve_fds > 0) throw Error("--preserve-fds", "runsc cannot pass extra file descriptors to a gVisor container");
  Runsc runsc(dir, record.data);
  bool filtered = false;
  SandboxProcess s = sandbox_process(dir, p, &filtered);
  if (!p.terminal && !o.detach && o.console_socket.empty()) {
    if (std::optional<int> code = exec_through_control(runsc, record.name, s, o.pid_file)) return *code;
  }
  // nucleus becomes runsc exec: nothing of ours to wait for, and with a terminal runsc
  // forwards the caller's signals. Detached, it keeps the caller's files as they are (a
  // relay would leave the process writing into a pipe nobody reads).
  UniqueFd memfd;
  exec_runsc(runsc.binary, runsc_exec_args(runsc, record.name, s, p, o, filtered, memfd));
}

}  // namespace nucleus::gvisor
