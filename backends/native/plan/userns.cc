#include "backends/native/plan/userns.h"

#include <fcntl.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

std::string format_map(const std::vector<IdMapping>& map) {
  std::string out;
  for (const IdMapping& m : map) {
    out += std::to_string(m.inside) + " " + std::to_string(m.outside) + " " +
           std::to_string(m.count) + "\n";
  }
  return out;
}

}  // namespace

void write_id_maps(pid_t pid, const UserNamespaceIds& ids) {
  std::string dir = "/proc/" + std::to_string(pid) + "/";
  if (ids.deny_setgroups) sys::write_file(dir + "setgroups", "deny", "write the container's setgroups");
  sys::write_file(dir + "gid_map", format_map(ids.gid_map), "write the container's gid_map");
  sys::write_file(dir + "uid_map", format_map(ids.uid_map), "write the container's uid_map");
}

UniqueFd make_idmapped_tree(const std::string& path, pid_t pid) {
  const std::string step = "id-map the root filesystem " + path;
  UniqueFd userns = sys::open("/proc/" + std::to_string(pid) + "/ns/user", O_RDONLY, step);
  int tree = sys::raw_open_tree(AT_FDCWD, path.c_str(),
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0) throw_errno(step, "open_tree");
  UniqueFd owner(tree);
  mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns.get());
  if (sys::raw_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) {
    throw_errno(step, "mount_setattr(MOUNT_ATTR_IDMAP)");
  }
  return owner;
}

}  // namespace nucleus::native
