#pragma once

#include <functional>
#include <optional>
#include <utility>
#include <string>
#include <vector>

// The host read-only view (contract: "Host read-only view"), as data both backends turn into
// mounts: native into MountOps, gVisor into OCI bind mounts over a skeleton directory.
namespace nucleus {

// What the parent sees at a host path (lstat, readlink, realpath), behind a seam so plans
// are unit-tested without touching the host.
struct HostEntry {
  enum Type { kDirectory, kFile, kSymlink, kOther } type = kOther;
  std::string link;      // kSymlink: the link text
  std::string resolved;  // kSymlink: realpath of the target ("" when dangling)
};
using HostProbe = std::function<std::optional<HostEntry>(const std::string& path)>;
std::optional<HostEntry> probe_host(const std::string& path);

struct HostViewItem {
  enum Kind { kBindDirectory, kBindFile, kSymlink } kind;
  std::string target;  // relative to the container's root: "usr", "etc/passwd"
  std::string source;  // host path to bind, or the symlink's text
};

// The view's entries that exist on this host: /usr and its merged siblings, the curated /etc
// (plus resolv.conf when the container shares the host's network).
std::vector<HostViewItem> host_view_items(bool host_network, const HostProbe& probe);

// What a bind of the host's `path` binds: the path itself, or a link's target (realpath),
// when that is a regular file or a directory; nullopt when absent or dangling.
std::optional<std::pair<std::string, HostEntry::Type>> bindable_source(const std::string& path, const HostProbe& probe);

}  // namespace nucleus
