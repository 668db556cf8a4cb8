#pragma once

#include <cstdint>
#include <string>

#include "config/container_spec.h"

// What a config.json may ask that no backend of nucleus does, checked against this host
// once, for both backends, before either makes anything (issue 13: the gVisor path had
// handed runsc what the native one refused). The native backend's own checks stay behind
// it as a second line; these are the ones a user meets, worded the same on both.
namespace nucleus {

// Throws Error naming the field: a root.path that is not a directory, a hostname or
// domainname longer than the kernel takes, a sysctl outside the container's own
// namespaces, a cgroupsPath with '..', a filesystem type this kernel does not know, a
// namespace path that is not a namespace of its type, hooks nucleus does not run.
void check_config_spec(const ContainerSpec& spec);

// Sysctls that belong to the container's own namespaces (runc's list): anything else would
// change the host's kernel.
bool namespaced_sysctl(const std::string& key, const ContainerSpec& spec);

// The clone(2)/setns(2) flag of a namespace type (one table for both backends).
uint64_t clone_flag(NamespaceType type);

}  // namespace nucleus
