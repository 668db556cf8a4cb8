#pragma once

#include <optional>
#include <string>
#include <vector>

// Finding runsc, and what it can do. Only fixed, trusted places are searched (never $PATH,
// never the current directory), and a binary that someone other than root could replace
// is refused: nucleus would run it as root (security-bar B19).
namespace nucleus::gvisor {

// The first runsc among /usr/bin, /usr/sbin, /usr/local/bin. Throws Error naming the
// problem when there is none or it cannot be trusted.
std::string locate_runsc();

// Why a runsc (or the directory holding it) cannot be trusted, or nullopt.
std::optional<std::string> untrusted_reason(const std::string& path);

struct RunscInfo {
  std::string version;                 // "0.0~20221219.0"
  std::vector<std::string> platforms;  // what this runsc offers: "ptrace", "kvm", "systrap"
};

// Asks runsc once per binary (inode, size, mtime) and remembers the answer under
// /var/cache/nucleus/gvisor (core/sys/private_dir.h: a cache someone else could have
// written is not read), so a start does not pay for extra runsc processes.
RunscInfo runsc_info(const std::string& runsc);
// A cache entry's text, or nullopt when it is not one nucleus writes.
std::optional<RunscInfo> parse_runsc_info(const std::string& text);

// Parses `runsc flags` output for the platforms its -platform help names.
std::vector<std::string> parse_platforms(const std::string& flags_help);

}  // namespace nucleus::gvisor
