#include "core/cgroup/process_cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "core/cgroup/cgroupfs.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

std::string below(const std::string& mount, const std::string& own, const std::string& name) {
  std::string base = own.empty() || own == "/" ? mount : mount + own;
  return base + "/" + name;
}

std::string parent_of(const std::string& dir) { return dir.substr(0, dir.find_last_of('/')); }

// A new v1 cpuset starts empty and refuses tasks: it takes its parent's CPUs and nodes (as
// the v1 driver's containers do).
void init_cpuset(const std::string& dir) {
  const cgroupfs::Fs& fs = cgroupfs::real();
  if (!fs.exists(dir + "/cpuset.cpus")) return;
  for (const char* file : {"/cpuset.cpus", "/cpuset.mems"}) {
    if (auto parent = fs.read(parent_of(dir) + file)) (void)fs.write(dir + file, *parent);
  }
}

// "0" into the file that moves this process into dir: `tasks` (v1, this thread: the whole
// of a single-threaded process, without the kernel's global threadgroup lock) or
// cgroup.procs (every thread; cgroup2 has only this one).
int join(const std::string& dir, bool single_threaded) {
  const cgroupfs::Fs& fs = cgroupfs::real();
  std::string file = single_threaded && fs.exists(dir + "/tasks") ? dir + "/tasks" : dir + "/cgroup.procs";
  return fs.write(file, "0");
}

}  // namespace

std::string monitor_cgroup_name(pid_t pid) { return "nucleus-" + std::to_string(pid) + "-monitor"; }

bool is_monitor_cgroup(const std::string& dir) {
  std::string name = dir.substr(dir.find_last_of('/') + 1);
  constexpr std::string_view kPrefix = "nucleus-", kSuffix = "-monitor";
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return false;
  std::string_view pid = std::string_view(name).substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  return dir.find("/../") == std::string::npos && pid.find_first_not_of("0123456789") == std::string_view::npos;
}

std::vector<std::string> own_cgroup_plan(const CgroupHierarchies& h, const std::string& name) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& dir) {
    if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
  };
  for (const auto& [controller, mount] : h.v1_mounts) {
    auto own = h.v1_own.find(controller);
    if (own != h.v1_own.end()) add(below(mount, own->second, name));
  }
  for (const auto& [named, mount] : h.named_mounts) {
    auto own = h.v1_own.find(named);
    if (own != h.v1_own.end()) add(below(mount, own->second, name));
  }
  if (!h.v2_mount.empty()) add(below(h.v2_mount, h.v2_own, name));
  return out;
}

std::vector<std::string> enter_own_cgroup(const CgroupHierarchies& h, const std::string& name) {
  std::vector<std::string> made;
  auto undo = [&made] {
    (void)leave_own_cgroup(made, /*single_threaded=*/true);
    (void)remove_own_cgroup(made, std::chrono::milliseconds(200));
  };
  for (const std::string& dir : own_cgroup_plan(h, name)) {
    int err = cgroupfs::real().make_dir(dir);
    if (err == 0) {
      made.push_back(dir);
      init_cpuset(dir);
      err = join(dir, /*single_threaded=*/true);
    }
    if (err != 0) {
      undo();
      throw Error("cgroups: place the monitor in " + dir, "", err);
    }
  }
  return made;
}

int leave_own_cgroup(const std::vector<std::string>& dirs, bool single_threaded) noexcept {
  int first = 0;
  for (const std::string& dir : dirs) {
    int err = join(parent_of(dir), single_threaded);
    if (err != 0 && first == 0) first = err;
  }
  return first;
}

bool remove_own_cgroup(const std::vector<std::string>& dirs, std::chrono::milliseconds patience) noexcept {
  auto end = std::chrono::steady_clock::now() + patience;
  bool all = true;
  for (const std::string& dir : dirs) {
    for (;;) {
      int err = cgroupfs::real().remove_dir(dir);
      if (err == 0 || err == ENOENT) break;
      if (err != EBUSY || std::chrono::steady_clock::now() >= end) {
        all = false;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return all;
}

}  // namespace nucleus
