// The cgroup v1 driver: one directory per controller hierarchy (memory, pids, cpu, cpuacct,
// blkio), as on v1 hosts and on hybrid ones, where the controllers stay on v1.
#include <cerrno>
#include <chrono>
#include <thread>
#include <algorithm>
#include <cmath>

#include "core/cgroup.h"
#include "core/error.h"

namespace nucleus {
namespace {

constexpr uint64_t kCfsPeriodUs = 100000;
constexpr uint64_t kMinQuotaUs = 1000;  // the kernel's floor for cfs_quota_us

class V1Cgroup final : public Cgroup {
 public:
  // Co-mounted controllers (cpu,cpuacct on most v1 hosts) share a directory: it is made
  // and removed once.
  V1Cgroup(std::vector<std::pair<std::string, std::string>> dirs, const cgroupfs::Fs& fs)
      : fs_(fs), dirs_(std::move(dirs)) {
    for (const auto& [controller, dir] : dirs_) {
      if (std::find(unique_.begin(), unique_.end(), dir) == unique_.end()) unique_.push_back(dir);
    }
  }
  ~V1Cgroup() override { destroy(); }

  CgroupLayout layout() const override { return CgroupLayout::kV1; }
  std::vector<std::string> directories() const override { return unique_; }
  const cgroupfs::Fs& fs() const override { return fs_; }

  void apply(const CgroupLimits& l) override {
    if (auto dir = find("memory"); dir && l.memory_bytes) {
      std::string bytes = std::to_string(*l.memory_bytes);
      cgroupfs::write(fs_, *dir + "/memory.limit_in_bytes", bytes);
      // memory+swap equal to memory: no swap (the file is absent when swap accounting is off).
      if (fs_.exists(*dir + "/memory.memsw.limit_in_bytes")) {
        cgroupfs::write(fs_, *dir + "/memory.memsw.limit_in_bytes", bytes);
      }
    }
    if (auto dir = find("pids"); dir && l.pids) {
      cgroupfs::write(fs_, *dir + "/pids.max", *l.pids < 0 ? "max" : std::to_string(*l.pids));
    }
    if (auto dir = find("cpu"); dir && l.cpus) {
      uint64_t quota = static_cast<uint64_t>(std::llround(*l.cpus * kCfsPeriodUs));
      cgroupfs::write(fs_, *dir + "/cpu.cfs_period_us", std::to_string(kCfsPeriodUs));
      cgroupfs::write(fs_, *dir + "/cpu.cfs_quota_us", std::to_string(std::max(quota, kMinQuotaUs)));
    }
    if (auto dir = find("blkio")) apply_blkio(*dir, l);
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
    for (const std::string& dir : unique_) cgroupfs::kill_and_remove(fs_, dir);
    unique_.clear();
    dirs_.clear();
  }

  void make() {
    for (size_t i = 0; i < unique_.size(); ++i) {
      const std::string dir = unique_[i];
      if (int err = fs_.make_dir(dir); err != 0) {
        unique_.resize(i);  // remove what exists so far
        destroy();
        throw Error("cgroups: create " + dir,
                    err == EACCES || err == EPERM ? "the caller may not create cgroups here (no delegation)" : "",
                    err);
      }
    }
  }

 private:
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

  std::optional<std::string> find(const std::string& controller) const {
    for (const auto& [c, dir] : dirs_) {
      if (c == controller) return dir;
    }
    return std::nullopt;
  }

  const cgroupfs::Fs& fs_;
  std::vector<std::pair<std::string, std::string>> dirs_;  // controller -> directory
  std::vector<std::string> unique_;                         // each directory once
};

}  // namespace

std::unique_ptr<Cgroup> create_v1_cgroup(const std::vector<std::pair<std::string, std::string>>& dirs,
                                         const cgroupfs::Fs& fs) {
  auto cg = std::make_unique<V1Cgroup>(dirs, fs);
  cg->make();
  return cg;
}

}  // namespace nucleus
