// The cgroup v2 driver: one directory in the unified hierarchy; controllers enabled in the
// parent's cgroup.subtree_control; clone3(CLONE_INTO_CGROUP) through directory_fd();
// cgroup.kill (5.14+) to end what is left.
#include <cerrno>
#include <algorithm>
#include <cmath>
#include <sstream>
#include <chrono>
#include <thread>

#include "core/cgroup/cgroup.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

std::vector<std::string> needed_controllers(const CgroupLimits& l) {
  std::vector<std::string> out;
  if (l.memory_bytes || l.stats || l.memory_reservation || l.memory_swap) out.push_back("memory");
  if (l.pids || l.stats) out.push_back("pids");
  if (l.cpus || l.cpu_shares || l.cpu_period_us) out.push_back("cpu");
  if (!l.cpuset_cpus.empty() || !l.cpuset_mems.empty()) out.push_back("cpuset");
  if (l.io_weight || !l.io_max.empty()) out.push_back("io");
  return out;
}

// cgroup v1's cpu.shares (2..262144) on cgroup2's cpu.weight scale (1..10000), as runc does.
uint64_t shares_to_weight(uint64_t shares) {
  if (shares < 2) shares = 2;
  return 1 + ((shares - 2) * 9999) / 262142;
}

bool listed(const std::string& text, const std::string& word) {
  std::stringstream ss(text);
  for (std::string w; ss >> w;) {
    if (w == word) return true;
  }
  return false;
}

class V2Cgroup final : public Cgroup {
 public:
  V2Cgroup(std::string dir, const cgroupfs::Fs& fs, bool owned) : fs_(fs), dir_(std::move(dir)), owned_(owned) {}
  ~V2Cgroup() override {
    if (owned_) destroy();
  }

  CgroupLayout layout() const override { return CgroupLayout::kV2; }
  std::vector<std::string> directories() const override {
    return dir_.empty() ? std::vector<std::string>{} : std::vector<std::string>{dir_};
  }
  int directory_fd() const override { return fd_.get(); }
  const cgroupfs::Fs& fs() const override { return fs_; }

  void apply(const CgroupLimits& l) override {
    if (l.memory_reservation) cgroupfs::write(fs_, dir_ + "/memory.low", std::to_string(*l.memory_reservation));
    if (l.memory_bytes) {
      cgroupfs::write(fs_, dir_ + "/memory.max", std::to_string(*l.memory_bytes));
      if (fs_.exists(dir_ + "/memory.swap.max")) {
        // OCI's swap is memory + swap; cgroup2 counts swap alone.
        std::string swap = "0";
        if (l.memory_swap) {
          swap = *l.memory_swap < 0 ? "max"
                                    : std::to_string(static_cast<uint64_t>(*l.memory_swap) > *l.memory_bytes
                                                         ? static_cast<uint64_t>(*l.memory_swap) - *l.memory_bytes
                                                         : 0);
        }
        cgroupfs::write(fs_, dir_ + "/memory.swap.max", swap);
      }
    }
    if (l.pids) cgroupfs::write(fs_, dir_ + "/pids.max", *l.pids < 0 ? "max" : std::to_string(*l.pids));
    if (l.cpu_shares) cgroupfs::write(fs_, dir_ + "/cpu.weight", std::to_string(shares_to_weight(*l.cpu_shares)));
    if (l.cpus || l.cpu_period_us) {
      uint64_t period = l.cpu_period_us.value_or(kDefaultCpuPeriodUs);
      std::string quota = "max";
      if (l.cpus) {
        quota = std::to_string(std::max(static_cast<uint64_t>(std::llround(*l.cpus * static_cast<double>(period))), kMinCpuQuotaUs));
      }
      cgroupfs::write(fs_, dir_ + "/cpu.max", quota + " " + std::to_string(period));
    }
    if (!l.cpuset_cpus.empty()) cgroupfs::write(fs_, dir_ + "/cpuset.cpus", l.cpuset_cpus);
    if (!l.cpuset_mems.empty()) cgroupfs::write(fs_, dir_ + "/cpuset.mems", l.cpuset_mems);
    if (!l.devices.empty()) attach_device_program(fd_.get(), l.devices);
    if (l.io_weight) cgroupfs::write(fs_, dir_ + "/io.weight", "default " + std::to_string(*l.io_weight));
    for (const IoMax& m : l.io_max) {
      std::string line = m.device;
      auto add = [&](const char* key, const std::optional<uint64_t>& v) {
        if (v) line += std::string(" ") + key + "=" + std::to_string(*v);
      };
      add("rbps", m.rbps);
      add("wbps", m.wbps);
      add("riops", m.riops);
      add("wiops", m.wiops);
      cgroupfs::write(fs_, dir_ + "/io.max", line);
    }
  }

  uint64_t oom_kills() const override { return cgroupfs::read_key(fs_, dir_ + "/memory.events", "oom_kill").value_or(0); }

  MemoryState memory_state() const override {
    MemoryState m;
    m.usage = cgroupfs::read_number(fs_, dir_ + "/memory.current").value_or(0);
    m.limit = cgroupfs::read_number(fs_, dir_ + "/memory.max").value_or(0);
    m.failures = cgroupfs::read_key(fs_, dir_ + "/memory.events", "max").value_or(0);
    return m;
  }

  void kill_all() const noexcept override {
    if (dir_.empty()) return;
    if (fs_.exists(dir_ + "/cgroup.kill") && fs_.write(dir_ + "/cgroup.kill", "1") == 0) return;
    cgroupfs::kill_procs(fs_, dir_);
  }

  void destroy() noexcept override {
    if (dir_.empty()) return;
    fd_.reset();
    // Frozen processes do not die.
    if (fs_.exists(dir_ + "/cgroup.freeze")) (void)fs_.write(dir_ + "/cgroup.freeze", "0");
    kill_all();
    cgroupfs::kill_and_remove(fs_, dir_);
    cgroupfs::remove_made_parents(fs_, dir_);
    dir_.clear();
  }

  void release() noexcept override {
    fd_.reset();
    dir_.clear();
  }

  void freeze(bool frozen) override {
    cgroupfs::write(fs_, dir_ + "/cgroup.freeze", frozen ? "1" : "0");
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (this->frozen() == frozen) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    throw Error("cgroups: " + dir_, frozen ? "the cgroup did not freeze" : "the cgroup did not thaw");
  }

  bool frozen() const override { return cgroupfs::read_key(fs_, dir_ + "/cgroup.events", "frozen").value_or(0) == 1; }

  void open_existing() {
    fd_.reset(fs_.open_dir(dir_));
    if (!fd_) throw_errno("cgroups: open", dir_);
  }

  // `ancestor`: a missing parent of the container's directory, which another start may be
  // making at the same moment (EEXIST is fine), marked as made by nucleus.
  void make(const std::string& parent, const CgroupLimits& limits, bool ancestor = false) {
    // Missing ancestors first (--cgroup-parent or an OCI cgroupsPath may name several
    // levels), each with the controllers enabled for its children.
    size_t last = parent.find_last_of('/');
    if (!fs_.exists(parent) && last != std::string::npos && last > 0) {
      std::string grand = parent.substr(0, last);
      V2Cgroup above(parent, fs_, false);
      above.make(grand, limits, true);
      above.release();
    }
    std::string available = fs_.read(parent + "/cgroup.controllers").value_or("");
    std::string enabled = fs_.read(parent + "/cgroup.subtree_control").value_or("");
    for (const std::string& c : needed_controllers(limits)) {
      if (!listed(available, c)) {
        throw Error("cgroups", "the " + c + " controller is not available in " + parent +
                                   " (cgroup.controllers: '" + available.substr(0, available.find('\n')) + "')");
      }
      if (listed(enabled, c)) continue;
      int err = fs_.write(parent + "/cgroup.subtree_control", "+" + c);
      if (err == EBUSY) {
        throw Error("cgroups", "cannot enable " + c + " below " + parent +
                                   ": it holds processes (run nucleus in its own cgroup, or name one with "
                                   "--cgroup-parent)");
      }
      if (err != 0) throw Error("cgroups: write '+" + c + "' to " + parent + "/cgroup.subtree_control", "", err);
    }
    int made = fs_.make_dir(dir_);
    if (ancestor && (made == 0 || made == EEXIST)) {
      if (made == 0) (void)fs_.mark_made_parent(dir_);
      return;
    }
    if (int err = made; err != 0) {
      std::string path = dir_;
      dir_.clear();
      throw Error("cgroups: create " + path,
                  err == EACCES || err == EPERM ? "the caller may not create cgroups here (no delegation)" : "", err);
    }
    fd_.reset(fs_.open_dir(dir_));
    if (!fd_) throw_errno("cgroups: open", dir_);
  }

 private:
  const cgroupfs::Fs& fs_;
  std::string dir_;
  UniqueFd fd_;
  bool owned_ = true;
};

}  // namespace

std::unique_ptr<Cgroup> create_v2_cgroup(const std::string& parent, const std::string& name, const CgroupLimits& limits,
                                         const cgroupfs::Fs& fs) {
  // A parent another container's end removed between our look and our mkdir (ENOENT) is
  // made again: one start never fails because another ended.
  for (int attempt = 0;; ++attempt) {
    auto cg = std::make_unique<V2Cgroup>(parent + "/" + name, fs, true);
    try {
      cg->make(parent, limits);
      return cg;
    } catch (const Error& e) {
      if (e.err() != ENOENT || attempt >= 7) throw;
    }
  }
}

std::unique_ptr<Cgroup> attach_v2_cgroup(const std::string& dir, const cgroupfs::Fs& fs) {
  auto cg = std::make_unique<V2Cgroup>(dir, fs, false);
  cg->open_existing();
  return cg;
}

}  // namespace nucleus
