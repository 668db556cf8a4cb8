#include "core/cgroup/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

bool has_dotdot(const std::string& path) {
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '/');) {
    if (part == "..") return true;
  }
  return false;
}

// An absolute parent is a path from the hierarchy's root; a relative one lies below the
// caller's own cgroup, like no parent at all.
std::string join(const std::string& mount, const std::string& own, const std::optional<std::string>& parent) {
  std::string base = own;
  if (parent && !parent->empty()) base = (*parent)[0] == '/' ? *parent : (own == "/" ? "" : own) + "/" + *parent;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (base.empty() || base == "/") return mount;
  return mount + (base[0] == '/' ? "" : "/") + base;
}

// The v1 controllers the limits need.
std::vector<std::string> v1_controllers(const CgroupLimits& l) {
  std::vector<std::string> out;
  if (l.oci) {
    // An OCI client may read any of these (podman reads pids.max, memory.limit_in_bytes,
    // cpu.cfs_quota_us inside), pause the container (freezer) or give device rules.
    out = {"memory", "pids", "cpu", "cpuacct", "blkio", "freezer", "devices"};
    if (!l.cpuset_cpus.empty() || !l.cpuset_mems.empty()) out.push_back("cpuset");
    // As runc's: the container also sits at its path in systemd's named hierarchy (where
    // systemd tools and kubelet's cgroup checks look for it).
    out.push_back("name=systemd");
    return out;
  }
  if (l.memory_bytes || l.stats) out.push_back("memory");
  if (l.pids || l.stats) out.push_back("pids");
  // Not cpu for stats: cpuacct has the usage, and moving a task into a v1 cpu cgroup is the
  // dearest join of all (0.15 ms median, milliseconds under load: the scheduler's groups).
  if (l.cpus || l.cpu_shares || l.cpu_period_us) out.push_back("cpu");
  if (l.stats || l.cpus) out.push_back("cpuacct");
  if (l.stats) out.push_back("freezer");
  if (l.io_weight || !l.io_max.empty()) out.push_back("blkio");
  return out;
}

// Whether the nucleus that named a cgroup after its pid may still be using it (a container
// cgroup is empty from its creation until the child joins): ourselves, a process named
// nucleus* (nucleus-gvisor too), or one running our own binary under another name. A pid
// reused by something else leaves the cgroup to be collected.
bool pid_is_live_nucleus(pid_t pid) {
  if (pid == ::getpid()) return true;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::optional<std::string> comm = cgroupfs::real().read(proc + "/comm");
  if (!comm) return false;
  if (comm->rfind("nucleus", 0) == 0) return true;
  struct stat theirs, ours;
  return ::stat((proc + "/exe").c_str(), &theirs) == 0 && ::stat("/proc/self/exe", &ours) == 0 &&
         theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

void collect_in(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("nucleus-", 0) != 0) continue;
    pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + 8));
    if (owner > 0 && !pid_is_live_nucleus(owner)) stale.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (const std::string& path : stale) {
    auto procs = cgroupfs::real().read(path + "/cgroup.procs");
    if (procs && procs->empty()) ::rmdir(path.c_str());
  }
}


// Makes directories as the real one does, but leaves the parents it makes unmarked, so no
// container's end removes them (CgroupRequest::remove_made_parents).
class UnmarkingFs final : public cgroupfs::Fs {
 public:
  int mark_made_parent(const std::string&) const override { return 0; }
};

const cgroupfs::Fs& unmarking_fs() {
  static const UnmarkingFs fs;
  return fs;
}

}  // namespace

CgroupStats read_cgroup_stats(const std::vector<std::string>& directories, const cgroupfs::Fs& fs) {
  CgroupStats s;
  auto pids_limit = [&fs](const std::string& file) -> std::optional<int64_t> {
    auto max = fs.read(file);
    if (!max || max->empty()) return std::nullopt;
    return (*max)[0] == 'm' ? -1 : static_cast<int64_t>(std::stoll(*max));
  };
  for (const std::string& dir : directories) {
    if (fs.exists(dir + "/cgroup.controllers")) {
      s.cpu_usec = cgroupfs::read_key(fs, dir + "/cpu.stat", "usage_usec").value_or(0);
      s.cpu_throttled = cgroupfs::read_key(fs, dir + "/cpu.stat", "nr_throttled");
      s.memory_current = cgroupfs::read_number(fs, dir + "/memory.current");
      s.memory_peak = cgroupfs::read_number(fs, dir + "/memory.peak");
      s.memory_limit = cgroupfs::read_number(fs, dir + "/memory.max");  // "max" reads as none
      s.pids_current = cgroupfs::read_number(fs, dir + "/pids.current");
      s.pids_limit = pids_limit(dir + "/pids.max");
      s.oom_kills = cgroupfs::read_key(fs, dir + "/memory.events", "oom_kill").value_or(0);
      continue;
    }
    if (auto usage = cgroupfs::read_number(fs, dir + "/cpuacct.usage")) s.cpu_usec = *usage / 1000;
    if (auto throttled = cgroupfs::read_key(fs, dir + "/cpu.stat", "nr_throttled")) s.cpu_throttled = throttled;
    if (auto current = cgroupfs::read_number(fs, dir + "/memory.usage_in_bytes")) {
      s.memory_current = current;
      s.memory_peak = cgroupfs::read_number(fs, dir + "/memory.max_usage_in_bytes");
      // v1 says "no limit" with a page-rounded LLONG_MAX.
      auto limit = cgroupfs::read_number(fs, dir + "/memory.limit_in_bytes");
      if (limit && *limit < (uint64_t{1} << 62)) s.memory_limit = limit;
      s.oom_kills = cgroupfs::read_key(fs, dir + "/memory.oom_control", "oom_kill").value_or(0);
    }
    if (auto current = cgroupfs::read_number(fs, dir + "/pids.current")) {
      s.pids_current = current;
      s.pids_limit = pids_limit(dir + "/pids.max");
    }
  }
  return s;
}

std::unique_ptr<Cgroup> open_cgroup(const std::vector<std::string>& directories) {
  if (directories.empty()) return nullptr;
  if (cgroupfs::real().exists(directories[0] + "/cgroup.controllers")) return attach_v2_cgroup(directories[0]);
  // Where the v1 hierarchies are mounted as everywhere (/sys/fs/cgroup/memory,
  // /sys/fs/cgroup/cpu,cpuacct), a directory's path names its controllers; elsewhere the
  // mounts are read.
  static constexpr std::string_view kMounts = "/sys/fs/cgroup/";
  std::vector<std::pair<std::string, std::string>> by_path;
  for (const std::string& dir : directories) {
    if (dir.compare(0, kMounts.size(), kMounts) != 0) break;
    size_t end = dir.find('/', kMounts.size());
    std::string names = dir.substr(kMounts.size(), end - kMounts.size());
    for (size_t start = 0; start <= names.size();) {
      size_t comma = names.find(',', start);
      if (comma == std::string::npos) comma = names.size();
      by_path.emplace_back(names.substr(start, comma - start), dir);
      start = comma + 1;
    }
  }
  if (by_path.size() >= directories.size()) return attach_v1_cgroup(by_path);
  CgroupHierarchies h = read_cgroup_hierarchies();
  std::vector<std::pair<std::string, std::string>> dirs;
  for (const std::string& dir : directories) {
    for (const auto& [controller, mount] : h.v1_mounts) {
      if (dir.rfind(mount + "/", 0) == 0) dirs.emplace_back(controller, dir);
    }
  }
  return attach_v1_cgroup(dirs);
}

std::vector<std::string> Cgroup::self_join_files() const {
  std::vector<std::string> out;
  for (const std::string& d : directories()) out.push_back(d + "/cgroup.procs");
  return out;
}

std::vector<UniqueFd> open_self_join_files(const Cgroup* cgroup) {
  std::vector<UniqueFd> out;
  if (cgroup == nullptr) return out;
  for (const std::string& file : cgroup->self_join_files()) {
    out.push_back(sys::open(file, O_WRONLY | O_CLOEXEC, "join the container's cgroup"));
  }
  return out;
}

int join_cgroup_through(std::span<const int> fds) noexcept {
  for (int fd : fds) {
    if (::write(fd, "0", 1) != 1) return errno;
  }
  return 0;
}

std::string new_cgroup_name() {
  unsigned char bytes[3];
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) throw_errno("getrandom");
  char hex[7];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x", bytes[0], bytes[1], bytes[2]);
  return "nucleus-" + std::to_string(::getpid()) + "-" + hex;
}

std::vector<std::string> Cgroup::lacking(const CgroupLimits& limits) const {
  if (layout() != CgroupLayout::kV1) return {};
  CgroupLimits asked = limits;
  asked.stats = false;
  asked.oci = false;
  std::vector<std::string> missing;
  for (const std::string& controller : v1_controllers(asked)) {
    if (!has_controller(controller)) missing.push_back(controller);
  }
  return missing;
}

void require_controllers_for_update(const Cgroup& cgroup, const CgroupLimits& limits, const std::string& id) {
  std::vector<std::string> missing = cgroup.lacking(limits);
  if (missing.empty()) return;
  throw Error(id, "its cgroup has no " + missing.front() +
                      " hierarchy (cgroup v1: a container gets the hierarchies of the limits it starts with)");
}

std::unique_ptr<Cgroup> create_cgroup(const CgroupHierarchies& h, const CgroupRequest& request) {
  if (!request.limits.any()) return nullptr;
  if (request.parent && (has_dotdot(*request.parent) || request.parent->find('\0') != std::string::npos)) {
    throw Error("--cgroup-parent", "'" + *request.parent + "' must not contain '..'");
  }
  if (h.layout == CgroupLayout::kV1 || h.layout == CgroupLayout::kHybrid) {
    std::vector<std::pair<std::string, std::string>> dirs;
    for (const std::string& controller : v1_controllers(request.limits)) {
      auto mount = h.v1_mounts.find(controller);
      if (mount == h.v1_mounts.end()) {
        if (request.limits.oci) continue;  // an OCI container sees the hierarchies there are
        throw Error("cgroups", "the " + controller + " controller is not mounted");
      }
      auto own = h.v1_own.find(controller);
      std::string parent = join(mount->second, own == h.v1_own.end() ? "/" : own->second, request.parent);
      dirs.emplace_back(controller, parent + "/" + request.name);
    }
    auto cg = create_v1_cgroup(dirs, request.remove_made_parents ? cgroupfs::real() : unmarking_fs());
    cg->apply(request.limits);
    return cg;
  }
  if (h.layout == CgroupLayout::kV2) {
    auto cg = create_v2_cgroup(join(h.v2_mount, h.v2_own, request.parent), request.name, request.limits,
                               request.remove_made_parents ? cgroupfs::real() : unmarking_fs());
    cg->apply(request.limits);
    return cg;
  }
  throw Error("cgroups", "this host has no cgroup hierarchy mounted");
}

std::vector<std::string> existing_cgroup_directories(const CgroupHierarchies& h, const CgroupRequest& request) {
  std::vector<std::string> out;
  auto add = [&](const std::string& dir) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && std::find(out.begin(), out.end(), dir) == out.end()) {
      out.push_back(dir);
    }
  };
  for (const auto& [controller, mount] : h.v1_mounts) {
    auto own = h.v1_own.find(controller);
    add(join(mount, own == h.v1_own.end() ? "/" : own->second, request.parent) + "/" + request.name);
  }
  if (!h.v2_mount.empty() && h.layout == CgroupLayout::kV2) add(join(h.v2_mount, h.v2_own, request.parent) + "/" + request.name);
  return out;
}

std::unique_ptr<Cgroup> create_container_cgroup(const CgroupLimits& limits, bool requested,
                                                const std::optional<std::string>& parent) {
  return create_container_cgroup({new_cgroup_name(), parent, limits}, requested);
}

std::unique_ptr<Cgroup> create_container_cgroup(const CgroupRequest& request, bool requested) {
  try {
    return create_cgroup(read_cgroup_hierarchies(), request);
  } catch (const Error& e) {
    if (requested) {
      Error wrapped = e;
      if (::geteuid() != 0) wrapped.wrap("resource limits for a non-root caller");
      throw wrapped;
    }
    return nullptr;
  }
}

void report_to_user(const std::string& text) {
  std::string line = "nucleus: " + text + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

void collect_stale_container_cgroups() noexcept {
  try {
    collect_stale_cgroups(read_cgroup_hierarchies());
  } catch (const std::exception&) {
    // Nothing to collect where the hierarchies cannot be read.
  }
}

void collect_stale_cgroups(const CgroupHierarchies& h) {
  for (const auto& [controller, mount] : h.v1_mounts) {
    auto own = h.v1_own.find(controller);
    collect_in(join(mount, own == h.v1_own.end() ? "/" : own->second, std::nullopt));
  }
  if (h.layout == CgroupLayout::kV2) collect_in(join(h.v2_mount, h.v2_own, std::nullopt));
}

}  // namespace nucleus
