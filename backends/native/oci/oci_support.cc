#include "backends/native/oci/oci_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::native {

void send_to_console_socket(const std::string& path, int fd) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("--console-socket", "'" + path + "' is too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("--console-socket", "socket");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("--console-socket", path);
  const char name[] = "/dev/ptmx";
  if (int err = sys::send_with_fd(sock.get(), name, sizeof name - 1, fd)) {
    throw Error("--console-socket", "send the terminal to " + path, err);
  }
}

void write_pid_file(const std::string& path, pid_t pid) {
  std::string tmp = path + ".nucleus-tmp";
  sys::create_file(tmp, std::to_string(pid), 0644, "write --pid-file");
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw_errno("write --pid-file", path);
  }
}

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

CgroupRequest cgroup_request(const ContainerSpec& spec, const std::string& id, bool held) {
  CgroupRequest request;
  request.limits = spec.limits;
  if (spec.cgroups_path.empty()) {
    request.name = held ? new_cgroup_name() : "nucleus-oci-" + id;
    request.parent = spec.cgroup_parent;
    return request;
  }
  std::string path = spec.cgroups_path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.find_last_of('/');
  request.name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (slash != std::string::npos) request.parent = slash == 0 ? "/" : path.substr(0, slash);
  if (request.name.empty() || request.name == "." || request.name == "..") {
    throw Error("config.json: linux.cgroupsPath", "'" + spec.cgroups_path + "' names no cgroup");
  }
  return request;
}

bool container_init_alive(const ContainerRecord& r) {
  auto st = sys::process_stat(r.pid);
  return r.pid > 0 && st && st->start_time == r.pid_start_time && st->state != 'Z';
}

UniqueFd container_init_pidfd(const ContainerRecord& r) {
  if (r.pid <= 0) return UniqueFd();
  UniqueFd fd(sys::raw_pidfd_open(r.pid));
  if (!fd || !container_init_alive(r)) return UniqueFd();
  return fd;
}

}  // namespace nucleus::native
