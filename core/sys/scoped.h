#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "core/sys/unique_fd.h"

namespace nucleus {

// Runs a callable on scope exit unless dismissed.
template <typename F>
class ScopeExit {
 public:
  explicit ScopeExit(F fn) : fn_(std::move(fn)) {}
  ~ScopeExit() {
    if (active_) fn_();
  }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  void dismiss() noexcept { active_ = false; }

 private:
  F fn_;
  bool active_ = true;
};

// A private directory (mode 0700) removed with its contents on destruction.
class TempDir {
 public:
  // Creates <parent>/<prefix>XXXXXX.
  TempDir(const std::string& parent, const std::string& prefix);
  ~TempDir();
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir& operator=(TempDir&&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// A mount in the caller's namespace, detached (umount2 MNT_DETACH) on destruction.
class MountGuard {
 public:
  MountGuard() = default;
  explicit MountGuard(std::string target) : target_(std::move(target)) {}
  ~MountGuard();
  MountGuard(MountGuard&& other) noexcept : target_(std::exchange(other.target_, {})) {}
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  MountGuard& operator=(MountGuard&&) = delete;

 private:
  std::string target_;
};

// A child process owned through a pidfd: killed (SIGKILL) and reaped on destruction unless
// it was waited for. Signals go through the pidfd, so a recycled pid is never hit.
class OwnedChild {
 public:
  OwnedChild() = default;
  OwnedChild(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  ~OwnedChild();
  OwnedChild(OwnedChild&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)) {}
  OwnedChild& operator=(OwnedChild&& other) noexcept;
  OwnedChild(const OwnedChild&) = delete;
  OwnedChild& operator=(const OwnedChild&) = delete;

  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }
  explicit operator bool() const noexcept { return pid_ > 0; }

  // Sends sig; returns false (errno set) when the child is gone.
  bool signal(int sig) const noexcept;
  // Reaps the child (blocking) and returns its wait status; the owner is then empty.
  int wait();
  // Reaps without blocking; returns true and sets *status once the child has exited.
  bool try_wait(int* status);
  // Lets the child go on without an owner (an OCI container outliving `nucleus create`).
  pid_t release() noexcept {
    pidfd_.reset();
    return std::exchange(pid_, -1);
  }

 private:
  void kill_and_reap() noexcept;

  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

}  // namespace nucleus
