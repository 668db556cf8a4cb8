#pragma once

#include <string>

// runc's systemd cgroup driver names a container's cgroup "slice:prefix:name" (kubelet with
// SystemdCgroup = true: "kubepods-burstable-pod<uid>.slice:cri-containerd:<id>"). Without
// systemd managing the cgroups, nucleus keeps to cgroupfs under the path systemd would give
// that unit, so the container sits inside its pod's and QoS class's slices:
// /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
namespace nucleus {

// A slice's path: every dash-separated prefix is a parent slice ("a-b.slice" is
// "/a.slice/a-b.slice"; "-.slice" is the root). Throws Error for what systemd would refuse.
std::string expand_slice(const std::string& slice);

// The cgroupfs path of "slice:prefix:name" (an empty slice is system.slice; the unit is
// "prefix-name.scope", or the slice `name` itself). An empty path stays empty (the default
// cgroup). Throws Error naming the field for any other form.
std::string cgroupfs_path_of_systemd(const std::string& path);

}  // namespace nucleus
