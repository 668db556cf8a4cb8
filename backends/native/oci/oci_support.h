#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "config/workload_spec.h"
#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"
#include "core/sys/unique_fd.h"

// Small pieces of the OCI verbs the native backend shares between create, exec and the
// lifecycle verbs.
namespace nucleus::native {

// Sends fd over the AF_UNIX socket at path (SCM_RIGHTS), as conmon and containerd's shim
// expect of --console-socket. Throws Error.
void send_to_console_socket(const std::string& path, int fd);

// Writes the pid, atomically (temp file + rename), as runc does. Throws Error.
void write_pid_file(const std::string& path, pid_t pid);

// Runs each hook with the container's state on stdin, in nucleus's namespaces; a failing
// hook (non-zero, or past its timeout) is an Error naming it when `fatal`, else a warning.
void run_hooks(const std::vector<OciHook>& hooks, const char* phase, const std::string& state_json, bool fatal);

// The config.json a container was created with (kept in its state directory). Throws Error.
WorkloadSpec load_kept_spec(const std::string& state_dir, const std::string& bundle);

// The cgroup an OCI container gets (native_create.cc).
CgroupRequest oci_cgroup_request(const WorkloadSpec& spec, const std::string& id);

// The container's init, known by pid and start time: alive (not a zombie, not a reuse of
// its pid), and a pidfd of it (empty when it is gone), checked after it was opened.
bool container_init_alive(const ContainerRecord& record);
UniqueFd container_init_pidfd(const ContainerRecord& record);


}  // namespace nucleus::native
