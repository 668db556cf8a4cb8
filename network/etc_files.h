#pragma once

#include <string>
#include <vector>

#include "config/ip_address.h"
#include "config/network_spec.h"

// The files a bridge container sees at /etc/resolv.conf, /etc/hosts and /etc/hostname:
// generated from its lease, written into a directory the caller then binds read-only
// (docs/networking.md, "What the container sees").
namespace nucleus::net {

// The files, in the order they are written, passed (a standby's, network/protocol.h) and
// attached over the root's (backends/native/plan/rootfs.h).
inline constexpr const char* kEtcFileNames[] = {"resolv.conf", "hosts", "hostname"};

struct EtcFiles {
  std::string resolv_conf;
  std::string hosts;
  std::string hostname;
};

// nameserver: the address the container's DNS goes to (the bridge's gateway, where the
// redirect to its own forwarder applies). extra_hosts (--add-host) come after localhost and
// before the container's own lines, in their order, so that they win a lookup as Docker's
// do; host-gateway is both gateways.
struct Gateways {
  IpAddress v4, v6;
};
EtcFiles make_etc_files(const std::string& hostname, const IpAddress& address4, const IpAddress& address6,
                        const IpAddress& nameserver, const std::vector<ExtraHost>& extra_hosts = {},
                        const Gateways& gateways = {});

// Writes dir/resolv.conf, dir/hosts and dir/hostname (mode 0644), replacing each atomically.
void write_etc_files(const std::string& dir, const EtcFiles& files);

}  // namespace nucleus::net
