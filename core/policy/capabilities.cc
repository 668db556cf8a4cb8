#include "core/policy/capabilities.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/sys/error.h"

namespace nucleus {
namespace {

// Index = capability number (linux/capability.h).
constexpr std::array<std::string_view, 41> kNames = {
    "CHOWN",           "DAC_OVERRIDE",  "DAC_READ_SEARCH", "FOWNER",         "FSETID",
    "KILL",            "SETGID",        "SETUID",          "SETPCAP",        "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",      "NET_RAW",        "IPC_LOCK",
    "IPC_OWNER",       "SYS_MODULE",    "SYS_RAWIO",       "SYS_CHROOT",     "SYS_PTRACE",
    "SYS_PACCT",       "SYS_ADMIN",     "SYS_BOOT",        "SYS_NICE",       "SYS_RESOURCE",
    "SYS_TIME",        "SYS_TTY_CONFIG", "MKNOD",          "LEASE",          "AUDIT_WRITE",
    "AUDIT_CONTROL",   "SETFCAP",       "MAC_OVERRIDE",    "MAC_ADMIN",      "SYSLOG",
    "WAKE_ALARM",      "BLOCK_SUSPEND", "AUDIT_READ",      "PERFMON",        "BPF",
    "CHECKPOINT_RESTORE",
};

CapSet parse_list(const std::vector<std::string>& names, const char* flag) {
  CapSet set = 0;
  for (const std::string& name : names) {
    std::string upper;
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "ALL") {
      set |= all_capabilities();
      continue;
    }
    auto cap = capability_from_name(name);
    if (!cap) throw Error(flag, "unknown capability '" + name + "'");
    set |= CapSet{1} << *cap;
  }
  return set;
}

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view bare = upper;
  if (bare.substr(0, 4) == "CAP_") bare.remove_prefix(4);
  auto it = std::find(kNames.begin(), kNames.end(), bare);
  if (it == kNames.end()) return std::nullopt;
  return static_cast<int>(it - kNames.begin());
}

std::string_view capability_name(int cap) {
  if (cap < 0 || static_cast<size_t>(cap) >= kNames.size()) return "?";
  return kNames[static_cast<size_t>(cap)];
}

std::vector<std::string> capability_names(CapSet set, bool with_prefix) {
  std::vector<std::string> out;
  for (size_t cap = 0; cap < kNames.size(); ++cap) {
    if (has_cap(set, static_cast<int>(cap))) out.push_back((with_prefix ? "CAP_" : "") + std::string(kNames[cap]));
  }
  return out;
}

CapSet all_capabilities() { return (CapSet{1} << kNames.size()) - 1; }

CapSet resolve_capabilities(std::span<const std::string_view> preset_root_caps, bool uid_is_root,
                            const std::vector<std::string>& add, const std::vector<std::string>& drop) {
  CapSet set = 0;
  if (uid_is_root) {
    for (std::string_view name : preset_root_caps) set |= CapSet{1} << *capability_from_name(name);
  }
  // Docker's order: drops first (ALL empties the set), then adds.
  set &= ~parse_list(drop, "--cap-drop");
  set |= parse_list(add, "--cap-add");
  return set;
}

}  // namespace nucleus
