#include "network/dns/name_policy.h"

#include <algorithm>

namespace nucleus::net::dns {

void NameGrant::merge(const NameGrant& other) {
  any_port = any_port || other.any_port;
  for (uint16_t p : other.ports) {
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  if (any_port) ports.clear();
}

NamePolicy::NamePolicy(const std::vector<EgressRule>& rules) {
  for (const EgressRule& rule : rules) {
    if (rule.kind == EgressRule::Kind::kCidr) continue;
    NameGrant grant{!rule.port.has_value(), {}};
    if (rule.port) grant.ports.push_back(*rule.port);
    auto& table = rule.kind == EgressRule::Kind::kName ? exact_ : suffixes_;
    table[rule.name].merge(grant);
  }
}

std::optional<NameGrant> NamePolicy::lookup(std::string_view name) const {
  if (open_) return NameGrant{};
  std::optional<NameGrant> grant;
  auto add = [&grant](const NameGrant& g) {
    if (!grant) grant = NameGrant{};
    grant->merge(g);
  };
  if (auto it = exact_.find(std::string(name)); it != exact_.end()) add(it->second);
  for (size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1)) {
    if (auto it = suffixes_.find(std::string(name.substr(dot + 1))); it != suffixes_.end()) add(it->second);
  }
  return grant;
}

}  // namespace nucleus::net::dns
