#include "core/host_info.h"

#include <linux/landlock.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>

#include "core/sys.h"

namespace nucleus {
namespace {

bool is_fs(const char* path, long magic) {
  struct statfs st;
  return ::statfs(path, &st) == 0 && static_cast<long>(st.f_type) == magic;
}

CgroupMode detect_cgroup_mode() {
  if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) return CgroupMode::kV2;
  if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC)) return CgroupMode::kHybrid;
  if (is_fs("/sys/fs/cgroup", TMPFS_MAGIC)) return CgroupMode::kV1;
  return CgroupMode::kNone;
}

bool kernel_at_least(const std::string& release, int major, int minor) {
  int a = 0, b = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &a, &b) != 2) return false;
  return a > major || (a == major && b >= minor);
}

}  // namespace

HostInfo probe_host_info() {
  HostInfo info;
  utsname u;
  if (::uname(&u) == 0) info.kernel_release = u.release;
  info.cgroup_mode = detect_cgroup_mode();
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  info.landlock_abi = abi > 0 ? static_cast<int>(abi) : 0;
  std::ifstream max_userns("/proc/sys/user/max_user_namespaces");
  long max = 0;
  info.user_namespaces = (max_userns >> max) && max > 0;
  info.seccomp_filter = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  info.new_mount_api = kernel_at_least(info.kernel_release, 5, 12);
  return info;
}

std::string to_string(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::kV1: return "v1";
    case CgroupMode::kV2: return "v2";
    case CgroupMode::kHybrid: return "hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)";
    case CgroupMode::kNone: return "none";
  }
  return "unknown";
}

}  // namespace nucleus
