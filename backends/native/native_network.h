#pragma once

#include <sys/types.h>

#include <array>
#include <string>

#include "backends/native/native_session.h"
#include "backends/native/plan/launch_plan.h"
#include "config/container_spec.h"
#include "core/sys/unique_fd.h"
#include "network/etc_files.h"

// A native container's network beyond its loopback, for create (native_create.cc): netd's
// bridge (network/client/container_network.h) or pasta (network/client/user_mode.h), in the
// order create calls them.
namespace nucleus::native {

// --network bridge: /etc/resolv.conf, /etc/hosts and /etc/hostname, made by the standby
// that prepared the container's namespace (network/daemon/prepared_mounts.h), else files of
// a small tmpfs of this nucleus's own, detached (no path on the host: nothing to clean up, nothing made
// on the state root's disk at every start), each attached read-only over the root's by the
// child (the plan's kAttachTree ops, rootfs.h kBridgeEtcFiles); their content is written
// through the tmpfs once the network is attached, into the files the container sees. A
// kernel before 6.15 clones no file of a detached mount: there, and with
// NUCLEUS_BRIDGE_ETC=record, they are made in <record>/etc, cloned from there and unlinked.
class NetworkEtcFiles {
 public:
  static NetworkEtcFiles make(const std::string& record_dir);
  // The files a standby made with the namespace it prepared (ContainerNetwork::Prepared):
  // mounts only, whose content netd writes (write() then writes nothing).
  static NetworkEtcFiles given(std::vector<UniqueFd> trees);
  // After plan.finalize(): the child attaches our trees (it closes its copies).
  void give_to(LaunchPlan& plan) const;
  void write(const net::EtcFiles& files) const;
  bool ours() const { return static_cast<bool>(files_[0]); }
  // Once the child has attached them (its root is built): the record's copies unlinked,
  // where there are some (the attached mounts and our fds hold the files; a record's
  // removal after a run only unlinks files, and would leave an etc/ directory aside).
  void forget_record_copies() const noexcept;

 private:
  std::array<UniqueFd, std::size(kBridgeEtcFiles)> files_;  // each file, open for writing: ours only
  std::array<UniqueFd, std::size(kBridgeEtcFiles)> trees_;  // each file as a mount, attached read-only
  std::string record_etc_;                                   // <record>/etc, or "" (the tmpfs)
};
// Whether a process with these capabilities could change a network namespace (NET_ADMIN,
// NET_RAW or SYS_ADMIN in any set), and whether a container's prepared namespace may serve
// a later container once it has ended (docs/networking.md, "Recycled namespaces").
bool could_change_the_namespace(const CapabilitySets& capabilities);
bool namespace_recyclable(const ContainerSpec& spec);
// Orders the container's network from netd as soon as the id is ours.
net::ContainerNetwork order_network(const ContainerSpec& spec, const std::string& id, const std::string& root);
// As soon as the container's network namespace exists (the child's init cloned).
void give_network_namespace(NativeSession& s);
// Waits for netd's attach and fills the /etc files.
void attach_network(NativeSession& s, const NetworkEtcFiles& files);
// --network pasta (or bridge asked without root).
void attach_user_network(NativeSession& s, pid_t init, const std::string& id, const std::string& root);

}  // namespace nucleus::native
