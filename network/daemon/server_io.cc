#include "network/daemon/server_io.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::net {

UniqueFd listen_at(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw Error("listen at " + path, "path too long for a unix socket");
  path.copy(address.sun_path, path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw_errno("listen at " + path);
  ::unlink(path.c_str());  // a dead server's: we hold the lock
  mode_t old = ::umask(0077);  // root only (the state directory is 0700 as well)
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::umask(old);
  if (rc != 0) throw_errno("listen at " + path);
  if (::listen(fd.get(), 64) != 0) throw_errno("listen at " + path);
  return fd;
}

void warm_up_name_services() {
  for (const char* proto : {"tcp", "udp", "ipv6-icmp", "icmp"}) ::getprotobyname(proto);
  ::endprotoent();
}

std::optional<AttachOrder> peek_order(int fd) {
  std::string text;
  char buffer[65536];
  ssize_t n;
  for (off_t at = 0; (n = ::pread(fd, buffer, sizeof buffer, at)) > 0; at += n) text.append(buffer, static_cast<size_t>(n));
  try {
    return order_from_json(text);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<std::vector<UniqueFd>> receive_ready(int socket) {
  char word[16];
  int fds[kMaxPreparedFds];
  size_t count = 0;
  ssize_t n = sys::recv_with_fds(socket, word, sizeof word, fds, kMaxPreparedFds, &count);
  std::vector<UniqueFd> got;
  for (size_t i = 0; i < count; ++i) got.emplace_back(fds[i]);
  if (n != static_cast<ssize_t>(kStandbyReady.size()) || kStandbyReady != std::string_view(word, static_cast<size_t>(n)) ||
      (count != 1 && count != kMaxPreparedFds)) {
    return std::nullopt;
  }
  return got;
}

}  // namespace nucleus::net
