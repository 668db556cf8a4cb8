#pragma once

#include <sys/types.h>

#include <cstdint>

#include "config/container_spec.h"
#include "config/spec_checks.h"  // clone_flag
#include "core/sys/unique_fd.h"

namespace nucleus::native {

// CLONE_NEW* of one namespace type.
// Every namespace the spec lists, new or joined, as CLONE_NEW* flags (setns of an exec).
uint64_t namespace_flags(const ContainerSpec& spec);

// The mount namespace of our child pid (not yet reaped, so the pid is its), for the cleanup
// keeper to let go of after nucleus has exited (core/container/keeper.h); empty if that fails.
UniqueFd open_mount_namespace(pid_t pid) noexcept;

}  // namespace nucleus::native
