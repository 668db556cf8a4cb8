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
  sys::replace_file(path, std::to_string(pid), "write --pid-file", 0644);
}

CgroupRequest cgroup_request(const ContainerSpec& spec, const std::string& id, bool held) {
  CgroupRequest request;
  request.limits = spec.limits;
  if (spec.cgroups_path.empty()) {
    request.name = held ? new_cgroup_name() : "nucleus-oci-" + id;
    request.parent = spec.cgroup_parent;
    return request;
  }
  request.remove_made_parents = false;  // a config's slices stay, as runc leaves them
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
