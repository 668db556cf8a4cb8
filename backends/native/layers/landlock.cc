#include "backends/native/layers/landlock.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

// Rights by number (linux/landlock.h); Debian 12's headers predate the later ABIs.
constexpr uint64_t kExecute = 1ull << 0, kWriteFile = 1ull << 1, kReadFile = 1ull << 2,
                   kReadDir = 1ull << 3, kRemoveDir = 1ull << 4, kRemoveFile = 1ull << 5,
                   kMakeChar = 1ull << 6, kMakeDir = 1ull << 7, kMakeReg = 1ull << 8,
                   kMakeSock = 1ull << 9, kMakeFifo = 1ull << 10, kMakeBlock = 1ull << 11,
                   kMakeSym = 1ull << 12, kRefer = 1ull << 13, kTruncate = 1ull << 14,
                   kIoctlDev = 1ull << 15;
// The rights a rule on a regular file (not a directory) may carry.
constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;
constexpr uint64_t kScopeAbstractUnixSocket = 1ull << 0, kScopeSignal = 1ull << 1;

// What each ABI added: 1 the base set, 2 REFER, 3 TRUNCATE, 5 IOCTL_DEV.
uint64_t handled_for(int abi) {
  uint64_t rights = (1ull << 13) - 1;
  if (abi >= 2) rights |= kRefer;
  if (abi >= 3) rights |= kTruncate;
  if (abi >= 5) rights |= kIoctlDev;
  return rights;
}

// The ruleset attributes of ABI 6, sized per ABI when created.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

int add_path_rule(int ruleset, int fd, uint64_t access) noexcept {
  landlock_path_beneath_attr attr = {};
  attr.allowed_access = access;
  attr.parent_fd = fd;
  return static_cast<int>(::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0));
}

// Adds a rule for path, resolved beneath root_fd as if it were "/" (absent paths are
// skipped); a non-directory keeps only file rights.
int add_rule_at(int ruleset, int root_fd, const char* path, uint64_t access) noexcept {
  while (*path == '/') ++path;
  open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  int fd = sys::raw_openat2(root_fd, *path == '\0' ? "." : path, how);
  if (fd < 0) return errno == ENOENT ? 0 : errno;
  struct stat st;
  int rc = ::fstat(fd, &st);
  if (rc == 0) rc = add_path_rule(ruleset, fd, S_ISDIR(st.st_mode) ? access : (access & kFileRights));
  int saved = errno;
  ::close(fd);
  return rc == 0 ? 0 : saved;
}

// A top-level entry whose type the directory listing gave (a directory or a regular file):
// opened without following anything and without the fstat add_rule_at needs for links and
// unknown types (about twenty entries at every start of a writable root). An entry that is
// no longer what the listing said is looked at again the long way.
int add_entry_rule(int ruleset, int root_fd, const char* name, bool directory, uint64_t access) noexcept {
  int fd = ::openat(root_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : errno;
  int rc = add_path_rule(ruleset, fd, directory ? access : (access & kFileRights));
  int saved = errno;
  ::close(fd);
  if (rc == 0) return 0;
  return saved == EINVAL ? add_rule_at(ruleset, root_fd, name, access) : saved;
}

bool excluded(const LandlockPlan& plan, const char* name) {
  for (const std::string& e : plan.root_excluded) {
    if (std::strcmp(e.c_str(), name) == 0) return true;
  }
  return false;
}

// The overlay root's top-level entries, read with getdents64 into a stack buffer.
int grant_root_layer(const LandlockPlan& plan, int ruleset, int root_fd) noexcept {
  int dir = ::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno;
  alignas(8) char buf[4096];
  int err = 0;
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0) err = errno;
      break;
    }
    for (long off = 0; off < n && err == 0;) {
      // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      unsigned short reclen;
      std::memcpy(&reclen, buf + off + 16, sizeof reclen);
      const unsigned char type = static_cast<unsigned char>(buf[off + 18]);
      const char* name = buf + off + 19;
      off += reclen;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0 || excluded(plan, name)) continue;
      err = type == DT_DIR || type == DT_REG ? add_entry_rule(ruleset, root_fd, name, type == DT_DIR, plan.read | plan.write)
                                             : add_rule_at(ruleset, root_fd, name, plan.read | plan.write);
    }
    if (err != 0) break;
  }
  ::close(dir);
  return err;
}

}  // namespace

int landlock_abi() {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

LandlockPlan plan_landlock(const LandlockInputs& in) {
  LandlockPlan plan;
  plan.enabled = in.enabled;
  plan.abi = in.abi;
  if (!in.enabled) return plan;
  plan.handled = handled_for(in.abi);
  plan.read = kExecute | kReadFile | kReadDir;
  plan.write = (kWriteFile | kRemoveDir | kRemoveFile | kMakeDir | kMakeReg | kMakeSock | kMakeFifo |
                kMakeSym | kRefer | kTruncate) & plan.handled;
  plan.devices = (kWriteFile | kTruncate | kIoctlDev) & plan.handled;
  if (in.abi >= 6) plan.scoped = kScopeAbstractUnixSocket | kScopeSignal;
  plan.writable = in.tmpfs;
  plan.writable.push_back("/dev/shm");
  plan.writable.insert(plan.writable.end(), in.rw_volumes.begin(), in.rw_volumes.end());
  plan.writable_root_layer = in.writable_root_layer;
  plan.root_excluded = {"proc", "sys", "dev"};
  for (const std::string& v : in.ro_volumes) {
    if (v.find('/', 1) == std::string::npos) plan.root_excluded.push_back(v.substr(1));
  }
  return plan;
}

int build_landlock_ruleset(const LandlockPlan& plan, int root_fd) noexcept {
  RulesetAttr attr = {plan.handled, 0, plan.scoped};
  size_t size = plan.abi >= 6 ? sizeof attr : plan.abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  int ruleset = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0));
  if (ruleset < 0) return -errno;
  int err = add_rule_at(ruleset, root_fd, "/", plan.read);
  if (err == 0) err = add_rule_at(ruleset, root_fd, "/dev", plan.read | plan.devices);
  for (size_t i = 0; err == 0 && i < plan.writable.size(); ++i) {
    err = add_rule_at(ruleset, root_fd, plan.writable[i].c_str(), plan.read | plan.write);
  }
  if (err == 0 && plan.writable_root_layer) err = grant_root_layer(plan, ruleset, root_fd);
  if (err == 0) return ruleset;
  ::close(ruleset);
  return -err;
}

int apply_landlock(const LandlockPlan& plan, int ruleset) noexcept {
  if (!plan.enabled) return 0;
  if (ruleset < 0) {
    int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return errno;
    ruleset = build_landlock_ruleset(plan, root);
    ::close(root);
    if (ruleset < 0) return -ruleset;
  }
  // restrict_self needs no_new_privs, set at the start of the child.
  int err = ::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0 ? errno : 0;
  ::close(ruleset);
  return err;
}

}  // namespace nucleus::native
