#pragma once

#include <optional>
#include <string_view>

// The small enums of the contract, with their one spelling each.
namespace nucleus {

enum class IsolationLevel { kTrusted, kStandard, kUntrusted };
enum class BackendKind { kNative, kGvisor };
// kPasta: user-mode networking (pasta) for callers without root; `bridge` asked by one
// becomes it (podman's rootless default), `pasta` asks for it explicitly.
enum class NetworkMode { kNone, kHost, kBridge, kPasta };
enum class GvisorPlatform { kAuto, kPtrace, kSystrap, kKvm };

std::optional<IsolationLevel> parse_isolation_level(std::string_view text);
std::optional<BackendKind> parse_backend(std::string_view text);
std::optional<NetworkMode> parse_network(std::string_view text);
std::optional<GvisorPlatform> parse_gvisor_platform(std::string_view text);

std::string_view to_string(IsolationLevel level);
std::string_view to_string(BackendKind backend);
std::string_view to_string(NetworkMode network);
std::string_view to_string(GvisorPlatform platform);

}  // namespace nucleus
