#include "config/resources.h"

#include <charconv>
#include <sstream>

#include "core/sys/units.h"
#include "core/sys/error.h"

namespace nucleus {

CgroupLimits cgroup_limits(const WorkloadSpec& spec) {
  const ResourceSpec& r = spec.resources;
  CgroupLimits l;
  l.memory_bytes = r.memory_bytes;
  l.cpus = r.cpus;
  l.pids = r.pids.value_or(kDefaultPidsLimit);
  l.io_weight = r.io_weight;
  for (const std::string& m : r.io_max) l.io_max.push_back(parse_io_max(m, "--io-max"));
  l.stats = true;  // every container can be watched (stats), paused and updated
  return l;
}

IoMax parse_io_max(std::string_view text, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Error(what, "'" + std::string(text) + "': " + why + " (expected MAJ:MIN rbps=N wbps=N riops=N wiops=N)");
  };
  std::istringstream in{std::string(text)};
  IoMax m;
  if (!(in >> m.device)) throw bad("no device");
  size_t colon = m.device.find(':');
  auto all_digits = [](std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; };
  if (colon == std::string::npos || !all_digits(std::string_view(m.device).substr(0, colon)) ||
      !all_digits(std::string_view(m.device).substr(colon + 1))) {
    throw bad("the device must be MAJ:MIN");
  }
  for (std::string item; in >> item;) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) throw bad("'" + item + "' is not KEY=VALUE");
    std::string key = item.substr(0, eq);
    auto value = parse_size(item.substr(eq + 1));
    if (!value || *value == 0) throw bad("'" + item + "' needs a positive number");
    if (key == "rbps") m.rbps = value;
    else if (key == "wbps") m.wbps = value;
    else if (key == "riops") m.riops = value;
    else if (key == "wiops") m.wiops = value;
    else throw bad("unknown key '" + key + "'");
  }
  if (!m.rbps && !m.wbps && !m.riops && !m.wiops) throw bad("no limit given");
  return m;
}

uint32_t parse_io_weight(std::string_view text, const std::string& what) {
  auto v = parse_integer(text, 1, 10000);
  if (!v) throw Error(what, "invalid weight '" + std::string(text) + "' (1 to 10000)");
  return static_cast<uint32_t>(*v);
}

std::string parse_cgroup_parent(std::string_view text, const std::string& what) {
  std::string path(text);
  bool dotdot = path == ".." || path.rfind("../", 0) == 0 || path.find("/../") != std::string::npos ||
                (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0);
  if (path.empty() || dotdot || path.find('\0') != std::string::npos) {
    throw Error(what, "'" + path + "' must be a cgroup path without '..' (from the hierarchy's root)");
  }
  return path;
}

}  // namespace nucleus
