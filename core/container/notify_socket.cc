#include "core/container/notify_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/sys/error.h"

namespace nucleus {
namespace {

constexpr const char* kWhat = "NOTIFY_SOCKET";
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
constexpr std::array<std::string_view, 2> kAllowedDirs = {"/run/", "/var/run/"};
constexpr std::array<std::string_view, 4> kForwardedKeys = {"READY=1", "STATUS=", "RELOADING=1",
                                                            "STOPPING=1"};

bool has_dotdot(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (path.substr(start, slash - start) == "..") return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

bool under_allowed_dir(std::string_view path) {
  for (std::string_view dir : kAllowedDirs) {
    if (path.substr(0, dir.size()) == dir && path.size() > dir.size()) return true;
  }
  return false;
}

socklen_t make_address(const NotifyAddress& addr, sockaddr_un* out) {
  std::memset(out, 0, sizeof *out);
  out->sun_family = AF_UNIX;
  size_t offset = addr.abstract ? 1 : 0;  // abstract names start with a NUL byte
  std::memcpy(out->sun_path + offset, addr.path.data(), addr.path.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + offset + addr.path.size() +
                                (addr.abstract ? 0 : 1));
}

}  // namespace

NotifyAddress validate_notify_socket(std::string_view value) {
  if (value.empty()) throw Error(kWhat, "is empty");
  if (value.find('\0') != std::string_view::npos) throw Error(kWhat, "contains a NUL byte");
  NotifyAddress addr;
  if (value[0] == '@') {
    addr.abstract = true;
    addr.path = std::string(value.substr(1));
    if (addr.path.empty()) throw Error(kWhat, "abstract socket name is empty");
    if (addr.path.size() > kMaxSocketPath) throw Error(kWhat, "abstract socket name is too long");
    return addr;
  }
  std::string shown = "'" + std::string(value) + "'";
  if (value[0] != '/') throw Error(kWhat, shown + " is neither an absolute path nor @abstract");
  if (has_dotdot(value)) throw Error(kWhat, shown + " contains '..'");
  if (value.size() > kMaxSocketPath) throw Error(kWhat, shown + " is too long for a socket");
  char resolved[PATH_MAX];
  if (::realpath(std::string(value).c_str(), resolved) == nullptr) {
    throw Error(kWhat, shown, errno);
  }
  if (!under_allowed_dir(resolved)) {
    throw Error(kWhat, shown + " resolves to " + resolved + ", outside /run and /var/run");
  }
  struct stat st;
  if (::stat(resolved, &st) != 0) throw Error(kWhat, shown, errno);
  if (!S_ISSOCK(st.st_mode)) throw Error(kWhat, shown + " is not a socket");
  addr.path = resolved;
  return addr;
}

std::string filter_notify_message(std::string_view datagram) {
  std::string out;
  while (!datagram.empty()) {
    size_t nl = datagram.find('\n');
    std::string_view line = datagram.substr(0, nl);
    for (std::string_view key : kForwardedKeys) {
      bool prefix_key = key.back() == '=';
      bool match = prefix_key ? line.substr(0, key.size()) == key : line == key;
      if (match && line.find('\0') == std::string_view::npos) {
        out.append(line).push_back('\n');
        break;
      }
    }
    if (nl == std::string_view::npos) break;
    datagram.remove_prefix(nl + 1);
  }
  return out;
}

NotifyProxy::NotifyProxy(NotifyAddress target, const std::string& dir)
    : target_(std::move(target)), socket_path_(dir + "/notify.sock") {
  socket_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket_) throw_errno("create the notify proxy socket");
  NotifyAddress local{false, socket_path_};
  if (socket_path_.size() > kMaxSocketPath) throw Error("notify proxy", socket_path_ + " too long");
  sockaddr_un sa;
  socklen_t len = make_address(local, &sa);
  if (::bind(socket_.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    throw_errno("bind the notify proxy socket", socket_path_);
  }
  // The container's root is an unprivileged uid on the host: it must be able to send.
  if (::chmod(socket_path_.c_str(), 0666) != 0) throw_errno("chmod", socket_path_);
}

bool NotifyProxy::relay_one(pid_t main_pid) {
  char buf[4096];
  ssize_t n = ::recv(socket_.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return false;
  std::string message = filter_notify_message(std::string_view(buf, static_cast<size_t>(n)));
  if (message.empty()) return false;
  if (message.find("READY=1\n") != std::string::npos) {
    message += "MAINPID=" + std::to_string(main_pid) + "\n";
  }
  UniqueFd out(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!out) return false;
  sockaddr_un sa;
  socklen_t len = make_address(target_, &sa);
  return ::sendto(out.get(), message.data(), message.size(), MSG_NOSIGNAL,
                  reinterpret_cast<sockaddr*>(&sa), len) >= 0;
}

}  // namespace nucleus
