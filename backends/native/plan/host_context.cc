// The real host as the launch plan sees it (launch_plan.h): probes, the caller's ids, the
// test-only ablation switches.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "backends/native/layers/capabilities.h"
#include "backends/native/layers/landlock.h"
#include "backends/native/plan/launch_plan.h"
#include "config/host_paths.h"
#include "core/policy/env_filter.h"
#include "core/policy/seccomp_json.h"

namespace nucleus::native {
namespace {

Ablation read_ablation() {
  Ablation a;
  const char* text = ::getenv("NUCLEUS_TEST_ABLATE");
  if (text == nullptr || *text == '\0') return a;
  std::string_view rest(text);
  while (!rest.empty()) {
    std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    if (item == "nnp") a.no_new_privs = true;
    else if (item == "masks") a.masks = true;
    else if (item == "userns-clamp") a.userns_clamp = true;
    else if (item == "ro-mounts") a.read_only_binds = true;
    else throw Error("NUCLEUS_TEST_ABLATE", "unknown layer '" + std::string(item) + "' (nnp, masks, userns-clamp, ro-mounts)");
  }
  spdlog::warn("NUCLEUS_TEST_ABLATE={}: test-only, isolation layers are switched off", text);
  return a;
}

}  // namespace

HostContext real_host() {
  HostContext host;
  host.uid = ::geteuid();
  host.gid = ::getegid();
  host.caller_is_root = host.uid == 0;
  host.probe = probe_host;
  host.landlock_abi = landlock_abi();
  host.last_cap = read_last_cap();
  host.ablation = read_ablation();
  return host;
}

}  // namespace nucleus::native
