#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "config/container_spec.h"
#include "config/oci/oci_hooks.h"
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


// Where a container's cgroup goes: linux.cgroupsPath (absolute: from each hierarchy's
// root; relative: below nucleus's own cgroup), else below --cgroup-parent (or our own
// cgroup) as nucleus-<pid>-<random> for a container this process holds (the stale collector
// knows that name) or nucleus-oci-<id> for one that outlives it. Throws Error.
CgroupRequest cgroup_request(const ContainerSpec& spec, const std::string& id, bool held);

// The container's init, known by pid and start time: alive (not a zombie, not a reuse of
// its pid), and a pidfd of it (empty when it is gone), checked after it was opened.
bool container_init_alive(const ContainerRecord& record);
// created, running, paused or stopped, from the record, its init and its cgroup.
std::string status_of(const ContainerRecord& record, const std::string& dir, const Cgroup* cgroup);
UniqueFd container_init_pidfd(const ContainerRecord& record);


}  // namespace nucleus::native
