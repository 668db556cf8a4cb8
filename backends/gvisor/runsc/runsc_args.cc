#include "backends/gvisor/runsc/runsc_args.h"

#include <algorithm>

#include "core/sys/error.h"

namespace nucleus::gvisor {

std::vector<std::string> global_args(const RunscConfig& c) {
  std::vector<std::string> args = {
      "--root=" + c.root,
      "--platform=" + c.platform,
      std::string("--network=") + (c.sandbox_network ? "sandbox" : c.network == NetworkMode::kHost ? "host" : "none"),
  };
  if (!c.manage_cgroups) args.push_back("--ignore-cgroups");
  if (c.oci_seccomp) args.push_back("--oci-seccomp");
  args.push_back(std::string("--overlay2=") + (c.memory_overlay ? "root:memory" : "none"));
  if (c.log_fd >= 0) {
    args.push_back("--log-fd=" + std::to_string(c.log_fd));
    args.push_back("--log-format=json");
  }
  if (!c.debug_log_dir.empty()) {
    args.push_back("--debug");
    args.push_back("--debug-log=" + c.debug_log_dir + "/");
  }
  return args;
}

std::vector<std::string> run_args(const RunscConfig& c, const std::string& bundle, const std::string& id) {
  std::vector<std::string> args = global_args(c);
  args.insert(args.end(), {"run", "--bundle", bundle, id});
  return args;
}

std::vector<std::string> kill_args(const RunscConfig& c, const std::string& id, int sig) {
  std::vector<std::string> args = {"--root=" + c.root, "kill", id, std::to_string(sig)};
  return args;
}

std::vector<std::string> delete_args(const RunscConfig& c, const std::string& id) {
  return {"--root=" + c.root, "delete", "--force", id};
}

std::string choose_platform(GvisorPlatform requested, const std::vector<std::string>& offered) {
  auto has = [&](const std::string& p) { return std::find(offered.begin(), offered.end(), p) != offered.end(); };
  if (requested == GvisorPlatform::kAuto) return has("systrap") ? "systrap" : "ptrace";
  std::string name(to_string(requested));
  if (!has(name)) {
    std::string list;
    for (const std::string& p : offered) list += (list.empty() ? "" : ", ") + p;
    throw Error("--gvisor-platform", "this runsc does not offer " + name + " (it has: " + list + ")");
  }
  return name;
}

}  // namespace nucleus::gvisor
