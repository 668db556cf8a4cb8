// config.json's "linux" object (oci_config.cc reads the rest).
#include <algorithm>
#include <set>

#include "config/oci/oci_json.h"
#include "config/resources.h"
#include "core/sys/error.h"
#include "core/policy/seccomp_json.h"

namespace nucleus::oci_json {
namespace {

NamespaceType namespace_type(const std::string& type, const At& at) {
  if (type == "pid") return NamespaceType::kPid;
  if (type == "network") return NamespaceType::kNetwork;
  if (type == "mount") return NamespaceType::kMount;
  if (type == "ipc") return NamespaceType::kIpc;
  if (type == "uts") return NamespaceType::kUts;
  if (type == "user") return NamespaceType::kUser;
  if (type == "cgroup") return NamespaceType::kCgroup;
  if (type == "time") at.fail("time namespaces are not supported by nucleus");
  at.fail("unknown namespace type '" + type + "'");
}

std::vector<IdMapping> parse_id_mappings(const json& v, const At& at) {
  std::vector<IdMapping> out;
  for_each_object(v, at, {"containerID", "hostID", "size"}, {}, [&](const json& m, const At& e) {
    auto field = [&](const char* key, int64_t min) -> uint32_t {
      return static_cast<uint32_t>(get_int(required(m, e, key), e / key, min, UINT32_MAX));
    };
    out.push_back({field("containerID", 0), field("hostID", 0), field("size", 1)});
  });
  return out;
}

char device_type(const json& v, const At& at, const char* allowed) {
  std::string t = get_string(v, at);
  if (t.size() != 1 || std::string(allowed).find(t[0]) == std::string::npos) {
    at.fail("'" + t + "' is not one of " + allowed);
  }
  return t[0];
}

std::vector<DeviceSpec> parse_devices(const json& v, const At& at) {
  std::vector<DeviceSpec> out;
  for_each_object(v, at, {"type", "path", "major", "minor", "fileMode", "uid", "gid"}, {}, [&](const json& d, const At& e) {
    DeviceSpec dev;
    dev.path = absolute_path(required(d, e, "path"), e / "path");
    dev.type = device_type(required(d, e, "type"), e / "type", "cbup");
    if (dev.type != 'p') {
      if (!member(d, "major") || !member(d, "minor")) e.fail("a device needs major and minor numbers");
      dev.major = get_int(d["major"], e / "major", 0, 0xfff);
      dev.minor = get_int(d["minor"], e / "minor", 0, 0xfffff);
    }
    if (auto* x = member(d, "fileMode")) dev.file_mode = static_cast<uint32_t>(get_int(*x, e / "fileMode", 0, 0177777)) & 07777;
    if (auto* x = member(d, "uid")) dev.uid = static_cast<uid_t>(get_int(*x, e / "uid", 0, UINT32_MAX));
    if (auto* x = member(d, "gid")) dev.gid = static_cast<gid_t>(get_int(*x, e / "gid", 0, UINT32_MAX));
    out.push_back(std::move(dev));
  });
  return out;
}

std::vector<CgroupDeviceRule> parse_device_rules(const json& v, const At& at) {
  std::vector<CgroupDeviceRule> out;
  for_each_object(v, at, {"allow", "type", "major", "minor", "access"}, {}, [&](const json& d, const At& e) {
    CgroupDeviceRule r;
    r.allow = get_bool(required(d, e, "allow"), e / "allow");
    if (auto* x = member(d, "type")) r.type = device_type(*x, e / "type", "acb");
    if (auto* x = member(d, "major")) r.major = get_int(*x, e / "major", -1, 0xfff);
    if (auto* x = member(d, "minor")) r.minor = get_int(*x, e / "minor", -1, 0xfffff);
    if (auto* x = member(d, "access")) {
      r.access = get_string(*x, e / "access");
      if (r.access.empty() || r.access.find_first_not_of("rwm") != std::string::npos) {
        (e / "access").fail("'" + r.access + "' is not made of r, w and m");
      }
    }
    out.push_back(r);
  });
  return out;
}

// "MAJ:MIN rbps=N" lines from blockIO throttle lists.
void parse_throttle(const json& v, const At& at, const char* key, std::vector<IoMax>& io_max) {
  for_each_object(v, at, {"major", "minor", "rate"}, {}, [&](const json& t, const At& e) {
    if (!member(t, "major") || !member(t, "minor") || !member(t, "rate")) e.fail("needs major, minor and rate");
    int64_t major = get_int(t["major"], e / "major", 0, 0xfff);
    int64_t minor = get_int(t["minor"], e / "minor", 0, 0xfffff);
    int64_t rate = get_int(t["rate"], e / "rate", 1, INT64_MAX);
    io_max.push_back(parse_io_max(std::to_string(major) + ":" + std::to_string(minor) + " " + key + "=" + std::to_string(rate),
                                  e.doc + ": " + e.path));
  });
}

void parse_resources(const json& v, const At& at, ContainerSpec& spec) {
  CgroupLimits& l = spec.limits;
  check_keys(v, at, {"devices", "memory", "cpu", "pids", "blockIO"},
             {"hugepageLimits", "network", "rdma", "unified"});
  if (auto* x = member(v, "devices")) l.devices = parse_device_rules(*x, at / "devices");
  if (auto* m = member(v, "memory")) {
    const At a = at / "memory";
    check_keys(*m, a, {"limit", "reservation", "swap", "checkBeforeUpdate", "useHierarchy", "disableOOMKiller"},
               {"kernel", "kernelTCP", "swappiness"});
    // runsc applies it to the cgroup it manages; the native backend refuses it (create).
    if (auto* x = member(*m, "disableOOMKiller")) spec.disable_oom_killer = get_bool(*x, a / "disableOOMKiller");
    if (auto* x = member(*m, "limit")) {
      int64_t limit = get_int(*x, a / "limit", -1, INT64_MAX);
      if (limit > 0) l.memory_bytes = static_cast<uint64_t>(limit);
    }
    if (auto* x = member(*m, "reservation")) {
      int64_t r = get_int(*x, a / "reservation", -1, INT64_MAX);
      if (r > 0) l.memory_reservation = static_cast<uint64_t>(r);
    }
    if (auto* x = member(*m, "swap")) l.memory_swap = get_int(*x, a / "swap", -1, INT64_MAX);
  }
  if (auto* c = member(v, "cpu")) {
    const At a = at / "cpu";
    check_keys(*c, a, {"shares", "quota", "period", "cpus", "mems"},
               {"realtimeRuntime", "realtimePeriod", "idle", "burst"});
    if (auto* x = member(*c, "shares")) {
      int64_t s = get_int(*x, a / "shares", 0, 262144);
      if (s > 0) l.cpu_shares = static_cast<uint64_t>(s);
    }
    if (auto* x = member(*c, "period")) l.cpu_period_us = static_cast<uint64_t>(get_int(*x, a / "period", 1000, 1000000));
    if (auto* x = member(*c, "quota")) {
      int64_t quota = get_int(*x, a / "quota", -1, INT64_MAX);
      if (quota > 0) l.cpus = static_cast<double>(quota) / static_cast<double>(l.cpu_period_us.value_or(100000));
    }
    if (auto* x = member(*c, "cpus")) l.cpuset_cpus = get_string(*x, a / "cpus");
    if (auto* x = member(*c, "mems")) l.cpuset_mems = get_string(*x, a / "mems");
  }
  if (auto* p = member(v, "pids")) {
    check_keys(*p, at / "pids", {"limit"});
    if (auto* x = member(*p, "limit")) {
      int64_t limit = get_int(*x, at / "pids" / "limit", INT64_MIN, INT64_MAX);
      l.pids = limit > 0 ? limit : -1;
    }
  }
  if (auto* b = member(v, "blockIO")) {
    const At a = at / "blockIO";
    check_keys(*b, a,
               {"weight", "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                "throttleWriteIOPSDevice"},
               {"leafWeight", "weightDevice"});
    // OCI speaks cgroup v1's 10-1000; the spec keeps cgroup2's 1-10000.
    if (auto* x = member(*b, "weight")) l.io_weight = static_cast<uint32_t>(get_int(*x, a / "weight", 10, 1000) * 10);
    if (auto* x = member(*b, "throttleReadBpsDevice")) parse_throttle(*x, a / "throttleReadBpsDevice", "rbps", l.io_max);
    if (auto* x = member(*b, "throttleWriteBpsDevice")) parse_throttle(*x, a / "throttleWriteBpsDevice", "wbps", l.io_max);
    if (auto* x = member(*b, "throttleReadIOPSDevice")) parse_throttle(*x, a / "throttleReadIOPSDevice", "riops", l.io_max);
    if (auto* x = member(*b, "throttleWriteIOPSDevice")) parse_throttle(*x, a / "throttleWriteIOPSDevice", "wiops", l.io_max);
  }
}

}  // namespace

void parse_oci_linux(const json& v, const At& at, ContainerSpec& spec) {
  check_keys(v, at,
             {"namespaces", "uidMappings", "gidMappings", "devices", "cgroupsPath", "resources", "sysctl", "seccomp",
              "rootfsPropagation", "maskedPaths", "readonlyPaths", "mountLabel"},
             {"timeOffsets", "intelRdt", "personality", "memoryPolicy", "netDevices"});
  if (auto* x = member(v, "namespaces")) {
    for_each_object(*x, at / "namespaces", {"type", "path"}, {}, [&](const json& d, const At& e) {
      NamespaceSpec n;
      n.type = namespace_type(get_string(required(d, e, "type"), e / "type"), e / "type");
      if (auto* p = member(d, "path")) n.path = get_string(*p, e / "path");
      if (!n.path.empty() && n.path[0] != '/') (e / "path").fail("must be an absolute path");
      if (spec.has(n.type)) (e / "type").fail(std::string(to_string(n.type)) + " is listed twice");
      spec.namespaces.push_back(std::move(n));
    });
  }
  if (auto* x = member(v, "uidMappings")) spec.uid_mappings = parse_id_mappings(*x, at / "uidMappings");
  if (auto* x = member(v, "gidMappings")) spec.gid_mappings = parse_id_mappings(*x, at / "gidMappings");
  if ((!spec.uid_mappings.empty() || !spec.gid_mappings.empty()) && !spec.has(NamespaceType::kUser)) {
    (at / "uidMappings").fail("id mappings need a user namespace");
  }
  if (auto* x = member(v, "devices")) spec.devices = parse_devices(*x, at / "devices");
  if (auto* x = member(v, "cgroupsPath")) spec.cgroups_path = get_string(*x, at / "cgroupsPath");
  if (auto* x = member(v, "resources")) parse_resources(*x, at / "resources", spec);
  if (auto* x = member(v, "sysctl")) {
    if (!x->is_object()) (at / "sysctl").fail("expected an object");
    for (const auto& [key, value] : x->items()) {
      if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
        (at / "sysctl" / key).fail("not a sysctl name");
      }
      spec.sysctl.emplace_back(key, get_string(value, at / "sysctl" / key));
    }
  }
  if (auto* x = member(v, "seccomp")) {
    spec.seccomp.profile = std::make_shared<const seccomp::Profile>(seccomp::parse_json_profile(x->dump(), at.doc + ": " + (at / "seccomp").path, /*strict=*/false));
  }
  if (auto* x = member(v, "rootfsPropagation")) {
    spec.rootfs_propagation = get_string(*x, at / "rootfsPropagation");
    static const std::set<std::string> kKnown = {"", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};
    if (!kKnown.count(spec.rootfs_propagation)) (at / "rootfsPropagation").fail("unknown propagation '" + spec.rootfs_propagation + "'");
  }
  if (auto* x = member(v, "maskedPaths")) spec.masked_paths = get_strings(*x, at / "maskedPaths");
  if (auto* x = member(v, "readonlyPaths")) spec.readonly_paths = get_strings(*x, at / "readonlyPaths");
}

}  // namespace nucleus::oci_json
