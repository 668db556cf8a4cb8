#include "core/cgroup/self_cgroup.h"

#include <sstream>

#include "core/sys/sys.h"

namespace nucleus {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// mountinfo escapes spaces and the like as \040.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

constexpr std::string_view kKnownControllers[] = {"memory", "pids", "cpu", "cpuacct", "cpuset", "blkio",
                                                  "devices", "freezer", "hugetlb", "net_cls", "perf_event"};
// The named hierarchy systemd keeps on v1 hosts; runc puts containers in it too. It has no
// controller, so it says nothing of the layout.
constexpr std::string_view kSystemdHierarchy = "name=systemd";

}  // namespace

CgroupHierarchies parse_cgroup_mounts(std::string_view mountinfo) {
  CgroupHierarchies h;
  for (std::string_view line : split(mountinfo, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> left = split(line.substr(0, dash), ' ');
    std::vector<std::string_view> right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    std::string mount_point = unescape(left[4]);
    if (right[0] == "cgroup2") {
      if (h.v2_mount.empty()) h.v2_mount = mount_point;
    } else if (right[0] == "cgroup") {
      for (std::string_view option : split(right[2], ',')) {
        if (option.rfind("name=", 0) == 0 && !h.named_mounts.count(std::string(option))) {
          h.named_mounts[std::string(option)] = mount_point;
        }
        for (std::string_view known : kKnownControllers) {
          if (option == known && !h.v1_mounts.count(std::string(known))) h.v1_mounts[std::string(known)] = mount_point;
        }
        if (option == kSystemdHierarchy && !h.v1_mounts.count(std::string(option))) {
          h.v1_mounts[std::string(option)] = mount_point;
        }
      }
    }
  }
  const size_t controllers = h.v1_mounts.size() - h.v1_mounts.count(std::string(kSystemdHierarchy));
  if (controllers > 0) {
    h.layout = h.v2_mount.empty() ? CgroupLayout::kV1 : CgroupLayout::kHybrid;
  } else if (!h.v2_mount.empty()) {
    h.layout = CgroupLayout::kV2;
  }
  return h;
}

void parse_self_cgroup(std::string_view text, CgroupHierarchies& into) {
  for (std::string_view line : split(text, '\n')) {
    std::vector<std::string_view> f = split(line, ':');
    if (f.size() < 3) continue;
    std::string path(line.substr(f[0].size() + f[1].size() + 2));
    if (f[1].empty()) {
      into.v2_own = path;
      continue;
    }
    for (std::string_view controller : split(f[1], ',')) {
      into.v1_own[std::string(controller)] = path;
    }
  }
}

CgroupHierarchies read_cgroup_hierarchies() {
  CgroupHierarchies h = parse_cgroup_mounts(sys::read_file("/proc/self/mountinfo", 4u << 20, "read mountinfo"));
  parse_self_cgroup(sys::read_file("/proc/self/cgroup", 64u << 10, "read /proc/self/cgroup"), h);
  return h;
}

std::string to_string(CgroupLayout layout) {
  switch (layout) {
    case CgroupLayout::kV1: return "v1";
    case CgroupLayout::kV2: return "v2";
    case CgroupLayout::kHybrid: return "hybrid (v1 controllers, cgroup2 without them)";
    case CgroupLayout::kNone: return "none";
  }
  return "?";
}

}  // namespace nucleus
