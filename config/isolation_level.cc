#include "config/isolation_level.h"

#include <array>
#include <utility>

namespace nucleus {
namespace {

template <typename E, size_t N>
std::optional<E> lookup(const std::array<std::pair<E, std::string_view>, N>& table,
                        std::string_view text) {
  for (const auto& [value, name] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}

constexpr std::array<std::pair<IsolationLevel, std::string_view>, 3> kLevels = {{
    {IsolationLevel::kTrusted, "trusted"},
    {IsolationLevel::kStandard, "standard"},
    {IsolationLevel::kUntrusted, "untrusted"},
}};
constexpr std::array<std::pair<BackendKind, std::string_view>, 2> kBackends = {{
    {BackendKind::kNative, "native"},
    {BackendKind::kGvisor, "gvisor"},
}};
constexpr std::array<std::pair<NetworkMode, std::string_view>, 4> kNetworks = {{
    {NetworkMode::kNone, "none"},
    {NetworkMode::kHost, "host"},
    {NetworkMode::kBridge, "bridge"},
    {NetworkMode::kPasta, "pasta"},
}};

constexpr std::array<std::pair<GvisorPlatform, std::string_view>, 4> kPlatforms = {{
    {GvisorPlatform::kAuto, "auto"},
    {GvisorPlatform::kPtrace, "ptrace"},
    {GvisorPlatform::kSystrap, "systrap"},
    {GvisorPlatform::kKvm, "kvm"},
}};

}  // namespace

std::optional<GvisorPlatform> parse_gvisor_platform(std::string_view text) { return lookup(kPlatforms, text); }
std::string_view to_string(GvisorPlatform platform) { return name_of(kPlatforms, platform); }

std::optional<IsolationLevel> parse_isolation_level(std::string_view text) {
  return lookup(kLevels, text);
}
std::optional<BackendKind> parse_backend(std::string_view text) { return lookup(kBackends, text); }
std::optional<NetworkMode> parse_network(std::string_view text) { return lookup(kNetworks, text); }

std::string_view to_string(IsolationLevel level) { return name_of(kLevels, level); }
std::string_view to_string(BackendKind backend) { return name_of(kBackends, backend); }
std::string_view to_string(NetworkMode network) { return name_of(kNetworks, network); }

}  // namespace nucleus
