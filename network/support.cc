#include "network/support.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/sys/unique_fd.h"

namespace nucleus::net {
namespace {

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string next_to_self(const std::string& name) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string dir(self, static_cast<size_t>(n));
  std::string path = dir.substr(0, dir.rfind('/')) + "/" + name;
  return executable(path) ? path : "";
}

bool module_available(const std::string& name) {
  if (::access(("/sys/module/" + name).c_str(), F_OK) == 0) return true;
  utsname u{};
  ::uname(&u);
  std::string dir = std::string("/lib/modules/") + u.release + "/kernel/net/" + name;
  return ::access(dir.c_str(), F_OK) == 0;
}

}  // namespace

NetworkSupport probe_network_support() {
  NetworkSupport s;
  s.helper = next_to_self("nucleus-netd");
  UniqueFd nf(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  s.netfilter = static_cast<bool>(nf);
  s.bridge = module_available("bridge");
  for (const char* p : {"/usr/bin/pasta", "/usr/local/bin/pasta"}) {
    if (executable(p)) {
      s.pasta = p;
      break;
    }
  }
  s.root = ::geteuid() == 0;
  return s;
}

std::string describe(const NetworkSupport& s) {
  std::string bridge;
  if (s.helper.empty()) {
    bridge = "no (nucleus-netd is missing next to nucleus)";
  } else if (!s.netfilter) {
    bridge = "no (the kernel has no netfilter netlink)";
  } else if (!s.bridge) {
    bridge = "no (no bridge module)";
  } else {
    bridge = std::string(s.root ? "yes" : "root only") + " (" + s.helper + ")";
  }
  std::string user = s.pasta.empty() ? "no (pasta is not installed)" : "pasta at " + s.pasta + ", without egress rules";
  return "none, host; bridge: " + bridge + "; non-root: " + user;
}

}  // namespace nucleus::net
