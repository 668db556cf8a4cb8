#include "core/sys/host_info.h"

#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

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
  try {
    info.cgroup_layout = read_cgroup_hierarchies().layout;
  } catch (const Error&) {
  }
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  info.landlock_abi = abi > 0 ? static_cast<int>(abi) : 0;
  std::ifstream max_userns("/proc/sys/user/max_user_namespaces");
  long max = 0;
  info.user_namespaces = (max_userns >> max) && max > 0;
  info.seccomp_filter = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  info.new_mount_api = kernel_at_least(info.kernel_release, 5, 12);
  return info;
}

LsmState probe_lsm() {
  LsmState lsm;
  std::ifstream apparmor("/sys/module/apparmor/parameters/enabled");
  std::string enabled;
  lsm.apparmor = (apparmor >> enabled) && enabled == "Y";
  lsm.selinux = ::access("/sys/fs/selinux/enforce", F_OK) == 0;
  return lsm;
}

}  // namespace nucleus
