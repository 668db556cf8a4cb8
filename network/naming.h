#pragma once

#include <optional>
#include <string>
#include <string_view>

// What nucleus names after a container on the host: one short key derived from the
// container id names its host-side veth, its nftables chains and sets, and its lease, so
// that a cleanup knowing only the id finds all of them (docs/networking.md, "Names").
namespace nucleus::net {

// The problem with an id, or nullopt: 1-128 characters of [A-Za-z0-9_.-].
std::optional<std::string> check_network_id(std::string_view id);

// 12 hex digits of the id's FNV-1a hash: "k" + key is at most 13 characters, so "nv" + key
// fits IFNAMSIZ and nft's identifier syntax.
std::string network_key(std::string_view id);

struct ContainerNames {
  std::string key;
  std::string host_veth;  // "nv<key>", on the bridge
  std::string chain_out;  // what the container sends through the host (forward)
  std::string chain_in;   // what it sends to the host itself (input)
  std::string chain_inbound;  // what reaches it through the host (forward)
  std::string chain_dns;  // its DNS redirected to its forwarder (nat prerouting)
  std::string chain_publish;  // its published ports (nat prerouting/output)
  std::string set(std::string_view suffix) const { return "c_" + key + "_" + std::string(suffix); }
};
ContainerNames container_names(std::string_view id);
// The names under a key already derived: a lease's (network/ipam/lease_store.h), whose key is
// its first holder's, a prepared namespace's, when the container took one over.
ContainerNames names_for_key(std::string key);

inline constexpr std::string_view kContainerInterface = "eth0";
inline constexpr std::string_view kTable = "nucleus";  // inet and bridge tables of that name

}  // namespace nucleus::net
