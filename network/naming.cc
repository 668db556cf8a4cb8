#include "network/naming.h"

#include <cstdint>
#include <cstdio>

namespace nucleus::net {

std::optional<std::string> check_network_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return "a container id has 1-128 characters";
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-';
    if (!ok) return "a container id has only letters, digits, '_', '.' and '-'";
  }
  if (id == "." || id == "..") return "a container id is not '.' or '..'";
  return std::nullopt;
}

std::string network_key(std::string_view id) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : id) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%012llx", static_cast<unsigned long long>(hash & 0xffffffffffffull));
  return text;
}

ContainerNames container_names(std::string_view id) { return names_for_key(network_key(id)); }

ContainerNames names_for_key(std::string key) {
  ContainerNames n;
  n.key = std::move(key);
  n.host_veth = "nv" + n.key;
  n.chain_out = n.set("out");
  n.chain_in = n.set("in");
  n.chain_inbound = n.set("inbound");
  n.chain_dns = n.set("dns");
  n.chain_publish = n.set("publish");
  return n;
}

}  // namespace nucleus::net
