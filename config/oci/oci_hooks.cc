#include "config/oci/oci_hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/init/signals.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"

namespace nucleus {
namespace {

// The hook, started with the state on stdin; its own child, so only it is killed.
pid_t start_hook(const HookSpec& hook, const std::string& state_json) {
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw_errno("run a hook", "pipe");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw_errno("run a hook", "fork");
  }
  if (pid == 0) {
    // Its own process group, so that a timeout kills what the hook started too (a shell's
    // `sleep` would otherwise outlive it, holding the caller's stdout open).
    ::setpgid(0, 0);
    // Not nucleus's mask: `run` blocks the signals it forwards, and a hook (or a daemon it
    // starts) that inherited it could not be stopped with SIGTERM. Dispositions stay (an
    // ignored SIGHUP of nohup's is the caller's choice, as runc leaves it).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in[0], 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // both sides, so that no kill can come before the group exists
  ::close(in[0]);
  // A hook that does not read its stdin is no reason for nucleus to die of SIGPIPE; the hook
  // itself was forked before this, with nucleus's own disposition.
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  (void)sys::write_all(in[1], state_json.data(), state_json.size());
  ::sigaction(SIGPIPE, &old, nullptr);
  ::close(in[1]);
  return pid;
}

}  // namespace

std::string describe_hook_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = init::signal_name(WTERMSIG(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

void run_hooks(const std::vector<HookSpec>& hooks, const char* phase, const std::string& state_json, bool fatal) {
  for (const HookSpec& hook : hooks) {
    pid_t pid = start_hook(hook, state_json);
    UniqueFd pidfd(sys::raw_pidfd_open(pid));
    pollfd p = {pidfd.get(), POLLIN, 0};
    int timeout_ms = hook.timeout_seconds ? *hook.timeout_seconds * 1000 : -1;
    bool timed_out = false;
    for (int ready; pidfd && (ready = ::poll(&p, 1, timeout_ms)) <= 0;) {
      if (ready == 0) {
        timed_out = true;
        break;
      }
      if (errno != EINTR) break;
    }
    if (timed_out) ::kill(-pid, SIGKILL);  // our own child's group
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string problem;
    if (timed_out) {
      problem = "did not finish within " + std::to_string(*hook.timeout_seconds) + "s (killed)";
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      problem = "failed: it " + describe_hook_status(status);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127) problem += " (not found or not executable?)";
    }
    if (problem.empty()) continue;
    if (fatal) throw Error(std::string(phase) + " hook " + hook.path, problem);
    spdlog::warn("{} hook {} {}", phase, hook.path, problem);
  }
}

}  // namespace nucleus
