// MountOp::describe(), for the parent's error messages (the child reports an op's index;
// mount_ops.cc is what the child runs).
#include <linux/mount.h>

#include <string>

#include "backends/native/child/mount_ops.h"

namespace nucleus::native {

std::string MountOp::describe() const {
  std::string at = "/" + target;
  switch (kind) {
    case MountKind::kBind:
      return "bind " + source + " at " + at + ((attr & MOUNT_ATTR_RDONLY) ? " (read-only)" : "");
    case MountKind::kMoveTree: return "attach the id-mapped root filesystem at " + at;
    case MountKind::kAttachTree: return "attach nucleus's " + at;
    case MountKind::kTmpfs: return "mount tmpfs at " + at;
    case MountKind::kProc: return "mount proc at " + at;
    case MountKind::kSysfs: return "mount sysfs at " + at;
    case MountKind::kDevpts: return "mount devpts at " + at;
    case MountKind::kMqueue: return "mount mqueue at " + at;
    case MountKind::kOverlay: return "mount the writable overlay at " + at;
    case MountKind::kMkdir: return "create directory " + at;
    case MountKind::kSymlink: return "create symlink " + at + " -> " + data;
    case MountKind::kReadOnly: return "make " + at + " read-only";
    case MountKind::kMask: return "mask " + at;
    case MountKind::kReadOnlyRebind: return "make " + at + " read-only";
    case MountKind::kWriteFile: return "write " + at;
    case MountKind::kFilesystem: return "mount " + fstype + " at " + at;
    case MountKind::kDevice: return "create device " + at;
    case MountKind::kPropagation: return "set the propagation of " + at;
  }
  return "mount at " + at;
}

}  // namespace nucleus::native
