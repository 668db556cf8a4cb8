#pragma once

#include <array>
#include <iterator>
#include <vector>

#include "core/sys/unique_fd.h"
#include "network/etc_files.h"

// What a standby makes of its container's root ahead of the start, besides the namespace
// (docs/networking.md, "Prepared namespaces"): a sysfs of that namespace, and the three
// /etc files (network/etc_files.h) with a mount of each, which nucleus attaches as it would
// its own. Made off the start, the files in a small tmpfs of the standby's own, kept for its
// life as its sysfs is: no superblock is made at a start or destroyed at a container's end
// (the kernel's clean-up of one tmpfs per container was 0.6 ms at each end,
// docs/performance-notes.md). The
// content is written once the container's lease and request are known (its take-over).
namespace nucleus::net {

class PreparedMounts {
 public:
  // The standby's tmpfs; empty when it cannot be made (the standby sends the namespace
  // alone, and nucleus makes its own).
  static PreparedMounts make();

  // For the next container: a mount of the standby's sysfs (made once in netns_fd's
  // namespace, read-only: every container the namespace serves sees the same devices), the
  // files made anew (the last container's are unlinked) and a mount of each. false: none
  // can be (a kernel before 6.15 clones nothing of a detached mount): the namespace goes
  // alone.
  bool renew(int netns_fd);
  // sysfs, then the files' mounts in kEtcFileNames' order: what the offer carries. Ours
  // are dropped after it (the server, then nucleus, hold their copies).
  std::vector<int> offered() const;
  void forget_offered();
  // The content, at the take-over; nothing to write when none was offered. Throws Error.
  void write(const EtcFiles& files);
  bool offering() const { return static_cast<bool>(sysfs_); }

 private:
  static constexpr size_t kFiles = std::size(kEtcFileNames);
  UniqueFd tmpfs_, sysfs_base_, sysfs_;
  std::array<UniqueFd, kFiles> files_, trees_;
};

}  // namespace nucleus::net
