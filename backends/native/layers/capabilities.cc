#include "backends/native/layers/capabilities.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace nucleus::native {
namespace {

constexpr int kCapKill = 5;

int capset(CapSet permitted, CapSet effective, CapSet inheritable) noexcept {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  return static_cast<int>(::syscall(SYS_capset, &header, data));
}

int drop_bounding(CapSet keep, int last_cap) noexcept {
  for (int cap = 0; cap <= last_cap; ++cap) {
    if (has_cap(keep, cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  }
  return 0;
}

}  // namespace

int apply_capabilities_and_identity(const CapabilityPlan& plan, const ChildIdentity& id,
                                    CapStep* failed, IdentityStep* identity_failed) noexcept {
  *failed = CapStep::kBounding;
  if (int err = drop_bounding(plan.bounding, plan.last_cap)) return err;
  // Without KEEPCAPS, leaving uid 0 empties the permitted set before capset could keep it.
  bool keepcaps = id.uid != 0 && plan.permitted != 0;
  *failed = CapStep::kKeepCaps;
  if (keepcaps && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errno;
  *failed = CapStep::kIdentity;
  if (int err = apply_identity(id, identity_failed)) return err;
  *failed = CapStep::kCapset;
  // Inheritable stays empty unless the caps must survive a non-root exec through ambient
  // (CVE-2022-29162, CVE-2022-27650), or an OCI config asks for it.
  if (capset(plan.permitted, plan.effective, plan.inheritable) != 0) return errno;
  *failed = CapStep::kAmbient;
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  for (int cap = 0; cap <= plan.last_cap; ++cap) {
    if (has_cap(plan.ambient, cap) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return errno;
  }
  if (keepcaps) ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  *failed = CapStep::kNone;
  return 0;
}

int drop_supervisor_capabilities(int last_cap) noexcept {
  CapSet keep = CapSet{1} << kCapKill;
  if (int err = drop_bounding(keep, last_cap)) return err;
  if (capset(keep, keep, 0) != 0) return errno;
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return 0;
}

int read_last_cap() {
  int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 40;
  char buf[16] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  int last = n > 0 ? std::atoi(buf) : 40;
  return last > 0 && last < 64 ? last : 40;
}

}  // namespace nucleus::native
