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
#include "config/presets.h"
#include "config/workload_spec.h"
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
  std::string caller_term;
  HostProbe probe;
  // A small file of the container's root ("etc/passwd"), "" when it has none.
  std::function<std::string(const std::string& relpath)> read_container_file;
  // Whether an absolute path is a directory in the container's view.
  std::function<bool(const std::string& path)> container_has_dir;
  // A user's JSON seccomp profile (--seccomp FILE).
  std::function<seccomp::Profile(const std::string& path)> load_seccomp_profile;
  int landlock_abi = 0;
  int last_cap = 40;
  Ablation ablation;
};

struct LaunchPlan {
  uint64_t clone_flags = 0;
  bool user_namespace = false;
  UserNamespaceIds ids;
  bool idmapped_rootfs = false;
  std::string rootfs;  // canonical; the parent id-maps it when idmapped_rootfs

  RootPlan root;
  std::string hostname;
  bool bring_up_loopback = false;
  std::string workdir = "/";

  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<std::string> dropped_env;  // for the warning
  std::string search_path;               // PATH inside, for command lookup
  Identity identity;
  bool init = true;
  // When the child joins its cgroup, through the files "C" carries (Cgroup::self_join_files),
  // where it is not cloned into it (CLONE_INTO_CGROUP, cgroup2-only hosts):
  //  - kAfterGo (`create`): right after "G", before its cgroup namespace and the config's
  //    mounts;
  //  - kAfterRoot (`run`): once its root is built, the parent having made the cgroup
  //    meanwhile; the cgroup namespace and the workload come only after.
  enum class CgroupJoin : uint8_t { kAtClone, kAfterGo, kAfterRoot };
  CgroupJoin cgroup_join = CgroupJoin::kAtClone;
  // `run`: the caller's CPU affinity. The parent starts the child on another CPU than its
  // own (start_child_elsewhere) before "G"; the child gives itself this mask back right
  // after "G", so the workload has the caller's.
  bool restore_affinity = false;
  cpu_set_t affinity = {};

  // The layers, in the order the child applies them.
  bool no_new_privs = true;
  std::vector<RlimitSetting> rlimits;
  CapabilityPlan capabilities;
  LandlockPlan landlock;
  // `run`: the parent builds the ruleset from the root the child sends ("P") while the child
  // gets on with its start; the workload takes it ("L") right before restricting itself.
  bool landlock_from_parent = false;
  std::optional<seccomp::Profile> seccomp_profile;  // none: --seccomp unconfined
  seccomp::Conditions seccomp_conditions;
  SeccompPrograms seccomp;  // compiled (or read from the cache) by the backend
  // The supervisor loads the filter just before it forks the workload, which inherits it:
  // one load (about 0.2 ms of kernel work) per container instead of two. Only for nucleus's
  // own profile, which allows every call the workload makes before its exec (the identity
  // and capability calls, Landlock's); a --seccomp file is loaded last, by the workload.
  bool seccomp_from_supervisor = false;

  // An OCI container (`nucleus create`, oci_plan.cc): the config is the policy, the child
  // outlives nucleus and waits for `nucleus start` before it execs.
  struct Oci {
    bool enabled = false;
    int exec_fifo_fd = -1;           // O_PATH of <state>/exec.fifo, inherited across clone
    bool new_cgroup_namespace = false;
    std::vector<int> join_fds;       // namespaces to join (setns), opened by the parent
    std::vector<int> join_types;     // their CLONE_NEW* flags
    bool terminal = false;           // a pty whose master goes to the console socket
    uint16_t rows = 0, columns = 0;
    bool set_oom_score = false;
    bool set_umask = false;
    unsigned umask = 022;
    std::string domainname;
    std::string oom_score_text;      // "500", written to /proc/self/oom_score_adj
  } oci;

  // Filled by finalize(): pointers into the storage above, and child scratch space.
  std::vector<char*> argv;
  std::vector<char*> envp;
  ChildIdentity child_identity;
  std::vector<int> staging_source_fds;
  std::vector<int> root_source_fds;
  std::vector<int> dev_source_fds;
  std::vector<char> exec_path;  // the resolved executable (OCI: found before `start`)

  // Points the arrays at the storage; call once the plan sits where the child will read it.
  void finalize();
};

LaunchPlan build_launch_plan(const WorkloadSpec& spec, const Preset& preset,
                             const HostContext& host);

// This host (host_context.cc).
HostContext real_host(const WorkloadSpec& spec);

// Words a child's report as an Error: step, detail and errno; 126/127 for exec failures.
Error describe_child_failure(const LaunchPlan& plan, const ChildReport& report);

}  // namespace nucleus::native
