#include "backends/gvisor/oci_bundle.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/gvisor/init_filters.h"
#include "backends/gvisor/runsc/runsc_gaps.h"
#include "core/sys/error.h"
#include "core/policy/seccomp_json.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

using nlohmann::json;

json mount(const std::string& destination, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

std::string rlimit_type(int resource) { return std::string("RLIMIT_") + rlimit_name(resource); }

json kernel_mounts() {
  json mounts = json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
  mounts.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  return mounts;
}

void make_dirs(const std::string& root, const std::string& rel) {
  std::string path = root;
  size_t start = 0;
  while (start < rel.size()) {
    size_t slash = rel.find('/', start);
    path += "/" + rel.substr(start, slash - start);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("prepare the gVisor root", path);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
}

void make_file(const std::string& root, const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash != std::string::npos) make_dirs(root, rel.substr(0, slash));
  std::string path = root + "/" + rel;
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("prepare the gVisor root", path);
  ::close(fd);
}

}  // namespace

std::vector<std::string> init_args(bool filters, bool exec) {
  std::vector<std::string> args = {kInitPath};
  if (filters) args.insert(args.end(), {"--filters", kFiltersPath});
  if (exec) args.push_back("--exec");
  args.push_back("--");
  return args;
}

json oci_user(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& additional_gids) {
  return {{"uid", uid}, {"gid", gid}, {"additionalGids", additional_gids}};
}

json oci_capabilities(const CapabilitySets& sets) {
  return {{"bounding", capability_names(sets.bounding)},
          {"effective", capability_names(sets.effective)},
          {"permitted", capability_names(sets.permitted)},
          {"inheritable", capability_names(sets.inheritable)},
          {"ambient", capability_names(sets.ambient)}};
}

json make_config(const BundleSpec& s) {
  json process;
  process["terminal"] = false;
  std::vector<std::string> args = init_args(!s.init_filters.empty(), false);
  args.insert(args.end(), s.command.begin(), s.command.end());
  process["args"] = args;
  process["env"] = s.env;
  process["cwd"] = s.cwd;
  process["user"] = oci_user(s.identity.uid, s.identity.gid, s.identity.groups);
  process["capabilities"] = oci_capabilities({.bounding = s.capabilities,
                                              .effective = s.capabilities,
                                              .inheritable = s.ambient ? s.capabilities : 0,
                                              .permitted = s.capabilities,
                                              .ambient = s.ambient ? s.capabilities : 0});
  json rlimits = json::array();
  for (const RlimitSetting& r : s.rlimits) {
    rlimits.push_back({{"type", rlimit_type(r.resource)}, {"hard", r.hard}, {"soft", r.soft}});
  }
  process["rlimits"] = rlimits;
  process["noNewPrivileges"] = true;

  json mounts = kernel_mounts();
  for (const HostViewItem& item : s.host_view) {
    if (item.kind == HostViewItem::kSymlink) continue;  // part of the skeleton
    mounts.push_back(mount("/" + item.target, "bind", item.source, {"rbind", "ro", "nosuid", "nodev"}));
  }
  for (const MountSpec& m : s.mounts) mounts.push_back(mount(m.destination, m.type, m.source, m.options));
  mounts.push_back(mount(kInitPath, "bind", s.init_source, {"bind", "ro", "nosuid", "nodev"}));
  if (!s.init_filters.empty()) mounts.push_back(mount(kFiltersPath, "bind", s.init_filters, {"bind", "ro", "nosuid", "nodev", "noexec"}));

  json linux;
  json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (s.network == NetworkMode::kNone) namespaces.push_back({{"type", "network"}});
  // The bridge: the namespace nucleus prepared, whose veth runsc's netstack takes over.
  if (s.network == NetworkMode::kBridge) namespaces.push_back({{"type", "network"}, {"path", s.netns_path}});
  linux["namespaces"] = namespaces;
  linux["maskedPaths"] = s.masked_paths;
  linux["readonlyPaths"] = s.readonly_paths;
  // The profile for the record (and scripts/bench's peers): runsc runs without --oci-seccomp
  // and leaves it alone; nucleus-init enforces its compiled form (init_filters.h).
  if (s.seccomp) linux["seccomp"] = seccomp::to_oci(*s.seccomp);

  return {{"ociVersion", "1.0.2"},
          {"process", process},
          {"root", {{"path", s.root_path}, {"readonly", s.root_readonly}}},
          {"hostname", s.hostname},
          {"mounts", mounts},
          {"linux", linux}};
}

std::string write_bundle_filters(const std::string& bundle_dir, const BundleSpec& spec, const std::string& runsc_version) {
  return write_init_filters(bundle_dir, compile_init_filters(spec.seccomp, sentry_gaps(runsc_version), spec.capabilities));
}

void write_config(const std::string& bundle_dir, const json& config) {
  std::string path = bundle_dir + "/config.json";
  UniqueFd fd = sys::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, "write the OCI bundle", 0600);
  std::string text = config.dump(1);
  if (int err = sys::write_all(fd.get(), text.data(), text.size())) throw Error("write the OCI bundle", path, err);
}

void make_skeleton(const std::string& root, const std::vector<HostViewItem>& view, const std::string& workdir) {
  for (const char* dir : {"proc", "dev", "sys", "tmp"}) make_dirs(root, dir);
  for (const HostViewItem& item : view) {
    switch (item.kind) {
      case HostViewItem::kBindDirectory: make_dirs(root, item.target); break;
      case HostViewItem::kBindFile: make_file(root, item.target); break;
      case HostViewItem::kSymlink: {
        size_t slash = item.target.rfind('/');
        if (slash != std::string::npos) make_dirs(root, item.target.substr(0, slash));
        std::string path = root + "/" + item.target;
        if (::symlink(item.source.c_str(), path.c_str()) != 0) throw_errno("prepare the gVisor root", path);
        break;
      }
    }
  }
  if (workdir != "/") make_dirs(root, workdir.substr(1));
}

}  // namespace nucleus::gvisor
