#include "config/oci/oci_hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"

namespace nucleus {

void run_hooks(const std::vector<HookSpec>& hooks, const char* phase, const std::string& state_json, bool fatal) {
  for (const HookSpec& hook : hooks) {
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
    if (pid < 0) throw_errno("run a hook", "fork");
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::execve(hook.path.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(in[0]);
    (void)sys::write_all(in[1], state_json.data(), state_json.size());
    ::close(in[1]);
    UniqueFd pidfd(sys::raw_pidfd_open(pid));
    pollfd p = {pidfd.get(), POLLIN, 0};
    int timeout_ms = hook.timeout_seconds ? *hook.timeout_seconds * 1000 : -1;
    bool timed_out = pidfd && ::poll(&p, 1, timeout_ms) == 0;
    if (timed_out) ::kill(pid, SIGKILL);  // our own child
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string problem;
    if (timed_out) problem = "did not finish within " + std::to_string(*hook.timeout_seconds) + "s";
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) problem = "failed (status " + std::to_string(status) + ")";
    if (problem.empty()) continue;
    if (fatal) throw Error(std::string(phase) + " hook " + hook.path, problem);
    spdlog::warn("{} hook {} {}", phase, hook.path, problem);
  }
}

}  // namespace nucleus
