// The cgroup v2 driver: one directory in the unified hierarchy; controllers enabled in the
// parent's cgroup.subtree_control; clone3(CLONE_INTO_CGROUP) through directory_fd();
// cgroup.kill (5.14+) to end what is left.
#include <cerrno>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/cgroup.h"
#include "core/error.h"

namespace nucleus {
namespace {

constexpr uint64_t kCpuPeriodUs = 100000;
constexpr uint64_t kMinQuotaUs = 1000;

std::vector<std::string> needed_controllers(const CgroupLimits& l) {
  std::vector<std::string> out;
  if (l.memory_bytes || l.stats) out.push_back("memory");
  if (l.pids || l.stats) out.push_back("pids");
  if (l.cpus) out.push_back("cpu");
  if (l.io_weight || !l.io_max.empty()) out.push_back("io");
  return out;
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
  V2Cgroup(std::string dir, const cgroupfs::Fs& fs) : fs_(fs), dir_(std::move(dir)) {}
  ~V2Cgroup() override { destroy(); }

  CgroupLayout layout() const override { return CgroupLayout::kV2; }
  std::vector<std::string> directories() const override {
    return dir_.empty() ? std::vector<std::string>{} : std::vector<std::string>{dir_};
  }
  int directory_fd() const override { return fd_.get(); }
  const cgroupfs::Fs& fs() const override { return fs_; }

  void apply(const CgroupLimits& l) override {
    if (l.memory_bytes) {
      cgroupfs::write(fs_, dir_ + "/memory.max", std::to_string(*l.memory_bytes));
      if (fs_.exists(dir_ + "/memory.swap.max")) cgroupfs::write(fs_, dir_ + "/memory.swap.max", "0");
    }
    if (l.pids) cgroupfs::write(fs_, dir_ + "/pids.max", *l.pids < 0 ? "max" : std::to_string(*l.pids));
    if (l.cpus) {
      uint64_t quota = static_cast<uint64_t>(std::llround(*l.cpus * kCpuPeriodUs));
      cgroupfs::write(fs_, dir_ + "/cpu.max", std::to_string(std::max(quota, kMinQuotaUs)) + " " + std::to_string(kCpuPeriodUs));
    }
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
    kill_all();
    cgroupfs::kill_and_remove(fs_, dir_);
    dir_.clear();
  }

  void make(const std::string& parent, const CgroupLimits& limits) {
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
    if (int err = fs_.make_dir(dir_); err != 0) {
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
};

}  // namespace

std::unique_ptr<Cgroup> create_v2_cgroup(const std::string& parent, const std::string& name, const CgroupLimits& limits,
                                         const cgroupfs::Fs& fs) {
  auto cg = std::make_unique<V2Cgroup>(parent + "/" + name, fs);
  cg->make(parent, limits);
  return cg;
}

}  // namespace nucleus
