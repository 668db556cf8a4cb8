#pragma once

#include "backends/native/child/mount_ops.h"

// Child side (no allocation, no exceptions): where a mount lands. Paths are relative to the
// root being built and resolved with openat2(RESOLVE_IN_ROOT): a symlink in an image or a
// shared volume leads somewhere inside the root, never out of it.
namespace nucleus::native {

// Opens `rel` beneath root_fd as O_PATH (a directory for kDirectory), following symlinks
// inside the root unless no_symlinks. -1 with errno set.
int try_open(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept;

// As try_open, creating the entry and its missing parents. A link whose target is missing
// is refused (ENOENT), as runc 1.2 does: nothing is made where it leads.
int open_or_create_at(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept;

// When rel's last component is a link (dangling or not), removes it, so that the mount
// point made next is a file of the root's own: a bridge's /etc files over an image whose
// /etc/resolv.conf points into systemd-resolved's /run, which a tmpfs on /run would hide
// (Docker's /etc files are files too). Only in a writable layer; the image is never
// touched. 0 when there is none.
int replace_link(int root_fd, const char* rel) noexcept;

}  // namespace nucleus::native
