// The cgroup v1 driver: one directory per controller hierarchy (memory, pids, cpu, cpuacct,
// blkio; an OCI container also freezer, devices and cpuset), as on v1 hosts and on hybrid
// ones, where the controllers stay on v1.
#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/cgroup/cgroup.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

std::string parent_of(const std::string& dir) { return dir.substr(0, dir.find_last_of('/')); }

std::string device_rule_line(const CgroupDeviceRule& r) {
  auto number = [](int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
  if (r.type == 'a') return "a *:* " + r.access;
  return std::string(1, r.type) + " " + number(r.major) + ":" + number(r.minor) + " " + r.access;
}

class V1Cgroup final : public Cgroup {
 public:
  // Co-mounted controllers (cpu,cpuacct on most v1 hosts) share a directory: it is made
  // and removed once.
  V1Cgroup(std::vector<std::pair<std::string, std::string>> dirs, const cgroupfs::Fs& fs, bool owned)
      : fs_(fs), dirs_(std::move(dirs)), owned_(owned) {
    for (const auto& [controller, dir] : dirs_) {
      if (std::find(unique_.begin(), unique_.end(), dir) == unique_.end()) unique_.push_back(dir);
    }
  }
  ~V1Cgroup() override {
    if (owned_) destroy();
  }

  CgroupLayout layout() const override { return CgroupLayout::kV1; }
  std::vector<std::string> directories() const override { return unique_; }
  bool has_controller(const std::string& controller) const override { return find(controller).has_value(); }
  std::vector<std::string> self_join_files() const override {
    std::vector<std::string> out;
    for (const std::string& d : unique_) out.push_back(d + "/tasks");
    return out;
  }
  const cgroupfs::Fs& fs() const override { return fs_; }

  void apply(const CgroupLimits& l) override {
    if (auto dir = find("memory")) apply_memory(*dir, l);
    if (auto dir = find("pids"); dir && l.pids) {
      cgroupfs::write(fs_, *dir + "/pids.max", *l.pids < 0 ? "max" : std::to_string(*l.pids));
    }
    if (auto dir = find("cpu")) {
      uint64_t period = l.cpu_period_us.value_or(kDefaultCpuPeriodUs);
      if (l.cpu_shares) cgroupfs::write(fs_, *dir + "/cpu.shares", std::to_string(*l.cpu_shares));
      if (l.cpus) {
        uint64_t quota = static_cast<uint64_t>(std::llround(*l.cpus * static_cast<double>(period)));
        cgroupfs::write(fs_, *dir + "/cpu.cfs_period_us", std::to_string(period));
        cgroupfs::write(fs_, *dir + "/cpu.cfs_quota_us", std::to_string(std::max(quota, kMinCpuQuotaUs)));
      } else if (l.cpu_period_us) {
        cgroupfs::write(fs_, *dir + "/cpu.cfs_period_us", std::to_string(period));
      }
    }
    if (auto dir = find("cpuset")) {
      if (!l.cpuset_cpus.empty()) cgroupfs::write(fs_, *dir + "/cpuset.cpus", l.cpuset_cpus);
      if (!l.cpuset_mems.empty()) cgroupfs::write(fs_, *dir + "/cpuset.mems", l.cpuset_mems);
    }
    if (auto dir = find("blkio")) apply_blkio(*dir, l);
    if (auto dir = find("devices"); dir && !l.devices.empty()) apply_devices(*dir, l.devices);
  }

  uint64_t oom_kills() const override {
    auto dir = find("memory");
    return dir ? cgroupfs::read_key(fs_, *dir + "/memory.oom_control", "oom_kill").value_or(0) : 0;
  }

  MemoryState memory_state() const override {
    MemoryState m;
    if (auto dir = find("memory")) {
      m.usage = cgroupfs::read_number(fs_, *dir + "/memory.usage_in_bytes").value_or(0);
      m.limit = cgroupfs::read_number(fs_, *dir + "/memory.limit_in_bytes").value_or(0);
      m.failures = cgroupfs::read_number(fs_, *dir + "/memory.failcnt").value_or(0);
    }
    return m;
  }

  // v1 has no cgroup.kill: a process forked while the list was read escapes one round, so
  // rounds go on until one finds nobody (or about a second has passed).
  void kill_all() const noexcept override {
    for (int round = 0; round < 200; ++round) {
      size_t seen = 0;
      for (const std::string& dir : unique_) seen += cgroupfs::kill_procs(fs_, dir);
      if (seen == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void destroy() noexcept override {
    // A frozen cgroup's processes cannot die of SIGKILL until thawed.
    if (auto dir = find("freezer")) (void)fs_.write(*dir + "/freezer.state", "THAWED");
    for (const std::string& dir : unique_) {
      cgroupfs::kill_and_remove(fs_, dir);
      cgroupfs::remove_made_parents(fs_, dir);
    }
    release();
  }

  void release() noexcept override {
    unique_.clear();
    dirs_.clear();
  }

  void freeze(bool frozen) override {
    auto dir = find("freezer");
    if (!dir) throw Error("cgroups", "this container has no freezer cgroup");
    const char* want = frozen ? "FROZEN" : "THAWED";
    for (int attempt = 0; attempt < 1000; ++attempt) {
      cgroupfs::write(fs_, *dir + "/freezer.state", want);
      auto state = fs_.read(*dir + "/freezer.state");
      if (state && state->rfind(want, 0) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    throw Error("cgroups: " + *dir, std::string("the freezer did not reach ") + want);
  }

  bool frozen() const override {
    auto dir = find("freezer");
    if (!dir) return false;
    auto state = fs_.read(*dir + "/freezer.state");
    return state && state->rfind("FROZEN", 0) == 0;
  }

  void make() {
    std::vector<std::string> made;
    auto fail = [&](std::string dir, int err) {  // a copy: dir may be an element of unique_
      unique_.clear();
      for (auto it = made.rbegin(); it != made.rend(); ++it) {
        (void)fs_.remove_dir(*it);
        cgroupfs::remove_made_parents(fs_, *it);
      }
      throw Error("cgroups: create " + dir,
                  err == EACCES || err == EPERM ? "the caller may not create cgroups here (no delegation)" : "", err);
    };
    for (const std::string& dir : unique_) {
      // The directory first: its parent is most often the caller's own cgroup, there
      // already, and looking at every ancestor from /sys down first cost each start about
      // twenty stats. A missing parent (ENOENT) is made, also one another container's end
      // removed between our look and our mkdir: one start never fails because another ended.
      int err = fs_.make_dir(dir);
      for (int attempt = 0; attempt < 8 && err == ENOENT; ++attempt) {
        make_parents(dir, fail);
        err = fs_.make_dir(dir);
      }
      if (err != 0) fail(dir, err);
      made.push_back(dir);
      if (find("cpuset") == dir) init_cpuset(dir);
    }
  }

 private:
  // Parents first (--cgroup-parent or an OCI cgroupsPath may name several levels): the ones
  // made here are marked, and the last container to leave removes them once empty.
  template <typename Fail>
  void make_parents(const std::string& dir, Fail& fail) {
    for (size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1)) {
      std::string ancestor = dir.substr(0, slash);
      if (fs_.exists(ancestor)) continue;
      int err = fs_.make_dir(ancestor);
      if (err == EEXIST) continue;
      if (err != 0) fail(ancestor, err);
      (void)fs_.mark_made_parent(ancestor);
      if (find("cpuset") == dir) init_cpuset(ancestor);
    }
  }

  // A new v1 cpuset starts empty and refuses tasks: it takes its parent's CPUs and nodes
  // (called only in the cpuset hierarchy, alone or co-mounted: nowhere else is there any).
  void init_cpuset(const std::string& dir) {
    if (!fs_.exists(dir + "/cpuset.cpus")) return;
    for (const char* file : {"/cpuset.cpus", "/cpuset.mems"}) {
      auto mine = fs_.read(dir + file);
      if (mine && mine->find_first_not_of(" \n") != std::string::npos) continue;
      auto parent = fs_.read(parent_of(dir) + file);
      if (parent) (void)fs_.write(dir + file, *parent);
    }
  }

  // The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every write:
  // raising both, the memory+swap limit goes first; lowering, the memory limit does (runc's
  // order: memsw first when it is unlimited or above the current memory limit).
  void apply_memory(const std::string& dir, const CgroupLimits& l) {
    if (l.memory_reservation) {
      cgroupfs::write(fs_, dir + "/memory.soft_limit_in_bytes", std::to_string(*l.memory_reservation));
    }
    if (!l.memory_bytes) return;
    const std::string memory = std::to_string(*l.memory_bytes);
    // memory+swap equal to memory: no swap unless asked (the file is absent when swap
    // accounting is off).
    if (!fs_.exists(dir + "/memory.memsw.limit_in_bytes")) {
      cgroupfs::write(fs_, dir + "/memory.limit_in_bytes", memory);
      return;
    }
    const bool unlimited = l.memory_swap && *l.memory_swap < 0;
    const uint64_t memsw = l.memory_swap && !unlimited ? static_cast<uint64_t>(*l.memory_swap) : *l.memory_bytes;
    const std::string memsw_text = unlimited ? "-1" : std::to_string(memsw);
    std::optional<uint64_t> current = cgroupfs::read_number(fs_, dir + "/memory.limit_in_bytes");
    if (unlimited || (current && *current < memsw)) {
      cgroupfs::write(fs_, dir + "/memory.memsw.limit_in_bytes", memsw_text);
      cgroupfs::write(fs_, dir + "/memory.limit_in_bytes", memory);
    } else {
      cgroupfs::write(fs_, dir + "/memory.limit_in_bytes", memory);
      cgroupfs::write(fs_, dir + "/memory.memsw.limit_in_bytes", memsw_text);
    }
  }

  void apply_blkio(const std::string& dir, const CgroupLimits& l) const {
    if (l.io_weight) {
      std::string file = dir + "/blkio.weight";
      if (!fs_.exists(file)) file = dir + "/blkio.bfq.weight";
      if (!fs_.exists(file)) {
        throw Error("--io-weight", "the blkio controller here has no weight file (no BFQ or CFQ scheduler)");
      }
      // v1 weights run 10..1000; the option takes cgroup2's 1..10000.
      uint32_t w = *l.io_weight / 10;
      cgroupfs::write(fs_, file, std::to_string(std::clamp<uint32_t>(w, 10, 1000)));
    }
    for (const IoMax& m : l.io_max) {
      auto put = [&](const char* file, const std::optional<uint64_t>& v) {
        if (v) cgroupfs::write(fs_, dir + "/" + file, m.device + " " + std::to_string(*v));
      };
      put("blkio.throttle.read_bps_device", m.rbps);
      put("blkio.throttle.write_bps_device", m.wbps);
      put("blkio.throttle.read_iops_device", m.riops);
      put("blkio.throttle.write_iops_device", m.wiops);
    }
  }

  void apply_devices(const std::string& dir, const std::vector<CgroupDeviceRule>& rules) const {
    for (const CgroupDeviceRule& r : rules) {
      cgroupfs::write(fs_, dir + (r.allow ? "/devices.allow" : "/devices.deny"), device_rule_line(r));
    }
  }

  std::optional<std::string> find(const std::string& controller) const {
    for (const auto& [c, dir] : dirs_) {
      if (c == controller) return dir;
    }
    return std::nullopt;
  }

  const cgroupfs::Fs& fs_;
  std::vector<std::pair<std::string, std::string>> dirs_;  // controller -> directory
  std::vector<std::string> unique_;                         // each directory once
  bool owned_ = true;
};

}  // namespace

std::unique_ptr<Cgroup> create_v1_cgroup(const std::vector<std::pair<std::string, std::string>>& dirs,
                                         const cgroupfs::Fs& fs) {
  auto cg = std::make_unique<V1Cgroup>(dirs, fs, true);
  cg->make();
  return cg;
}

std::unique_ptr<Cgroup> attach_v1_cgroup(const std::vector<std::pair<std::string, std::string>>& dirs,
                                         const cgroupfs::Fs& fs) {
  return std::make_unique<V1Cgroup>(dirs, fs, false);
}

}  // namespace nucleus
