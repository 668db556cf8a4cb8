#include "config/oci_config.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/seccomp_json.h"
#include "core/sys.h"

namespace nucleus {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxConfigBytes = 4u << 20;

// Where in the document a value sits, for errors: "config.json: linux.resources.pids".
struct At {
  const std::string& doc;
  std::string path;
  At operator/(const std::string& key) const { return {doc, path.empty() ? key : path + "." + key}; }
  At operator[](size_t i) const { return {doc, path + "[" + std::to_string(i) + "]"}; }
  [[noreturn]] void fail(const std::string& why) const { throw Error(doc + ": " + path, why); }
};

// Every key of `obj` must be known; a refused key with a non-empty value is an error saying
// nucleus cannot honour it (an empty string, list or object, null or false asks nothing).
void check_keys(const json& obj, const At& at, std::initializer_list<const char*> known,
                std::initializer_list<const char*> refused = {}) {
  if (!obj.is_object()) at.fail("expected an object");
  for (const auto& [key, value] : obj.items()) {
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) != known.end()) continue;
    bool is_refused =
        std::find_if(refused.begin(), refused.end(), [&](const char* k) { return key == k; }) != refused.end();
    if (!is_refused) (at / key).fail("unknown key");
    bool asks = !(value.is_null() || (value.is_boolean() && !value.get<bool>()) ||
                  ((value.is_string() || value.is_array() || value.is_object()) && value.empty()));
    if (asks) (at / key).fail("not supported by nucleus");
  }
}

const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string get_string(const json& v, const At& at) {
  if (!v.is_string()) at.fail("expected a string");
  return v.get<std::string>();
}

bool get_bool(const json& v, const At& at) {
  if (!v.is_boolean()) at.fail("expected true or false");
  return v.get<bool>();
}

int64_t get_int(const json& v, const At& at, int64_t min, int64_t max) {
  if (!v.is_number_integer()) at.fail("expected an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) at.fail("out of range");
  int64_t n = v.get<int64_t>();
  if (n < min || n > max) at.fail("out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
  return n;
}

std::vector<std::string> get_strings(const json& v, const At& at) {
  if (!v.is_array()) at.fail("expected a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(get_string(v[i], at[i]));
  return out;
}

std::string absolute_path(const json& v, const At& at) {
  std::string path = get_string(v, at);
  if (path.empty() || path[0] != '/') at.fail("'" + path + "' must be an absolute path");
  if (path.find('\0') != std::string::npos) at.fail("contains NUL");
  return path;
}

CapSet get_caps(const json& v, const At& at) {
  CapSet set = 0;
  std::vector<std::string> names = get_strings(v, at);
  for (size_t i = 0; i < names.size(); ++i) {
    auto cap = capability_from_name(names[i]);
    if (!cap) at[i].fail("unknown capability '" + names[i] + "'");
    set |= CapSet{1} << *cap;
  }
  return set;
}

OciCapabilities parse_capabilities(const json& v, const At& at) {
  check_keys(v, at, {"bounding", "effective", "inheritable", "permitted", "ambient"});
  OciCapabilities c;
  if (auto* x = member(v, "bounding")) c.bounding = get_caps(*x, at / "bounding");
  if (auto* x = member(v, "effective")) c.effective = get_caps(*x, at / "effective");
  if (auto* x = member(v, "inheritable")) c.inheritable = get_caps(*x, at / "inheritable");
  if (auto* x = member(v, "permitted")) c.permitted = get_caps(*x, at / "permitted");
  if (auto* x = member(v, "ambient")) c.ambient = get_caps(*x, at / "ambient");
  return c;
}

std::vector<RlimitSetting> parse_rlimits(const json& v, const At& at) {
  if (!v.is_array()) at.fail("expected a list");
  std::vector<RlimitSetting> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const At e = at[i];
    check_keys(v[i], e, {"type", "soft", "hard"});
    if (!member(v[i], "type")) (e / "type").fail("missing");
    std::string type = get_string(v[i]["type"], e / "type");
    int resource = rlimit_from_oci_name(type);
    if (resource < 0) (e / "type").fail("unknown rlimit '" + type + "'");
    for (const RlimitSetting& r : out) {
      if (r.resource == resource) (e / "type").fail("'" + type + "' given twice");
    }
    auto value = [&](const char* key) -> rlim_t {
      const json* x = member(v[i], key);
      if (x == nullptr) (e / key).fail("missing");
      if (!x->is_number_unsigned()) (e / key).fail("expected a non-negative integer");
      return static_cast<rlim_t>(x->get<uint64_t>());
    };
    rlim_t soft = value("soft");
    rlim_t hard = value("hard");
    if (soft > hard) (e / "soft").fail("above the hard limit");
    out.push_back({resource, soft, hard});
  }
  return out;
}

std::vector<OciMount> parse_mounts(const json& v, const At& at) {
  if (!v.is_array()) at.fail("expected a list");
  std::vector<OciMount> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const At e = at[i];
    check_keys(v[i], e, {"destination", "type", "source", "options"}, {"uidMappings", "gidMappings"});
    OciMount m;
    if (!member(v[i], "destination")) (e / "destination").fail("missing");
    m.destination = absolute_path(v[i]["destination"], e / "destination");
    if (auto* x = member(v[i], "type")) m.type = get_string(*x, e / "type");
    if (auto* x = member(v[i], "source")) m.source = get_string(*x, e / "source");
    if (auto* x = member(v[i], "options")) m.options = get_strings(*x, e / "options");
    bool bind_option = std::any_of(m.options.begin(), m.options.end(),
                                   [](const std::string& o) { return o == "bind" || o == "rbind"; });
    if (m.type.empty() || m.type == "none") m.type = bind_option ? "bind" : m.type;
    if (m.type.empty()) (e / "type").fail("missing");
    if (m.type == "bind" && (m.source.empty() || m.source[0] != '/')) (e / "source").fail("a bind needs an absolute source");
    out.push_back(std::move(m));
  }
  return out;
}

OciHooks parse_hooks(const json& v, const At& at) {
  check_keys(v, at, {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"});
  OciHooks hooks;
  auto list = [&](const char* key, std::vector<OciHook>& into) {
    const json* x = member(v, key);
    if (x == nullptr) return;
    const At a = at / key;
    if (!x->is_array()) a.fail("expected a list");
    for (size_t i = 0; i < x->size(); ++i) {
      const At e = a[i];
      check_keys((*x)[i], e, {"path", "args", "env", "timeout"});
      OciHook h;
      if (!member((*x)[i], "path")) (e / "path").fail("missing");
      h.path = absolute_path((*x)[i]["path"], e / "path");
      if (auto* y = member((*x)[i], "args")) h.args = get_strings(*y, e / "args");
      if (auto* y = member((*x)[i], "env")) h.env = get_strings(*y, e / "env");
      if (auto* y = member((*x)[i], "timeout")) h.timeout_seconds = static_cast<int>(get_int(*y, e / "timeout", 1, 86400));
      into.push_back(std::move(h));
    }
  };
  list("prestart", hooks.prestart);
  list("createRuntime", hooks.create_runtime);
  list("createContainer", hooks.create_container);
  list("startContainer", hooks.start_container);
  list("poststart", hooks.poststart);
  list("poststop", hooks.poststop);
  return hooks;
}

OciNamespace namespace_type(const std::string& type, const At& at) {
  if (type == "pid") return OciNamespace::kPid;
  if (type == "network") return OciNamespace::kNetwork;
  if (type == "mount") return OciNamespace::kMount;
  if (type == "ipc") return OciNamespace::kIpc;
  if (type == "uts") return OciNamespace::kUts;
  if (type == "user") return OciNamespace::kUser;
  if (type == "cgroup") return OciNamespace::kCgroup;
  if (type == "time") at.fail("time namespaces are not supported by nucleus");
  at.fail("unknown namespace type '" + type + "'");
}

std::vector<OciIdMapping> parse_id_mappings(const json& v, const At& at) {
  if (!v.is_array()) at.fail("expected a list");
  std::vector<OciIdMapping> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const At e = at[i];
    check_keys(v[i], e, {"containerID", "hostID", "size"});
    auto field = [&](const char* key, int64_t min) -> uint32_t {
      const json* x = member(v[i], key);
      if (x == nullptr) (e / key).fail("missing");
      return static_cast<uint32_t>(get_int(*x, e / key, min, UINT32_MAX));
    };
    out.push_back({field("containerID", 0), field("hostID", 0), field("size", 1)});
  }
  return out;
}

char device_type(const json& v, const At& at, const char* allowed) {
  std::string t = get_string(v, at);
  if (t.size() != 1 || std::string(allowed).find(t[0]) == std::string::npos) {
    at.fail("'" + t + "' is not one of " + allowed);
  }
  return t[0];
}

std::vector<OciDevice> parse_devices(const json& v, const At& at) {
  if (!v.is_array()) at.fail("expected a list");
  std::vector<OciDevice> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const At e = at[i];
    const json& d = v[i];
    check_keys(d, e, {"type", "path", "major", "minor", "fileMode", "uid", "gid"});
    OciDevice dev;
    if (!member(d, "path")) (e / "path").fail("missing");
    dev.path = absolute_path(d["path"], e / "path");
    if (!member(d, "type")) (e / "type").fail("missing");
    dev.type = device_type(d["type"], e / "type", "cbup");
    if (dev.type != 'p') {
      if (!member(d, "major") || !member(d, "minor")) e.fail("a device needs major and minor numbers");
      dev.major = get_int(d["major"], e / "major", 0, 0xfff);
      dev.minor = get_int(d["minor"], e / "minor", 0, 0xfffff);
    }
    if (auto* x = member(d, "fileMode")) dev.file_mode = static_cast<uint32_t>(get_int(*x, e / "fileMode", 0, 0177777)) & 07777;
    if (auto* x = member(d, "uid")) dev.uid = static_cast<uid_t>(get_int(*x, e / "uid", 0, UINT32_MAX));
    if (auto* x = member(d, "gid")) dev.gid = static_cast<gid_t>(get_int(*x, e / "gid", 0, UINT32_MAX));
    out.push_back(std::move(dev));
  }
  return out;
}

std::vector<OciDeviceRule> parse_device_rules(const json& v, const At& at) {
  if (!v.is_array()) at.fail("expected a list");
  std::vector<OciDeviceRule> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const At e = at[i];
    check_keys(v[i], e, {"allow", "type", "major", "minor", "access"});
    OciDeviceRule r;
    if (!member(v[i], "allow")) (e / "allow").fail("missing");
    r.allow = get_bool(v[i]["allow"], e / "allow");
    if (auto* x = member(v[i], "type")) r.type = device_type(*x, e / "type", "acb");
    if (auto* x = member(v[i], "major")) r.major = get_int(*x, e / "major", -1, 0xfff);
    if (auto* x = member(v[i], "minor")) r.minor = get_int(*x, e / "minor", -1, 0xfffff);
    if (auto* x = member(v[i], "access")) {
      r.access = get_string(*x, e / "access");
      if (r.access.empty() || r.access.find_first_not_of("rwm") != std::string::npos) {
        (e / "access").fail("'" + r.access + "' is not made of r, w and m");
      }
    }
    out.push_back(r);
  }
  return out;
}

// "MAJ:MIN rbps=N" lines from blockIO throttle lists.
void parse_throttle(const json& v, const At& at, const char* key, std::vector<std::string>& io_max) {
  if (!v.is_array()) at.fail("expected a list");
  for (size_t i = 0; i < v.size(); ++i) {
    const At e = at[i];
    check_keys(v[i], e, {"major", "minor", "rate"});
    if (!member(v[i], "major") || !member(v[i], "minor") || !member(v[i], "rate")) e.fail("needs major, minor and rate");
    int64_t major = get_int(v[i]["major"], e / "major", 0, 0xfff);
    int64_t minor = get_int(v[i]["minor"], e / "minor", 0, 0xfffff);
    int64_t rate = get_int(v[i]["rate"], e / "rate", 1, INT64_MAX);
    io_max.push_back(std::to_string(major) + ":" + std::to_string(minor) + " " + key + "=" + std::to_string(rate));
  }
}

void parse_resources(const json& v, const At& at, WorkloadSpec& spec) {
  OciSpec& oci = *spec.oci;
  check_keys(v, at, {"devices", "memory", "cpu", "pids", "blockIO"},
             {"hugepageLimits", "network", "rdma", "unified"});
  if (auto* x = member(v, "devices")) oci.device_rules = parse_device_rules(*x, at / "devices");
  if (auto* m = member(v, "memory")) {
    const At a = at / "memory";
    check_keys(*m, a, {"limit", "reservation", "swap", "checkBeforeUpdate", "useHierarchy"},
               {"kernel", "kernelTCP", "swappiness", "disableOOMKiller"});
    if (auto* x = member(*m, "limit")) {
      int64_t limit = get_int(*x, a / "limit", -1, INT64_MAX);
      if (limit > 0) spec.resources.memory_bytes = static_cast<uint64_t>(limit);
    }
    if (auto* x = member(*m, "reservation")) {
      int64_t r = get_int(*x, a / "reservation", -1, INT64_MAX);
      if (r > 0) oci.memory_reservation = static_cast<uint64_t>(r);
    }
    if (auto* x = member(*m, "swap")) oci.memory_swap = get_int(*x, a / "swap", -1, INT64_MAX);
  }
  if (auto* c = member(v, "cpu")) {
    const At a = at / "cpu";
    check_keys(*c, a, {"shares", "quota", "period", "cpus", "mems"},
               {"realtimeRuntime", "realtimePeriod", "idle", "burst"});
    if (auto* x = member(*c, "shares")) {
      int64_t s = get_int(*x, a / "shares", 0, 262144);
      if (s > 0) oci.cpu_shares = static_cast<uint64_t>(s);
    }
    if (auto* x = member(*c, "period")) oci.cpu_period_us = static_cast<uint64_t>(get_int(*x, a / "period", 1000, 1000000));
    if (auto* x = member(*c, "quota")) oci.cpu_quota_us = get_int(*x, a / "quota", -1, INT64_MAX);
    if (oci.cpu_quota_us && *oci.cpu_quota_us > 0) {
      spec.resources.cpus = static_cast<double>(*oci.cpu_quota_us) / static_cast<double>(oci.cpu_period_us.value_or(100000));
    }
    if (auto* x = member(*c, "cpus")) oci.cpuset_cpus = get_string(*x, a / "cpus");
    if (auto* x = member(*c, "mems")) oci.cpuset_mems = get_string(*x, a / "mems");
  }
  if (auto* p = member(v, "pids")) {
    check_keys(*p, at / "pids", {"limit"});
    if (auto* x = member(*p, "limit")) {
      int64_t limit = get_int(*x, at / "pids" / "limit", INT64_MIN, INT64_MAX);
      spec.resources.pids = limit > 0 ? limit : -1;
    }
  }
  if (auto* b = member(v, "blockIO")) {
    const At a = at / "blockIO";
    check_keys(*b, a,
               {"weight", "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                "throttleWriteIOPSDevice"},
               {"leafWeight", "weightDevice"});
    // OCI speaks cgroup v1's 10-1000; the spec keeps cgroup2's 1-10000.
    if (auto* x = member(*b, "weight")) spec.resources.io_weight = static_cast<uint32_t>(get_int(*x, a / "weight", 10, 1000) * 10);
    if (auto* x = member(*b, "throttleReadBpsDevice")) parse_throttle(*x, a / "throttleReadBpsDevice", "rbps", spec.resources.io_max);
    if (auto* x = member(*b, "throttleWriteBpsDevice")) parse_throttle(*x, a / "throttleWriteBpsDevice", "wbps", spec.resources.io_max);
    if (auto* x = member(*b, "throttleReadIOPSDevice")) parse_throttle(*x, a / "throttleReadIOPSDevice", "riops", spec.resources.io_max);
    if (auto* x = member(*b, "throttleWriteIOPSDevice")) parse_throttle(*x, a / "throttleWriteIOPSDevice", "wiops", spec.resources.io_max);
  }
}

void parse_linux(const json& v, const At& at, WorkloadSpec& spec) {
  OciSpec& oci = *spec.oci;
  check_keys(v, at,
             {"namespaces", "uidMappings", "gidMappings", "devices", "cgroupsPath", "resources", "sysctl", "seccomp",
              "rootfsPropagation", "maskedPaths", "readonlyPaths"},
             {"timeOffsets", "intelRdt", "mountLabel", "personality", "memoryPolicy"});
  if (auto* x = member(v, "namespaces")) {
    const At a = at / "namespaces";
    if (!x->is_array()) a.fail("expected a list");
    for (size_t i = 0; i < x->size(); ++i) {
      const At e = a[i];
      check_keys((*x)[i], e, {"type", "path"});
      if (!member((*x)[i], "type")) (e / "type").fail("missing");
      OciNamespaceEntry n;
      n.type = namespace_type(get_string((*x)[i]["type"], e / "type"), e / "type");
      if (auto* p = member((*x)[i], "path")) n.path = get_string(*p, e / "path");
      if (!n.path.empty() && n.path[0] != '/') (e / "path").fail("must be an absolute path");
      if (oci.has(n.type)) (e / "type").fail(std::string(to_string(n.type)) + " is listed twice");
      oci.namespaces.push_back(std::move(n));
    }
  }
  if (auto* x = member(v, "uidMappings")) oci.uid_mappings = parse_id_mappings(*x, at / "uidMappings");
  if (auto* x = member(v, "gidMappings")) oci.gid_mappings = parse_id_mappings(*x, at / "gidMappings");
  if ((!oci.uid_mappings.empty() || !oci.gid_mappings.empty()) && !oci.has(OciNamespace::kUser)) {
    (at / "uidMappings").fail("id mappings need a user namespace");
  }
  if (auto* x = member(v, "devices")) oci.devices = parse_devices(*x, at / "devices");
  if (auto* x = member(v, "cgroupsPath")) oci.cgroups_path = get_string(*x, at / "cgroupsPath");
  if (auto* x = member(v, "resources")) parse_resources(*x, at / "resources", spec);
  if (auto* x = member(v, "sysctl")) {
    if (!x->is_object()) (at / "sysctl").fail("expected an object");
    for (const auto& [key, value] : x->items()) {
      if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
        (at / "sysctl" / key).fail("not a sysctl name");
      }
      oci.sysctl.emplace_back(key, get_string(value, at / "sysctl" / key));
    }
  }
  if (auto* x = member(v, "seccomp")) oci.seccomp = seccomp::parse_json_profile(x->dump(), at.doc + ": " + (at / "seccomp").path);
  if (auto* x = member(v, "rootfsPropagation")) {
    oci.rootfs_propagation = get_string(*x, at / "rootfsPropagation");
    static const std::set<std::string> kKnown = {"", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};
    if (!kKnown.count(oci.rootfs_propagation)) (at / "rootfsPropagation").fail("unknown propagation '" + oci.rootfs_propagation + "'");
  }
  if (auto* x = member(v, "maskedPaths")) oci.masked_paths = get_strings(*x, at / "maskedPaths");
  if (auto* x = member(v, "readonlyPaths")) oci.readonly_paths = get_strings(*x, at / "readonlyPaths");
}

}  // namespace

const char* to_string(OciNamespace ns) {
  switch (ns) {
    case OciNamespace::kPid: return "pid";
    case OciNamespace::kNetwork: return "network";
    case OciNamespace::kMount: return "mount";
    case OciNamespace::kIpc: return "ipc";
    case OciNamespace::kUts: return "uts";
    case OciNamespace::kUser: return "user";
    case OciNamespace::kCgroup: return "cgroup";
  }
  return "?";
}

OciProcess parse_oci_process(const json& v, const std::string& what) {
  const At at{what, "process"};
  check_keys(v, at,
             {"terminal", "consoleSize", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges",
              "oomScoreAdj", "apparmorProfile"},
             {"commandLine", "selinuxLabel", "ioPriority", "scheduler", "execCPUAffinity"});
  OciProcess p;
  if (auto* x = member(v, "terminal")) p.terminal = get_bool(*x, at / "terminal");
  if (auto* x = member(v, "consoleSize")) {
    check_keys(*x, at / "consoleSize", {"height", "width"});
    if (auto* h = member(*x, "height")) p.console_rows = static_cast<uint16_t>(get_int(*h, at / "consoleSize" / "height", 0, 65535));
    if (auto* w = member(*x, "width")) p.console_columns = static_cast<uint16_t>(get_int(*w, at / "consoleSize" / "width", 0, 65535));
  }
  if (auto* u = member(v, "user")) {
    const At a = at / "user";
    check_keys(*u, a, {"uid", "gid", "umask", "additionalGids"}, {"username"});
    if (auto* x = member(*u, "uid")) p.uid = static_cast<uint32_t>(get_int(*x, a / "uid", 0, UINT32_MAX - 1));
    if (auto* x = member(*u, "gid")) p.gid = static_cast<uint32_t>(get_int(*x, a / "gid", 0, UINT32_MAX - 1));
    if (auto* x = member(*u, "umask")) p.umask = static_cast<uint32_t>(get_int(*x, a / "umask", 0, 0777));
    if (auto* x = member(*u, "additionalGids")) {
      if (!x->is_array()) (a / "additionalGids").fail("expected a list");
      for (size_t i = 0; i < x->size(); ++i) {
        p.additional_gids.push_back(static_cast<uint32_t>(get_int((*x)[i], (a / "additionalGids")[i], 0, UINT32_MAX - 1)));
      }
    }
  }
  if (!member(v, "args")) (at / "args").fail("missing: no command to run");
  p.args = get_strings(v["args"], at / "args");
  if (p.args.empty() || p.args[0].empty()) (at / "args").fail("no command to run");
  if (auto* x = member(v, "env")) {
    p.env = get_strings(*x, at / "env");
    for (size_t i = 0; i < p.env.size(); ++i) {
      if (p.env[i].find('=') == std::string::npos || p.env[i][0] == '=') (at / "env")[i].fail("'" + p.env[i] + "' is not KEY=VALUE");
    }
  }
  if (auto* x = member(v, "cwd")) p.cwd = absolute_path(*x, at / "cwd");
  if (auto* x = member(v, "capabilities")) p.capabilities = parse_capabilities(*x, at / "capabilities");
  if (auto* x = member(v, "rlimits")) p.rlimits = parse_rlimits(*x, at / "rlimits");
  if (auto* x = member(v, "noNewPrivileges")) p.no_new_privileges = get_bool(*x, at / "noNewPrivileges");
  if (auto* x = member(v, "oomScoreAdj")) p.oom_score_adj = static_cast<int>(get_int(*x, at / "oomScoreAdj", -1000, 1000));
  if (auto* x = member(v, "apparmorProfile")) {
    std::string profile = get_string(*x, at / "apparmorProfile");
    if (!profile.empty() && profile != "unconfined") (at / "apparmorProfile").fail("AppArmor is not supported by nucleus");
  }
  return p;
}

OciProcess parse_oci_process_text(std::string_view text, const std::string& what) {
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) throw Error(what, "not valid JSON");
  return parse_oci_process(v, what);
}

WorkloadSpec parse_oci_config(std::string_view text, const std::string& bundle_dir) {
  const std::string doc = "config.json";
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) throw Error(doc, "not valid JSON");
  const At top{doc, ""};
  check_keys(v, At{doc, "(top level)"},
             {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux"},
             {"solaris", "windows", "vm", "zos"});
  if (!member(v, "ociVersion")) (top / "ociVersion").fail("missing");
  std::string version = get_string(v["ociVersion"], top / "ociVersion");
  if (version.rfind("1.", 0) != 0) (top / "ociVersion").fail("'" + version + "': nucleus reads runtime-spec 1.x");

  WorkloadSpec spec;
  spec.oci.emplace();
  OciSpec& oci = *spec.oci;
  oci.bundle = bundle_dir;
  spec.init = false;  // the orchestrator's process is PID 1 (podman --init brings its own)
  spec.seccomp.mode = SeccompMode::kUnconfined;  // the config's own filter is oci.seccomp
  spec.landlock = false;
  spec.hostname.clear();
  spec.resources.pids = -1;  // unlimited unless linux.resources.pids says otherwise

  if (!member(v, "root")) (top / "root").fail("missing");
  check_keys(v["root"], top / "root", {"path", "readonly"});
  if (!member(v["root"], "path")) (top / "root" / "path").fail("missing");
  std::string root = get_string(v["root"]["path"], top / "root" / "path");
  if (root.empty()) (top / "root" / "path").fail("empty");
  spec.rootfs = root[0] == '/' ? root : bundle_dir + "/" + root;
  if (auto* x = member(v["root"], "readonly")) spec.read_only = get_bool(*x, top / "root" / "readonly");

  if (!member(v, "process")) (top / "process").fail("missing: nothing to run");
  OciProcess p = parse_oci_process(v["process"], doc);
  spec.command = p.args;
  spec.workdir = p.cwd;
  spec.user = std::to_string(p.uid) + ":" + std::to_string(p.gid);
  for (uint32_t g : p.additional_gids) spec.groups.push_back(std::to_string(g));
  oci.env = p.env;
  oci.umask = p.umask;
  if (p.capabilities) oci.capabilities = *p.capabilities;
  oci.rlimits = p.rlimits;
  oci.no_new_privileges = p.no_new_privileges;
  oci.oom_score_adj = p.oom_score_adj;
  oci.terminal = p.terminal;
  oci.console_rows = p.console_rows;
  oci.console_columns = p.console_columns;

  if (auto* x = member(v, "hostname")) spec.hostname = get_string(*x, top / "hostname");
  if (auto* x = member(v, "domainname")) oci.domainname = get_string(*x, top / "domainname");
  if (auto* x = member(v, "mounts")) oci.mounts = parse_mounts(*x, top / "mounts");
  if (auto* x = member(v, "hooks")) oci.hooks = parse_hooks(*x, top / "hooks");
  if (auto* x = member(v, "annotations")) {
    if (!x->is_object()) (top / "annotations").fail("expected an object");
    for (const auto& [key, value] : x->items()) oci.annotations[key] = get_string(value, top / "annotations" / key);
  }
  if (auto* x = member(v, "linux")) parse_linux(*x, top / "linux", spec);

  const OciNamespaceEntry* net = oci.find(OciNamespace::kNetwork);
  spec.network = net == nullptr ? NetworkMode::kHost : NetworkMode::kNone;
  if (!spec.hostname.empty() && !oci.has(OciNamespace::kUts)) (top / "hostname").fail("setting a hostname needs a uts namespace");
  if (auto it = oci.annotations.find("run.nucleus.backend"); it != oci.annotations.end()) {
    auto kind = parse_backend(it->second);
    if (!kind) (top / "annotations" / "run.nucleus.backend").fail("'" + it->second + "' is not native or gvisor");
    spec.backend = *kind;
  }
  return spec;
}

WorkloadSpec load_oci_bundle(const std::string& bundle_dir) {
  std::string text = sys::read_file(bundle_dir + "/config.json", kMaxConfigBytes, "read the bundle's config.json");
  return parse_oci_config(text, bundle_dir);
}

}  // namespace nucleus
