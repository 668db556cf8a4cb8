#include "backends/gvisor/state_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "backends/gvisor/runsc/runsc_process.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

constexpr const char* kParent = "/run";
constexpr const char* kPrefix = "nucleus-gvisor-";

std::string random_id() {
  unsigned char bytes[6];
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) throw_errno("getrandom");
  char hex[13];
  for (int i = 0; i < 6; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return std::string("nucleus-") + hex;
}

}  // namespace

StateDir::StateDir() : dir_(kParent, kPrefix), id_(random_id()) {
  lock_ = sys::open(path() + "/lock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, "create the gVisor state", 0600);
  if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) throw_errno("lock the gVisor state", path());
  UniqueFd id = sys::open(path() + "/id", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, "create the gVisor state", 0600);
  if (int err = sys::write_all(id.get(), id_.data(), id_.size())) throw Error("write the gVisor state", path(), err);
  for (const std::string& sub : {bundle(), runsc_root()}) {
    if (::mkdir(sub.c_str(), 0700) != 0) throw_errno("create the gVisor state", sub);
  }
}

void collect_state_dir(const std::string& runsc, const std::string& path) {
  struct stat st;
  if (std::string(path).rfind(std::string(kParent) + "/" + kPrefix, 0) != 0) return;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) return;
  UniqueFd lock(::open((path + "/lock").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!lock || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return;  // in use
  std::string id;
  try {
    id = sys::read_file(path + "/id", 64, "read the gVisor state");
  } catch (const Error&) {
  }
  if (!id.empty()) run_runsc(runsc, {"--root=" + path + "/runsc", "delete", "--force", id});
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

void collect_stale_state(const std::string& runsc) {
  DIR* dir = ::opendir(kParent);
  if (dir == nullptr) return;
  std::vector<std::string> candidates;
  while (dirent* e = ::readdir(dir)) {
    if (std::string(e->d_name).rfind(kPrefix, 0) == 0) candidates.push_back(std::string(kParent) + "/" + e->d_name);
  }
  ::closedir(dir);
  for (const std::string& path : candidates) collect_state_dir(runsc, path);
}

}  // namespace nucleus::gvisor
