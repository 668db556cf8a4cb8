#include "core/cgroup/systemd_path.h"

#include "core/sys/error.h"

namespace nucleus {
namespace {

constexpr std::string_view kSliceSuffix = ".slice";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Error bad_slice(const std::string& slice) {
  return Error("config.json: linux.cgroupsPath", "invalid slice name '" + slice + "'");
}

}  // namespace

std::string expand_slice(const std::string& slice) {
  if (slice.size() <= kSliceSuffix.size() || !ends_with(slice, kSliceSuffix) || slice.find('/') != std::string::npos) {
    throw bad_slice(slice);
  }
  const std::string stem = slice.substr(0, slice.size() - kSliceSuffix.size());
  if (stem == "-") return "/";
  std::string path, parents;
  size_t start = 0;
  for (;;) {
    size_t dash = stem.find('-', start);
    std::string part = stem.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (part.empty()) throw bad_slice(slice);  // "-a.slice", "a--b.slice", "a-.slice"
    path += "/" + parents + part + std::string(kSliceSuffix);
    if (dash == std::string::npos) break;
    parents += part + "-";
    start = dash + 1;
  }
  return path;
}

std::string cgroupfs_path_of_systemd(const std::string& path) {
  if (path.empty()) return path;
  size_t a = path.find(':');
  size_t b = a == std::string::npos ? a : path.find(':', a + 1);
  if (b == std::string::npos || path.find(':', b + 1) != std::string::npos) {
    throw Error("config.json: linux.cgroupsPath",
                "'" + path + "' is not slice:prefix:name, the form systemd cgroups (--systemd-cgroup) take");
  }
  std::string slice = path.substr(0, a), prefix = path.substr(a + 1, b - a - 1), name = path.substr(b + 1);
  if (name.empty() || name.find('/') != std::string::npos || prefix.find('/') != std::string::npos) {
    throw Error("config.json: linux.cgroupsPath", "'" + path + "' names no unit");
  }
  std::string parent = expand_slice(slice.empty() ? "system.slice" : slice);
  std::string unit = ends_with(name, kSliceSuffix) ? name : (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  return (parent == "/" ? "" : parent) + "/" + unit;
}

}  // namespace nucleus
