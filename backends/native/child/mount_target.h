#pragma once

#include "backends/native/child/mount_ops.h"

// Child side (no allocation, no exceptions): where a mount lands. Paths are relative to the
// root being built and resolved with openat2(RESOLVE_IN_ROOT): a symlink in an image or a
// shared volume leads somewhere inside the root, never out of it.
namespace nucleus::native {

// Opens `rel` beneath root_fd as O_PATH (a directory for kDirectory), following symlinks
// inside the root unless no_symlinks. -1 with errno set.
int try_open(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept;

// As try_open, creating the entry and its missing parents. An entry that is a symlink
// whose target is missing (an image's /etc/resolv.conf pointing into systemd-resolved's
// /run) has its target created where the link leads, inside the root, as runc does: the
// mount covers that file and the image's link reaches it.
int open_or_create_at(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept;

}  // namespace nucleus::native
