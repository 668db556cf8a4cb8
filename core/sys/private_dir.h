#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/sys/unique_fd.h"

// A directory only this user can change, and the files nucleus keeps in it (the caches
// under /var/cache/nucleus: compiled seccomp programs, what a runsc binary can do). Every
// path component is opened with O_NOFOLLOW beneath the one before (a symlink anywhere is
// refused, never followed), every directory from the base down must belong to this user
// (or root) and be writable by nobody else, and every file is opened beneath the checked
// directory with O_NOFOLLOW and checked again (regular, ours, not group- or
// other-writable) before its bytes are trusted. Writes go to a fresh temporary name
// (O_EXCL) and are renamed into place: a planted file or symlink is never written through.
namespace nucleus::sys {

class PrivateDir {
 public:
  // base (which must exist and pass the checks) then each of `subdirs`, created 0700 when
  // missing. nullopt with *why set when something fails a check or cannot be made;
  // *hostile says which (a symlink, someone else's, writable by others; not: missing, or
  // out of this user's reach).
  static std::optional<PrivateDir> open(const std::string& base, std::initializer_list<std::string_view> subdirs,
                                        std::string* why, bool* hostile);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

  // The file's bytes when it passes the checks and is at most max_bytes; nullopt otherwise
  // (absent, a symlink, someone else's, writable by others, too large).
  std::optional<std::string> read(const std::string& name, size_t max_bytes) const;
  // Replaces name with data (a temporary file beneath this directory, renamed); false when
  // it could not (a cache that cannot be written is only slower).
  bool write(const std::string& name, std::string_view data, mode_t mode = 0600) const;

 private:
  PrivateDir(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// Why a directory or file nucleus is about to trust is not safe: not ours (nor root's), or
// writable by group or others; nullopt when it is. `what` names it in the answer.
std::optional<std::string> unsafe_owner_or_mode(const struct stat& st, const std::string& what);

// The cache directory nucleus uses for `kind` ("seccomp", "gvisor"): /var/cache/nucleus/KIND
// for root, $XDG_CACHE_HOME/nucleus/KIND (or ~/.cache/nucleus/KIND) for anyone else; the
// test-only NUCLEUS_TEST_CACHE_DIR replaces the base (checked the same). nullopt when
// there is none to use (a warning names a cache refused for its owner, mode or a symlink).
std::optional<PrivateDir> open_cache_dir(std::string_view kind);

}  // namespace nucleus::sys
