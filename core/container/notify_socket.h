#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/sys/unique_fd.h"

// sd_notify support shared by both backends. The caller's NOTIFY_SOCKET is validated before
// anything is created; the workload never sees it. Instead nucleus binds a proxy socket of
// its own, gives the workload that, and forwards only READY=1, STATUS=, RELOADING=1 and
// STOPPING=1, adding MAINPID itself (runc notify_socket.go): a workload can never claim
// another process as the service's main pid.
namespace nucleus {

struct NotifyAddress {
  bool abstract = false;
  std::string path;  // filesystem path, or the abstract name without its '@'
};

// Accepts "@name" (abstract) or a path to an existing socket that canonicalises under /run
// or /var/run. Refuses NUL, "..", relative paths, over-long names, other places and
// non-sockets. Throws Error("NOTIFY_SOCKET", ...).
NotifyAddress validate_notify_socket(std::string_view value);

// Keeps the lines of one sd_notify datagram that the proxy forwards, in order.
std::string filter_notify_message(std::string_view datagram);

class NotifyProxy {
 public:
  // Binds <dir>/notify.sock (dir must exist and be private to this container).
  NotifyProxy(NotifyAddress target, const std::string& dir);

  int fd() const noexcept { return socket_.get(); }
  const std::string& socket_path() const noexcept { return socket_path_; }

  // Reads one datagram and forwards what may pass, with MAINPID=main_pid when READY=1 is
  // among it. Returns false when nothing was forwarded.
  bool relay_one(pid_t main_pid);

 private:
  NotifyAddress target_;
  std::string socket_path_;
  UniqueFd socket_;
};

}  // namespace nucleus
