#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/cgroup/cgroupfs.h"
#include "core/cgroup/self_cgroup.h"
#include "core/sys/unique_fd.h"

// One container's cgroup (one directory per v1 hierarchy, or one cgroup2 directory), created
// only below the caller's own cgroup (or an explicit parent the caller owns), never at a
// hierarchy's root unless that is where the caller itself sits. Shared by both backends:
// native puts the container's PID 1 in it before the workload runs anything, gVisor puts
// runsc (and so the whole sandbox) in it.
namespace nucleus {

struct IoMax {
  std::string device;  // "MAJ:MIN"
  std::optional<uint64_t> rbps, wbps, riops, wiops;
};

// One rule of the device cgroup (v1 devices.allow/deny, a BPF program on v2).
struct CgroupDeviceRule {
  bool allow = false;
  char type = 'a';                 // a, c, b
  int64_t major = -1, minor = -1;  // -1: any
  std::string access = "rwm";
};

// The CFS bandwidth both drivers write for --cpus: the period when the spec names none, and
// the kernel's floor for a quota (cfs_quota_us, cpu.max).
inline constexpr uint64_t kDefaultCpuPeriodUs = 100000;
inline constexpr uint64_t kMinCpuQuotaUs = 1000;

struct CgroupLimits {
  std::optional<uint64_t> memory_bytes;  // swap is pinned to 0 along with it unless memory_swap
  std::optional<double> cpus;
  std::optional<int64_t> pids;           // -1: unlimited
  std::optional<uint32_t> io_weight;     // 1..10000
  std::vector<IoMax> io_max;
  bool stats = false;                    // accounting, the freezer and the CPU controller even without
                                         // limits: the container can be watched, paused and updated

  // What an OCI config may add.
  bool oci = false;                      // every controller an OCI client may look at or use
  std::optional<int64_t> memory_swap;    // memory + swap; -1: unlimited
  std::optional<uint64_t> memory_reservation;
  std::optional<uint64_t> cpu_shares;    // v1 scale, 2..262144
  std::optional<uint64_t> cpu_period_us; // default 100000
  std::string cpuset_cpus, cpuset_mems;
  std::vector<CgroupDeviceRule> devices; // empty: no device cgroup rules

  bool any() const { return memory_bytes || cpus || pids || io_weight || !io_max.empty() || stats || oci; }
};

struct CgroupStats {
  uint64_t cpu_usec = 0;
  std::optional<uint64_t> cpu_throttled;  // periods the CPU quota stopped the container
  std::optional<uint64_t> memory_current, memory_peak, memory_limit;
  std::optional<uint64_t> pids_current;
  std::optional<int64_t> pids_limit;  // -1: unlimited
  uint64_t oom_kills = 0;
};

// Reads a container's accounting from its directories, whichever driver made them (v2: a
// directory with cgroup.controllers; v1: each file found where its controller is): also
// what `nucleus stats` uses from another process.
CgroupStats read_cgroup_stats(const std::vector<std::string>& directories, const cgroupfs::Fs& fs = cgroupfs::real());

class Cgroup {
 public:
  virtual ~Cgroup() = default;
  virtual CgroupLayout layout() const = 0;
  // Every directory of this cgroup.
  virtual std::vector<std::string> directories() const = 0;
  // v1: whether a hierarchy of this controller holds the container (cgroup2: all do).
  virtual bool has_controller(const std::string& /*controller*/) const { return true; }
  // The v1 controllers `limits` need that this cgroup was made without.
  std::vector<std::string> lacking(const CgroupLimits& limits) const;
  // The files a single-threaded process writes "0" to, to move itself in: cgroup2's
  // cgroup.procs, but a v1 hierarchy's `tasks`. A thread moving itself spares the kernel's
  // global threadgroup lock, whose writer otherwise waits an RCU grace period (5-15 ms
  // here, on every start that comes after a quiet moment). Processes join themselves, from
  // files nucleus opened (the kernel checks the opener's credentials): nucleus never moves
  // another process.
  virtual std::vector<std::string> self_join_files() const;
  // cgroup2 only: an fd of the directory, for clone3(CLONE_INTO_CGROUP); -1 otherwise.
  virtual int directory_fd() const { return -1; }
  virtual void apply(const CgroupLimits& limits) = 0;  // throws Error naming the file
  virtual const cgroupfs::Fs& fs() const = 0;
  virtual uint64_t oom_kills() const = 0;
  // Usage, limit, and how often a charge has hit the limit (v1 memory.failcnt, v2
  // memory.events "max"), for the gVisor memory watchdog.
  struct MemoryState {
    uint64_t usage = 0;
    uint64_t limit = 0;
    uint64_t failures = 0;
  };
  virtual MemoryState memory_state() const = 0;
  CgroupStats stats() const { return read_cgroup_stats(directories(), fs()); }
  // SIGKILLs every process in the cgroup (v2 cgroup.kill where the kernel has it): the way to
  // end a sandbox that no longer answers (a stalled Sentry). Only this container's processes
  // can be in it.
  virtual void kill_all() const noexcept = 0;
  // Kills what is left (only processes of this container can be in it), waits for them and
  // removes the directories. Best effort, idempotent; also run by the destructor.
  virtual void destroy() noexcept = 0;
  // Forgets the directories without removing them: an OCI container's cgroup outlives the
  // nucleus that made it.
  virtual void release() noexcept = 0;
  // The freezer (v1 freezer.state, v2 cgroup.freeze); returns once the state is reached.
  virtual void freeze(bool frozen) = 0;  // throws Error
  virtual bool frozen() const = 0;
};

// An existing container cgroup from its directories (an OCI container's record), to signal,
// freeze, update or remove it; released, not removed, by its destructor unless destroy().
std::unique_ptr<Cgroup> open_cgroup(const std::vector<std::string>& directories);

struct CgroupRequest {
  std::string name;                  // directory name: nucleus-<pid>-<random>
  std::optional<std::string> parent; // absolute: from the hierarchy's root; relative: below ours
  CgroupLimits limits;
  // The parents made for it are marked, and the last container to leave one removes it
  // (--cgroup-parent); false: they stay, as runc leaves a config's cgroupsPath's slices.
  bool remove_made_parents = true;
};

// The directories a request names that exist now, in every hierarchy (an OCI container
// whose record was lost: delete --force still finds its cgroup).
std::vector<std::string> existing_cgroup_directories(const CgroupHierarchies& hierarchies, const CgroupRequest& request);


// nullopt-like: returns nullptr when nothing was asked (limits.any() false). Throws Error
// when limits were asked and the host cannot give them (no controller, no write access).
std::unique_ptr<Cgroup> create_cgroup(const CgroupHierarchies& hierarchies, const CgroupRequest& request);

// What both backends call: reads the hierarchies and creates this container's cgroup. When the user asked for no limit
// (`requested` false: only the default pids limit) and the host cannot give a cgroup (no
// delegation for a non-root caller, a cgroup2 parent holding processes), the container runs
// without one; when limits were asked, that is an error saying why.
std::unique_ptr<Cgroup> create_container_cgroup(const CgroupLimits& limits, bool requested,
                                                const std::optional<std::string>& parent);
std::unique_ptr<Cgroup> create_container_cgroup(const CgroupRequest& request, bool requested);

// One line on stderr, "nucleus: <text>", for what nucleus reports about a workload that ended
// (an OOM kill), which is neither an error nor a warning of nucleus's own.
void report_to_user(const std::string& text);

// "nucleus-<our pid>-<6 hex>".
// The files of self_join_files(), opened for writing by nucleus (the kernel checks the
// opener's credentials); none for no cgroup. Throws Error.
std::vector<UniqueFd> open_self_join_files(const Cgroup* cgroup);

// `update` of a limit whose v1 hierarchy the container was made without: refused (125)
// rather than skipped, naming the controller.
void require_controllers_for_update(const Cgroup& cgroup, const CgroupLimits& limits, const std::string& id);
// Moves the calling single-threaded process into the cgroup through those files: "0" into
// each. Returns 0 or an errno. Async-signal-safe (the child, runsc's starter, the exec
// helper call it between fork and exec).
int join_cgroup_through(std::span<const int> fds) noexcept;

std::string new_cgroup_name();

// Removes empty nucleus-<pid>-* cgroups below the caller's cgroups whose nucleus is gone
// (killed before it could clean up). Never touches a cgroup with processes in it.
void collect_stale_cgroups(const CgroupHierarchies& hierarchies);
// The same for the caller's own hierarchies, errors ignored. The backends call it once the
// container is on its way (off the start's critical path).
void collect_stale_container_cgroups() noexcept;

// ---- the drivers (cgroup_v1.cc, cgroup_v2.cc); roots are parameters so tests can use a
// fake tree ------------------------------------------------------------------------------
// v1: controller -> directory to create (parent/name in that controller's hierarchy).
std::unique_ptr<Cgroup> create_v1_cgroup(const std::vector<std::pair<std::string, std::string>>& dirs,
                                         const cgroupfs::Fs& fs = cgroupfs::real());
// The same directories, already there (open_cgroup).
std::unique_ptr<Cgroup> attach_v1_cgroup(const std::vector<std::pair<std::string, std::string>>& dirs,
                                         const cgroupfs::Fs& fs = cgroupfs::real());
std::unique_ptr<Cgroup> attach_v2_cgroup(const std::string& dir, const cgroupfs::Fs& fs = cgroupfs::real());

// v2 device rules: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the directory
// (cgroup_devices.cc). Rules are read last to first, the first that matches decides; none
// matching allows. Throws Error.
void attach_device_program(int cgroup_dir_fd, const std::vector<CgroupDeviceRule>& rules);
// v2: parent must be a cgroup2 directory; the controllers the limits need are enabled in its
// subtree_control.
std::unique_ptr<Cgroup> create_v2_cgroup(const std::string& parent, const std::string& name,
                                         const CgroupLimits& limits, const cgroupfs::Fs& fs = cgroupfs::real());

}  // namespace nucleus
