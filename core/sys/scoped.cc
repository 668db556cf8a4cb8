#include "core/sys/scoped.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

// Removes dirfd's contents without following symlinks (so a planted link can never make
// cleanup delete outside the tree) and without crossing into other mounts.
void remove_tree_at(int dirfd) {
  UniqueFd dup(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return;
  DIR* dir = ::fdopendir(dup.get());
  if (dir == nullptr) return;
  dup.release();
  std::vector<std::pair<std::string, bool>> entries;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    entries.emplace_back(name, e->d_type == DT_DIR);
  }
  ::closedir(dir);
  for (const auto& [name, is_dir] : entries) {
    if (is_dir) {
      int child = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) {
        UniqueFd owner(child);
        remove_tree_at(child);
      }
      ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
    } else {
      ::unlinkat(dirfd, name.c_str(), 0);
    }
  }
}

}  // namespace

TempDir::TempDir(const std::string& parent, const std::string& prefix) {
  std::string templ = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw_errno("create temporary directory", templ);
  path_ = std::move(templ);
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  int fd = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    UniqueFd owner(fd);
    remove_tree_at(fd);
  }
  ::rmdir(path_.c_str());
}

MountGuard::~MountGuard() {
  if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
}

OwnedChild& OwnedChild::operator=(OwnedChild&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

OwnedChild::~OwnedChild() { kill_and_reap(); }

bool OwnedChild::signal(int sig) const noexcept {
  if (pid_ <= 0) {
    errno = ESRCH;
    return false;
  }
  return sys::raw_pidfd_send_signal(pidfd_.get(), sig) == 0;
}

int OwnedChild::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("wait for child", std::to_string(pid_));
  }
  pid_ = -1;
  pidfd_.reset();
  return status;
}

bool OwnedChild::try_wait(int* status) {
  pid_t r = ::waitpid(pid_, status, WNOHANG);
  if (r < 0 && errno != EINTR) throw_errno("wait for child", std::to_string(pid_));
  if (r != pid_) return false;
  pid_ = -1;
  pidfd_.reset();
  return true;
}

void OwnedChild::kill_and_reap() noexcept {
  if (pid_ <= 0) return;
  signal(SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  pidfd_.reset();
}

}  // namespace nucleus
