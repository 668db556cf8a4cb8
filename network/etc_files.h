#pragma once

#include <string>
#include <vector>

#include "config/ip_address.h"
#include "config/network_spec.h"

// The files a bridge container sees at /etc/resolv.conf, /etc/hosts and /etc/hostname:
// generated from its lease, written into a directory the caller then binds read-only
// (docs/networking.md, "What the container sees").
namespace nucleus::net {

struct EtcFiles {
  std::string resolv_conf;
  std::string hosts;
  std::string hostname;
};

// nameserver: the address the container's DNS goes to (the bridge's gateway, where the
// redirect to its own forwarder applies). extra_hosts (--add-host) follow the container's
// own lines, in their order; host-gateway is gateway.
EtcFiles make_etc_files(const std::string& hostname, const IpAddress& address4, const IpAddress& address6,
                        const IpAddress& nameserver, const std::vector<ExtraHost>& extra_hosts = {},
                        const IpAddress& gateway = {});

// Writes dir/resolv.conf, dir/hosts and dir/hostname (mode 0644), replacing each atomically.
void write_etc_files(const std::string& dir, const EtcFiles& files);

}  // namespace nucleus::net
