#pragma once

#include <sys/types.h>

#include <map>
#include <string>

// A Kubernetes pod under the gVisor backend: every container of the pod runs in the pod's
// one sandbox, as with runsc. containerd's CRI marks each container's config.json with
// annotations runsc reads itself (io.kubernetes.cri.container-type: sandbox | container,
// io.kubernetes.cri.sandbox-id), and runsc finds the pod's sandbox under its --root: so the
// containers of a pod share one runsc root, <state root>/.pod-<sandbox id> (hidden from
// `list`; its runsc state files are per container, and the directory goes with the last).
//
// The runc shim knows a container by the pid in its pid file and learns of its end when
// that process exits (the shim is its subreaper). A pod member's runsc pid is the pod's
// sandbox, which belongs to the sandbox container's shim and outlives the member: so a
// member's pid is a waiter of nucleus's own (`internal-pod-wait`), a child of `create`
// that waits for `start`, then for the container (`runsc wait`), and exits with its status.
namespace nucleus::gvisor {

struct PodRole {
  enum class Kind { kNone, kSandbox, kMember } kind = Kind::kNone;
  std::string sandbox_id;  // the pod's sandbox container (its own id for the sandbox)
};

// From a config's annotations; kNone without the CRI's container type. Throws Error for a
// member that names no sandbox or an id that cannot name a state entry.
PodRole pod_role(const std::map<std::string, std::string>& annotations, const std::string& id);

// The pod's shared runsc root under the state root (made 0700 when missing).
std::string pod_runsc_root(const std::string& state_root, const std::string& sandbox_id);
// Removes the pod's runsc root once no container's state is left in it.
void remove_pod_root_if_empty(const std::string& runsc_root) noexcept;

// Whether runsc keeps state for `id` under `runsc_root` (its <id>_sandbox:<sandbox>.state).
bool has_runsc_state(const std::string& runsc_root, const std::string& id);
// The pod runsc root under `state_root` that holds `id`'s state, or "" (a corrupted record
// no longer says which pod it was in).
std::string find_pod_runsc_root(const std::string& state_root, const std::string& id);

// The waiter of a pod member, started by `create` once `runsc create` has made the
// container: a child of this process in a session of its own, with nothing of nucleus's
// open but its stdio (the container's, which `start` takes from it with pidfd_getfd and
// hands to runsc) and <record>/start.fifo. Returns its pid.
pid_t start_pod_waiter(const std::string& record_dir, const std::string& runsc, const std::string& runsc_root,
                       const std::string& id);
// Lets the waiter go on (`start`, or `kill`/`delete` of a container that never started);
// nothing when there is no waiter.
void release_pod_waiter(const std::string& record_dir) noexcept;
// The waiter's life (`nucleus internal-pod-wait`): waits for the release on fd 3, then for
// the container, and returns its exit status as runc reports it (128+N for a signal; 137
// when runsc can no longer say: its sandbox is gone).
int pod_waiter_main(const std::string& runsc, const std::string& runsc_root, const std::string& id);

}  // namespace nucleus::gvisor
