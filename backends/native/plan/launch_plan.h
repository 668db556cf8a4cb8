#pragma once

#include <sched.h>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backends/native/layers/capabilities.h"
#include "backends/native/layers/landlock.h"
#include "core/policy/rlimits.h"
#include "backends/native/plan/rootfs.h"
#include "core/policy/seccomp_compile.h"
#include "backends/native/plan/userns.h"
#include "config/container_spec.h"
#include "core/container/child_report.h"
#include "core/sys/error.h"
#include "core/policy/identity.h"
#include "core/policy/seccomp_profile.h"

// The WorkloadSpec flattened into what the child needs, prepared entirely in the parent:
// after clone the child only reads this (argv and envp arrays, mount ops, ids) and writes
// into the preallocated scratch slots. Building it is pure given a HostContext, so the
// plan is unit-tested without root.
namespace nucleus::native {

// Test-only relaxations (NUCLEUS_TEST_ABLATE), so the suite can show each layer holding
// with the one in front of it removed (security-bar §0, "layer attribution"). Unset, they
// change nothing; set, nucleus warns on every run.
struct Ablation {
  bool no_new_privs = false;  // "nnp"
  bool masks = false;         // "masks": no masked or read-only /proc and /sys paths
  bool userns_clamp = false;  // "userns-clamp": nested user namespaces not limited
  bool read_only_binds = false;  // "ro-mounts": ro volumes and host-view binds mounted rw

  bool any() const { return no_new_privs || masks || userns_clamp || read_only_binds; }
};

struct HostContext {
  bool caller_is_root = false;
  uid_t uid = 0;
  gid_t gid = 0;
  HostProbe probe;
  int landlock_abi = 0;
  int last_cap = 40;
  Ablation ablation;
};

// How this start relates to the process making it.
struct LaunchMode {
  // A container held by this process (run, a detached service's monitor): it dies with its
  // maker (PR_SET_PDEATHSIG). An OCI container outlives the `create` that made it.
  bool tied_to_parent = false;
  // The container's cgroup, by controller (v1) or {"", dir} (v2), for the "cgroup" mounts of
  // a config.json.
  std::vector<std::pair<std::string, std::string>> cgroup_dirs;
  bool cgroup_v2 = false;
};

struct LaunchPlan {
  uint64_t clone_flags = 0;
  bool user_namespace = false;
  UserNamespaceIds ids;
  bool idmapped_rootfs = false;
  std::string rootfs;  // canonical; the parent id-maps it when idmapped_rootfs

  RootPlan root;
  std::string hostname;
  // The network namespace is made by the child itself, first thing (unshare), instead of by
  // the clone: see build_launch_plan.
  bool unshare_network = false;
  bool bring_up_loopback = false;
  std::string workdir = "/";

  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::string search_path;               // PATH inside, where the command is looked up, once
  Identity identity;
  bool init = true;
  // When the child joins its cgroup, through the files "C" carries (Cgroup::self_join_files),
  // where it is not cloned into it (CLONE_INTO_CGROUP, cgroup2-only hosts):
  //  - kAfterGo: right after "G", before its cgroup namespace and the mounts, when the root
  //    needs the cgroup (a config's "cgroup" mount binds its directories);
  //  - kAfterRoot: once its root is built, the parent having made the cgroup meanwhile; the
  //    cgroup namespace and the workload come only after.
  enum class CgroupJoin : uint8_t { kAtClone, kAfterGo, kAfterRoot };
  CgroupJoin cgroup_join = CgroupJoin::kAtClone;
  // The caller's CPU affinity. The parent starts the child on another CPU than its
  // own (start_child_elsewhere) before "G"; the child gives itself this mask back right
  // after "G", so the workload has the caller's.
  bool restore_affinity = false;
  cpu_set_t affinity = {};

  // The layers, in the order the child applies them.
  bool no_new_privs = true;
  std::vector<RlimitSetting> rlimits;
  CapabilityPlan capabilities;
  LandlockPlan landlock;
  // Under the supervisor, the parent builds the ruleset from the root the child sends ("P") while the child
  // gets on with its start; the workload takes it ("L") right before restricting itself.
  bool landlock_from_parent = false;
  std::shared_ptr<const seccomp::Profile> seccomp_profile;  // none: --seccomp unconfined
  seccomp::Conditions seccomp_conditions;
  SeccompPrograms seccomp;  // compiled (or read from the cache) by the backend
  // The supervisor loads the filter just before it forks the workload, which inherits it:
  // one load (about 0.2 ms of kernel work) per container instead of two. Only for nucleus's
  // own profile, which allows every call the workload makes before its exec (the identity
  // and capability calls, Landlock's); a --seccomp file is loaded last, by the workload.
  bool seccomp_from_supervisor = false;

  // The life of a container: the workload waits on its state directory's exec.fifo for
  // `start` (runc's exec.fifo); under `run` on a pipe its nucleus reads at once. The fd is
  // inherited across clone.
  bool tied_to_parent = false;     // PR_SET_PDEATHSIG: it dies with the nucleus that holds it
  int exec_fifo_fd = -1;           // what the workload writes its byte to (StartSignal)
  enum class StartSignal {
    kFifo,       // O_PATH of <record>/exec.fifo, reopened for writing through /proc
    kFifoInDir,  // a chrooted root has no /proc: the record's directory, the fifo beneath it
    kPipe,       // `run`: a pipe's write end (its reader is nucleus, which starts it at once)
  };
  StartSignal start_signal = StartSignal::kFifo;
  bool new_cgroup_namespace = false;
  std::vector<int> join_fds;       // namespaces to join (setns), opened by the parent
  std::vector<int> join_types;     // their CLONE_NEW* flags
  bool terminal = false;           // a pty whose master goes to the console socket
  uint16_t rows = 0, columns = 0;
  std::optional<mode_t> umask;
  std::string oom_score_text;      // "500", written to /proc/self/oom_score_adj; "": untouched
  // --preserve-fds N: the caller's fds 3 to 3+N-1, open in nucleus (the verb checked), reach
  // the workload; every other fd above 2 is closed or close-on-exec.
  unsigned preserve_fds = 0;
  std::string domainname;

  // Filled by finalize(): pointers into the storage above, and child scratch space.
  std::vector<char*> argv;
  std::vector<char*> envp;
  ChildIdentity child_identity;
  std::vector<int> staging_source_fds;
  std::vector<int> root_source_fds;
  std::vector<int> dev_source_fds;
  std::vector<char> exec_path;  // the executable, found on search_path before the container is ready

  // Points the arrays at the storage; call once the plan sits where the child will read it.
  void finalize();
};

// The container's start, from THE spec: namespaces and id maps, the root (nucleus's layout
// or the mounts as written), the process and its layers. Throws Error.
LaunchPlan build_launch_plan(const ContainerSpec& spec, const HostContext& host, const LaunchMode& mode);

// One more process in a running container (`exec`): `process`, under the container's own
// seccomp profile and Landlock rules. Throws Error.
LaunchPlan build_exec_plan(const ContainerSpec& container, const ProcessSpec& process, const HostContext& host);

// This host.
HostContext real_host();

// Words a child's report as an Error: step, detail and errno; 126/127 for exec failures.
Error describe_child_failure(const LaunchPlan& plan, const ChildReport& report);

}  // namespace nucleus::native
