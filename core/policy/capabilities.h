#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Capability names and sets, shared by both backends (native applies them, the gVisor
// bundle lists them by name).
namespace nucleus {

using CapSet = uint64_t;  // bit N = capability N

// "NET_RAW", "CAP_NET_RAW" or "net_raw" -> 13; nullopt when unknown.
std::optional<int> capability_from_name(std::string_view name);
// 13 -> "NET_RAW".
std::string_view capability_name(int cap);
// "CAP_CHOWN", ... for every bit set, in number order.
std::vector<std::string> capability_names(CapSet set, bool with_prefix = true);
// Every capability this table knows (0 .. CAP_CHECKPOINT_RESTORE).
CapSet all_capabilities();

inline bool has_cap(CapSet set, int cap) { return (set >> cap) & 1; }

// The preset's set for the workload's uid (the preset's root set for uid 0, none otherwise),
// then --cap-drop (ALL empties it), then --cap-add (Docker's order; ALL allowed in both). Throws Error naming an unknown cap.
CapSet resolve_capabilities(std::span<const std::string_view> preset_root_caps, bool uid_is_root,
                            const std::vector<std::string>& add, const std::vector<std::string>& drop);

}  // namespace nucleus
