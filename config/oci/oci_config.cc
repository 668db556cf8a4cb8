#include "config/oci/oci_config.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "config/oci/oci_json.h"
#include "core/sys/error.h"
#include "core/policy/seccomp_json.h"
#include "core/sys/sys.h"
#include "core/policy/env_filter.h"

#include <spdlog/spdlog.h>

namespace nucleus {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxConfigBytes = 4u << 20;

CapSet get_caps(const json& v, const oci_json::At& at) {
  CapSet set = 0;
  std::vector<std::string> names = oci_json::get_strings(v, at);
  for (size_t i = 0; i < names.size(); ++i) {
    auto cap = capability_from_name(names[i]);
    if (!cap) at[i].fail("unknown capability '" + names[i] + "'");
    set |= CapSet{1} << *cap;
  }
  return set;
}

CapabilitySets parse_capabilities(const json& v, const oci_json::At& at) {
  oci_json::check_keys(v, at, {"bounding", "effective", "inheritable", "permitted", "ambient"});
  CapabilitySets c;
  if (auto* x = oci_json::member(v, "bounding")) c.bounding = get_caps(*x, at / "bounding");
  if (auto* x = oci_json::member(v, "effective")) c.effective = get_caps(*x, at / "effective");
  if (auto* x = oci_json::member(v, "inheritable")) c.inheritable = get_caps(*x, at / "inheritable");
  if (auto* x = oci_json::member(v, "permitted")) c.permitted = get_caps(*x, at / "permitted");
  if (auto* x = oci_json::member(v, "ambient")) c.ambient = get_caps(*x, at / "ambient");
  // The kernel raises an ambient capability only if it is permitted and inheritable
  // (PR_CAP_AMBIENT_RAISE: EPERM). `runc spec` lists ambient capabilities without an
  // inheritable set: runc and crun run such a process without them, and so does nucleus.
  if (CapSet dropped = c.ambient & ~(c.permitted & c.inheritable)) {
    std::string names;
    for (const std::string& n : capability_names(dropped)) names += (names.empty() ? "" : ",") + n;
    spdlog::debug("{}: {}.ambient: {} not raised (not both permitted and inheritable)", at.doc, at.path, names);
    c.ambient &= c.permitted & c.inheritable;
  }
  return c;
}

std::vector<RlimitSetting> parse_rlimits(const json& v, const oci_json::At& at) {
  std::vector<RlimitSetting> out;
  oci_json::for_each_object(v, at, {"type", "soft", "hard"}, {}, [&](const json& l, const oci_json::At& e) {
    std::string type = oci_json::get_string(oci_json::required(l, e, "type"), e / "type");
    int resource = rlimit_from_oci_name(type);
    if (resource < 0) (e / "type").fail("unknown rlimit '" + type + "'");
    for (const RlimitSetting& r : out) {
      if (r.resource == resource) (e / "type").fail("'" + type + "' given twice");
    }
    auto value = [&](const char* key) -> rlim_t {
      const json& x = oci_json::required(l, e, key);
      if (!x.is_number_unsigned()) (e / key).fail("expected a non-negative integer");
      return static_cast<rlim_t>(x.get<uint64_t>());
    };
    rlim_t soft = value("soft");
    rlim_t hard = value("hard");
    if (soft > hard) (e / "soft").fail("above the hard limit");
    out.push_back({resource, soft, hard});
  });
  return out;
}

std::vector<MountSpec> parse_mounts(const json& v, const oci_json::At& at) {
  std::vector<MountSpec> out;
  oci_json::for_each_object(v, at, {"destination", "type", "source", "options"}, {"uidMappings", "gidMappings"},
                  [&](const json& d, const oci_json::At& e) {
    MountSpec m;
    m.destination = oci_json::absolute_path(oci_json::required(d, e, "destination"), e / "destination");
    if (auto* x = oci_json::member(d, "type")) m.type = oci_json::get_string(*x, e / "type");
    if (auto* x = oci_json::member(d, "source")) m.source = oci_json::get_string(*x, e / "source");
    if (auto* x = oci_json::member(d, "options")) m.options = oci_json::get_strings(*x, e / "options");
    bool bind_option = std::any_of(m.options.begin(), m.options.end(),
                                   [](const std::string& o) { return o == "bind" || o == "rbind"; });
    if (m.type.empty() || m.type == "none") m.type = bind_option ? "bind" : m.type;
    if (m.type.empty()) (e / "type").fail("missing");
    if (m.type == "bind" && (m.source.empty() || m.source[0] != '/')) (e / "source").fail("a bind needs an absolute source");
    out.push_back(std::move(m));
  });
  return out;
}

HooksSpec parse_hooks(const json& v, const oci_json::At& at) {
  oci_json::check_keys(v, at, {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"});
  HooksSpec hooks;
  auto list = [&](const char* key, std::vector<HookSpec>& into) {
    const json* x = oci_json::member(v, key);
    if (x == nullptr) return;
    oci_json::for_each_object(*x, at / key, {"path", "args", "env", "timeout"}, {}, [&](const json& d, const oci_json::At& e) {
      HookSpec h;
      h.path = oci_json::absolute_path(oci_json::required(d, e, "path"), e / "path");
      if (auto* y = oci_json::member(d, "args")) h.args = oci_json::get_strings(*y, e / "args");
      if (auto* y = oci_json::member(d, "env")) h.env = oci_json::get_strings(*y, e / "env");
      if (auto* y = oci_json::member(d, "timeout")) h.timeout_seconds = static_cast<int>(get_int(*y, e / "timeout", 1, 86400));
      into.push_back(std::move(h));
    });
  };
  list("prestart", hooks.prestart);
  list("createRuntime", hooks.create_runtime);
  list("createContainer", hooks.create_container);
  list("startContainer", hooks.start_container);
  list("poststart", hooks.poststart);
  list("poststop", hooks.poststop);
  return hooks;
}

// What every container may use whatever the config's device rules deny (runc's and crun's
// list): the default nodes, the pty pair, mknod of anything (using it is still checked),
// and the config's own devices.
void add_devices_every_container_may_use(CgroupLimits& limits, const std::vector<DeviceSpec>& devices) {
  if (limits.devices.empty()) return;
  for (CgroupDeviceRule r : std::initializer_list<CgroupDeviceRule>{
           {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"}, {true, 'c', 1, 3, "rwm"}, {true, 'c', 1, 5, "rwm"},
           {true, 'c', 1, 7, "rwm"}, {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},
           {true, 'c', 5, 1, "rwm"}, {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"}}) {
    limits.devices.push_back(r);
  }
  for (const DeviceSpec& d : devices) {
    if (d.type != 'p') limits.devices.push_back({true, d.type == 'b' ? 'b' : 'c', d.major, d.minor, "rwm"});
  }
}

// A new user namespace without mappings (`crun spec --rootless`): crun's default, the
// process's ids onto the caller's (a root caller: ids 0 up to the process's onto 0 up).
void map_caller_when_unmapped(ContainerSpec& spec) {
  if (!spec.creates(NamespaceType::kUser)) return;
  auto caller_map = [](uint32_t inside, uint32_t caller) -> std::vector<IdMapping> {
    return {caller == 0 ? IdMapping{0, 0, inside + 1} : IdMapping{inside, caller, 1}};
  };
  if (spec.uid_mappings.empty()) spec.uid_mappings = caller_map(spec.process.uid, ::geteuid());
  if (spec.gid_mappings.empty()) spec.gid_mappings = caller_map(spec.process.gid, ::getegid());
}

// A label or profile for a security module: nothing to apply where the module is off (crun
// ignores it there; runc refuses it), and refused where it is on, since nucleus would not
// apply it.
void check_label(const std::string& label, bool module_enabled, const oci_json::At& at, const char* module) {
  if (label.empty()) return;
  if (module_enabled) at.fail(std::string(module) + " is enabled on this host and nucleus does not apply its labels");
  spdlog::debug("{}: {}: ignored ({} is not enabled on this host)", at.doc, at.path, module);
}

}  // namespace

ProcessSpec parse_oci_process(const json& v, const std::string& what, const LsmState& lsm) {
  const oci_json::At at{what, "process"};
  oci_json::check_keys(v, at,
             {"terminal", "consoleSize", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges",
              "oomScoreAdj", "apparmorProfile", "selinuxLabel"},
             {"commandLine", "ioPriority", "scheduler", "execCPUAffinity"});
  ProcessSpec p;
  p.no_new_privileges = false;  // runtime-spec: unset means false
  if (auto* x = oci_json::member(v, "terminal")) p.terminal = oci_json::get_bool(*x, at / "terminal");
  if (auto* x = oci_json::member(v, "consoleSize")) {
    oci_json::check_keys(*x, at / "consoleSize", {"height", "width"});
    if (auto* h = oci_json::member(*x, "height")) p.console_rows = static_cast<uint16_t>(get_int(*h, at / "consoleSize" / "height", 0, 65535));
    if (auto* w = oci_json::member(*x, "width")) p.console_columns = static_cast<uint16_t>(get_int(*w, at / "consoleSize" / "width", 0, 65535));
  }
  if (auto* u = oci_json::member(v, "user")) {
    const oci_json::At a = at / "user";
    oci_json::check_keys(*u, a, {"uid", "gid", "umask", "additionalGids"}, {"username"});
    if (auto* x = oci_json::member(*u, "uid")) p.uid = static_cast<uint32_t>(get_int(*x, a / "uid", 0, UINT32_MAX - 1));
    if (auto* x = oci_json::member(*u, "gid")) p.gid = static_cast<uint32_t>(get_int(*x, a / "gid", 0, UINT32_MAX - 1));
    if (auto* x = oci_json::member(*u, "umask")) p.umask = static_cast<uint32_t>(get_int(*x, a / "umask", 0, 0777));
    if (auto* x = oci_json::member(*u, "additionalGids")) {
      if (!x->is_array()) (a / "additionalGids").fail("expected a list");
      for (size_t i = 0; i < x->size(); ++i) {
        p.additional_gids.push_back(static_cast<uint32_t>(get_int((*x)[i], (a / "additionalGids")[i], 0, UINT32_MAX - 1)));
      }
    }
  }
  if (!oci_json::member(v, "args")) (at / "args").fail("missing: no command to run");
  p.args = oci_json::get_strings(v["args"], at / "args");
  if (p.args.empty() || p.args[0].empty()) (at / "args").fail("no command to run");
  if (auto* x = oci_json::member(v, "env")) {
    p.env = oci_json::get_strings(*x, at / "env");
    for (size_t i = 0; i < p.env.size(); ++i) {
      if (p.env[i].find('=') == std::string::npos || p.env[i][0] == '=') (at / "env")[i].fail("'" + p.env[i] + "' is not KEY=VALUE");
    }
    Environment env = filter_environment(p.env);
    for (const std::string& name : env.dropped) {
      spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
    }
    p.env = std::move(env.entries);
  }
  if (auto* x = oci_json::member(v, "cwd")) p.cwd = oci_json::absolute_path(*x, at / "cwd");
  if (auto* x = oci_json::member(v, "capabilities")) p.capabilities = parse_capabilities(*x, at / "capabilities");
  if (auto* x = oci_json::member(v, "rlimits")) p.rlimits = parse_rlimits(*x, at / "rlimits");
  if (auto* x = oci_json::member(v, "noNewPrivileges")) p.no_new_privileges = oci_json::get_bool(*x, at / "noNewPrivileges");
  if (auto* x = oci_json::member(v, "oomScoreAdj")) p.oom_score_adj = static_cast<int>(get_int(*x, at / "oomScoreAdj", -1000, 1000));
  if (auto* x = oci_json::member(v, "apparmorProfile")) {
    std::string profile = oci_json::get_string(*x, at / "apparmorProfile");
    if (profile != "unconfined") check_label(profile, lsm.apparmor, at / "apparmorProfile", "AppArmor");
  }
  if (auto* x = oci_json::member(v, "selinuxLabel")) check_label(oci_json::get_string(*x, at / "selinuxLabel"), lsm.selinux, at / "selinuxLabel", "SELinux");
  return p;
}

ProcessSpec parse_oci_process_text(std::string_view text, const std::string& what) {
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) throw Error(what, "not valid JSON");
  return parse_oci_process(v, what);
}

ContainerSpec parse_oci_config(std::string_view text, const std::string& bundle_dir, const LsmState& lsm) {
  const std::string doc = "config.json";
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) throw Error(doc, "not valid JSON");
  const oci_json::At top{doc, ""};
  oci_json::check_keys(v, oci_json::At{doc, "(top level)"},
             {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux"},
             {"solaris", "windows", "vm", "zos"});
  std::string version = oci_json::get_string(oci_json::required(v, top, "ociVersion"), top / "ociVersion");
  if (version.rfind("1.", 0) != 0) (top / "ociVersion").fail("'" + version + "': nucleus reads runtime-spec 1.x");

  // The config is the whole policy: the orchestrator chose the capabilities, the filter
  // and the mounts, and nucleus's presets add nothing (as crun or runc would run it).
  ContainerSpec spec;
  spec.bundle = bundle_dir;
  spec.root.layout = RootSpec::Layout::kAsWritten;
  spec.init = false;  // the orchestrator's process is PID 1 (podman --init brings its own)
  spec.landlock = false;
  spec.limits.oci = true;
  spec.limits.pids = -1;  // unlimited unless linux.resources.pids says otherwise

  const json& root_object = oci_json::required(v, top, "root");
  oci_json::check_keys(root_object, top / "root", {"path", "readonly"});
  std::string root = oci_json::get_string(oci_json::required(root_object, top / "root", "path"), top / "root" / "path");
  if (root.empty()) (top / "root" / "path").fail("empty");
  spec.root.path = root[0] == '/' ? root : bundle_dir + "/" + root;
  if (auto* x = oci_json::member(root_object, "readonly")) spec.root.read_only = oci_json::get_bool(*x, top / "root" / "readonly");

  if (!oci_json::member(v, "process")) (top / "process").fail("missing: nothing to run");
  spec.process = parse_oci_process(v["process"], doc, lsm);

  if (auto* x = oci_json::member(v, "hostname")) spec.hostname = oci_json::get_string(*x, top / "hostname");
  if (auto* x = oci_json::member(v, "domainname")) spec.domainname = oci_json::get_string(*x, top / "domainname");
  if (auto* x = oci_json::member(v, "mounts")) spec.mounts = parse_mounts(*x, top / "mounts");
  if (auto* x = oci_json::member(v, "hooks")) spec.hooks = parse_hooks(*x, top / "hooks");
  if (auto* x = oci_json::member(v, "annotations")) {
    if (!x->is_object()) (top / "annotations").fail("expected an object");
    for (const auto& [key, value] : x->items()) spec.annotations[key] = oci_json::get_string(value, top / "annotations" / key);
  }
  if (auto* x = oci_json::member(v, "linux")) {
    oci_json::parse_oci_linux(*x, top / "linux", spec);
    map_caller_when_unmapped(spec);
    if (auto* label = oci_json::member(*x, "mountLabel")) check_label(oci_json::get_string(*label, top / "linux" / "mountLabel"), lsm.selinux, top / "linux" / "mountLabel", "SELinux");
  }
  spec.seccomp.conditions = {.caps = spec.process.capabilities.effective, .trusted = false};
  add_devices_every_container_may_use(spec.limits, spec.devices);

  spec.network = spec.has(NamespaceType::kNetwork) ? NetworkMode::kNone : NetworkMode::kHost;
  if (!spec.hostname.empty() && !spec.has(NamespaceType::kUts)) (top / "hostname").fail("setting a hostname needs a uts namespace");
  if (auto it = spec.annotations.find("run.nucleus.backend"); it != spec.annotations.end()) {
    auto kind = parse_backend(it->second);
    if (!kind) (top / "annotations" / "run.nucleus.backend").fail("'" + it->second + "' is not native or gvisor");
    spec.backend = *kind;
    spec.isolation = *kind == BackendKind::kGvisor ? IsolationLevel::kUntrusted : IsolationLevel::kStandard;
  }
  return spec;
}

ContainerSpec load_oci_bundle(const std::string& bundle_dir) {
  std::string text = sys::read_file(bundle_dir + "/config.json", kMaxConfigBytes, "read the bundle's config.json");
  return parse_oci_config(text, bundle_dir);
}

}  // namespace nucleus
