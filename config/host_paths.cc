#include "config/host_paths.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "config/validate.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

std::string canonical(const std::string& path, const std::string& what) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) throw_errno(what, path);
  return resolved;
}

}  // namespace

WorkloadSpec resolve_host_paths(const WorkloadSpec& spec) {
  WorkloadSpec out = spec;
  if (out.rootfs) {
    out.rootfs = canonical(*out.rootfs, "rootfs");
    struct stat st;
    if (::stat(out.rootfs->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw Error("rootfs", *out.rootfs + " is not a directory");
    }
    if (*out.rootfs == "/") throw Error("rootfs", "resolves to the host's /");
    for (const char* dir : {"proc", "sys", "dev"}) {
      std::string path = *out.rootfs + "/" + dir;
      if (::lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        throw Error("rootfs", path + " must be an ordinary directory");
      }
    }
  }
  for (VolumeSpec& v : out.volumes) {
    v.source = canonical(v.source, "volume");
    if (auto problem = check_volume_source(v.source)) throw Error("volume", *problem);
  }
  return out;
}

std::string read_container_file(const std::optional<std::string>& rootfs, const std::string& rel) {
  try {
    if (!rootfs) return sys::read_file("/" + rel, 1u << 20, "read /" + rel);
    UniqueFd root = sys::open(*rootfs, O_PATH | O_DIRECTORY, "open rootfs");
    return sys::read_file_in_root(root.get(), rel, 1u << 20, "read " + rel + " in the rootfs");
  } catch (const Error& e) {
    if (e.err() == ENOENT) return {};
    throw;
  }
}

bool container_has_dir(const WorkloadSpec& spec, const std::string& path) {
  if (path == "/") return true;
  if (spec.rootfs) {
    struct stat st;
    return ::stat((*spec.rootfs + path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  std::vector<std::string> mounted = {"/tmp"};
  for (const auto& v : spec.volumes) mounted.push_back(v.destination);
  for (const auto& t : spec.tmpfs) mounted.push_back(t.destination);
  for (const std::string& m : mounted) {
    if (path == m || path.rfind(m + "/", 0) == 0) return true;
  }
  return false;
}

}  // namespace nucleus
