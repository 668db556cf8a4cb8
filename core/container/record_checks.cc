#include "core/container/record_checks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <set>
#include <sstream>

#include "core/cgroup/cgroupfs.h"
#include "core/cgroup/self_cgroup.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

// Absolute, no trailing '/', and no empty, '.' or '..' component.
bool clean_absolute(const std::string& path) {
  if (path.size() < 2 || path[0] != '/' || path.back() == '/' || path.find('\0') != std::string::npos) return false;
  for (size_t start = 1; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string_view part(path.data() + start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

bool is_below(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && (dir == "/" || path[dir.size()] == '/');
}

// nucleus-<pid>-<6 hex> (new_cgroup_name) of the nucleus that made the record, or an OCI
// container's nucleus-oci-<id>.
bool named_by_nucleus(const std::string& leaf, const ContainerRecord& r) {
  if (leaf == "nucleus-oci-" + r.name) return true;
  std::string prefix = "nucleus-" + std::to_string(r.nucleus_pid) + "-";
  if (leaf.size() != prefix.size() + 6 || leaf.compare(0, prefix.size(), prefix) != 0) return false;
  return leaf.find_first_not_of("0123456789abcdef", prefix.size()) == std::string::npos;
}

std::string trim_slashes(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  size_t first = path.find_first_not_of('/');
  return first == std::string::npos ? "" : path.substr(first);
}

std::optional<std::string> cgroup_problem(const std::string& dir, const ContainerRecord& r,
                                          const std::vector<std::string>& mounts, const std::vector<std::string>& own) {
  if (!clean_absolute(dir)) return "cgroup '" + capped(dir) + "' is not a plain absolute path";
  bool mounted = false;
  for (const std::string& m : mounts) mounted = mounted || is_below(dir, m);
  if (!mounted) return "cgroup " + capped(dir) + " is not below a cgroup hierarchy";
  for (const std::string& o : own) {
    if (o == dir || is_below(o, dir)) return "cgroup " + capped(dir) + " holds nucleus's own cgroup";
  }
  if (r.cgroups_path.empty()) {
    std::string leaf = dir.substr(dir.find_last_of('/') + 1);
    if (!named_by_nucleus(leaf, r)) return "cgroup " + capped(dir) + " is not named as nucleus names its cgroups";
    return std::nullopt;
  }
  std::string written = trim_slashes(r.cgroups_path);
  if (written.empty() || !clean_absolute("/" + written) || !is_below(dir, "/") ||
      dir.size() <= written.size() || dir.compare(dir.size() - written.size() - 1, std::string::npos, "/" + written) != 0) {
    return "cgroup " + capped(dir) + " is not the config's cgroupsPath " + capped(r.cgroups_path);
  }
  return std::nullopt;
}

bool one_of(const std::string& word, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (word == w) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> record_problem(const ContainerRecord& r, const std::string& id,
                                          const std::vector<std::string>& mounts, const std::vector<std::string>& own) {
  if (r.name != id) return std::string("state.json names another container");
  if (!one_of(r.backend, {"native", "gvisor"})) return "unknown backend '" + capped(r.backend) + "'";
  if (!one_of(r.status, {"creating", "created", "running", "paused", "stopped"})) return "unknown status '" + capped(r.status) + "'";
  if (r.pid < 0 || r.nucleus_pid <= 0) return std::string("impossible pids");
  std::string leaf;
  for (const std::string& dir : r.cgroup) {
    if (auto problem = cgroup_problem(dir, r, mounts, own)) return problem;
    std::string mine = dir.substr(dir.find_last_of('/') + 1);
    if (!leaf.empty() && mine != leaf) return "cgroups " + capped(dir) + " and " + leaf + " are not one container's";
    leaf = mine;
  }
  return std::nullopt;
}

std::optional<uint64_t> record_birth_ticks(const std::string& dir) {
  struct statx stx;
  if (::statx(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BTIME, &stx) != 0 || !(stx.stx_mask & STATX_BTIME) ||
      stx.stx_btime.tv_sec == 0) {
    return std::nullopt;
  }
  // Birth is wall-clock time; start times count from boot. In nanoseconds until the last
  // step: whole seconds on both sides lost up to two of them, more than the slack below.
  timespec real, boot;
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  constexpr int64_t kNs = 1000000000;
  const int64_t born_ns = (int64_t{stx.stx_btime.tv_sec} * kNs + stx.stx_btime.tv_nsec) -
                          ((int64_t{real.tv_sec} - boot.tv_sec) * kNs + (real.tv_nsec - boot.tv_nsec));
  long hz = ::sysconf(_SC_CLK_TCK);
  return born_ns <= 0 ? 0 : static_cast<uint64_t>(born_ns / (kNs / (hz > 0 ? hz : 100)));
}

std::optional<std::string> older_process_in(const std::vector<std::string>& dirs, uint64_t birth_ticks) {
  // Slack for the second-granular conversion and a clock slewed since: a process of
  // someone else's started this close before the record is not a case worth refusing.
  long hz = ::sysconf(_SC_CLK_TCK);
  const uint64_t slack = 2 * static_cast<uint64_t>(hz > 0 ? hz : 100);
  // Each hierarchy lists the same processes as a rule: each is looked at once (its stat is
  // the dearer read, about 20 us on this VM).
  std::set<long> seen;
  for (const std::string& dir : dirs) {
    std::optional<std::string> procs = cgroupfs::real().read(dir + "/cgroup.procs");
    if (!procs) continue;
    std::istringstream in(*procs);
    for (long pid; in >> pid;) {
      if (!seen.insert(pid).second) continue;
      auto st = sys::process_stat(static_cast<pid_t>(pid));
      if (st && st->start_time + slack < birth_ticks) {
        return "process " + std::to_string(pid) + " in " + dir + " is older than the container";
      }
    }
  }
  return std::nullopt;
}

void check_record(const ContainerRecord& r, const std::string& dir, const std::string& id) {
  std::vector<std::string> mounts, own;
  if (!r.cgroup.empty()) {
    CgroupHierarchies h = read_cgroup_hierarchies();
    for (const auto& [controller, mount] : h.v1_mounts) {
      mounts.push_back(mount);
      auto it = h.v1_own.find(controller);
      own.push_back(it == h.v1_own.end() || it->second == "/" ? mount : mount + it->second);
    }
    if (!h.v2_mount.empty()) {
      mounts.push_back(h.v2_mount);
      own.push_back(h.v2_own.empty() || h.v2_own == "/" ? h.v2_mount : h.v2_mount + h.v2_own);
    }
  }
  std::optional<std::string> problem = record_problem(r, id, mounts, own);
  if (!problem && !r.cgroup.empty()) {
    if (std::optional<uint64_t> birth = record_birth_ticks(dir)) problem = older_process_in(r.cgroup, *birth);
  }
  if (problem) throw Error("container state", "not what nucleus wrote (" + *problem + "), so nothing was done");
}


}  // namespace nucleus
