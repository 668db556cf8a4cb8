#pragma once

#include <string>

// What networking this host supports, for `nucleus check` (frontend/cmd_check.cc).
namespace nucleus::net {

struct NetworkSupport {
  std::string helper;  // nucleus-netd next to nucleus, or empty
  bool netfilter = false;  // the kernel answers netfilter netlink (nftables)
  bool bridge = false;     // bridges can be made (the bridge module is loaded or loadable)
  std::string pasta;       // pasta's path for non-root callers, or empty
  bool root = false;
};
NetworkSupport probe_network_support();
// One line: "none, host; bridge: ...; user-mode: ..."
std::string describe(const NetworkSupport& support);

}  // namespace nucleus::net
