#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/network_spec.h"

// Which names the DNS forwarder answers, and on which ports their addresses are then
// allowed: the name and wildcard rules of the egress list, in two hash tables, so a lookup
// costs one probe per label of the name whatever the number of rules.
namespace nucleus::net::dns {

struct NameGrant {
  bool any_port = false;
  std::vector<uint16_t> ports;  // when !any_port
  void merge(const NameGrant& other);
};

class NamePolicy {
 public:
  // open: no egress policy, every name is answered and nothing is granted.
  static NamePolicy open() { return NamePolicy(); }
  explicit NamePolicy(const std::vector<EgressRule>& rules);

  bool is_open() const { return open_; }
  // The grant for a normalized name (network_spec.h normalize_dns_name), or nullopt when
  // the name is not allowed. "*.example.com" grants strict subdomains only.
  std::optional<NameGrant> lookup(std::string_view name) const;

 private:
  NamePolicy() : open_(true) {}
  bool open_ = false;
  std::unordered_map<std::string, NameGrant> exact_;
  std::unordered_map<std::string, NameGrant> suffixes_;
};

}  // namespace nucleus::net::dns
