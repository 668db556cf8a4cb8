#pragma once

// Copies a directory tree (directories, regular files, symlinks; modes and owners) from
// src_dir to dst_dir, for a tmpfs mounted over a directory with "tmpcopyup" (podman
// --read-only). Child-side: stack buffers only, at most 8 levels deep. Returns 0, or -1
// with errno set.
namespace nucleus::native {

int copy_tree(int src_dir, int dst_dir) noexcept;

}  // namespace nucleus::native
