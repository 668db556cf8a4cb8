#include "config/container_spec.h"

#include <algorithm>

#include "core/policy/env_filter.h"

namespace nucleus {

const char* to_string(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid: return "pid";
    case NamespaceType::kNetwork: return "network";
    case NamespaceType::kMount: return "mount";
    case NamespaceType::kIpc: return "ipc";
    case NamespaceType::kUts: return "uts";
    case NamespaceType::kUser: return "user";
    case NamespaceType::kCgroup: return "cgroup";
  }
  return "?";
}

std::optional<uint32_t> host_id(const std::vector<IdMapping>& map, uint32_t inside) {
  for (const IdMapping& m : map) {
    if (inside >= m.inside && inside - m.inside < m.count) return m.outside + (inside - m.inside);
  }
  return std::nullopt;
}

std::string ProcessSpec::env_value(std::string_view key) const {
  for (const std::string& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') return e.substr(key.size() + 1);
  }
  return {};
}

std::string ProcessSpec::search_path() const {
  for (const std::string& e : env) {
    if (e.rfind("PATH=", 0) == 0) return e.substr(5);
  }
  return std::string(kDefaultPath);
}

bool MountSpec::read_only() const {
  bool ro = false;
  for (const std::string& o : options) {
    if (o == "ro") ro = true;
    if (o == "rw") ro = false;
  }
  return ro;
}

}  // namespace nucleus
