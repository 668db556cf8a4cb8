#include "core/policy/rlimits.h"

#include <cerrno>
#include <cstddef>
#include <utility>

namespace nucleus {
namespace {

struct Row {
  int resource;
  rlim_t soft;
  rlim_t hard;
  bool only_in_user_namespace;
};

// clang-format off
constexpr Row kRlimits[] = {
  // Core dumps would write the workload's memory where the host's core_pattern says.
  {RLIMIT_CORE,   0,    0,        false},
  // Enough for servers, bounded for sandboxes; raising the hard limit needs a capability
  // the workload does not have (RES-04).
  {RLIMIT_NOFILE, 1024, 1048576,  false},
  // A fork-bomb backstop behind the pids cgroup. Without a user namespace it would count
  // every host process of the same uid, so it applies only with one.
  {RLIMIT_NPROC,  4096, 4096,     true},
};
// clang-format on

}  // namespace

std::vector<RlimitSetting> plan_rlimits(const RlimitContext& context) {
  std::vector<RlimitSetting> out;
  for (const Row& row : kRlimits) {
    if (row.only_in_user_namespace && !context.user_namespace) continue;
    rlimit current;
    if (::getrlimit(row.resource, &current) != 0) continue;
    rlim_t hard = row.hard < current.rlim_max ? row.hard : current.rlim_max;
    rlim_t soft = row.soft < hard ? row.soft : hard;
    out.push_back({row.resource, soft, hard});
  }
  return out;
}

// Every resource, for names in messages and in OCI config.json.
constexpr std::pair<int, const char*> kNames[] = {
    {RLIMIT_AS, "AS"},         {RLIMIT_CORE, "CORE"},       {RLIMIT_CPU, "CPU"},
    {RLIMIT_DATA, "DATA"},     {RLIMIT_FSIZE, "FSIZE"},     {RLIMIT_LOCKS, "LOCKS"},
    {RLIMIT_MEMLOCK, "MEMLOCK"}, {RLIMIT_MSGQUEUE, "MSGQUEUE"}, {RLIMIT_NICE, "NICE"},
    {RLIMIT_NOFILE, "NOFILE"}, {RLIMIT_NPROC, "NPROC"},     {RLIMIT_RSS, "RSS"},
    {RLIMIT_RTPRIO, "RTPRIO"}, {RLIMIT_RTTIME, "RTTIME"},   {RLIMIT_SIGPENDING, "SIGPENDING"},
    {RLIMIT_STACK, "STACK"},
};

const char* rlimit_name(int resource) {
  for (const auto& [r, name] : kNames) {
    if (r == resource) return name;
  }
  return "?";
}

int rlimit_from_oci_name(std::string_view name) {
  if (name.substr(0, 7) != "RLIMIT_") return -1;
  for (const auto& [r, n] : kNames) {
    if (name.substr(7) == n) return r;
  }
  return -1;
}

int apply_rlimits(const std::vector<RlimitSetting>& limits, int* failed) noexcept {
  for (std::size_t i = 0; i < limits.size(); ++i) {
    rlimit value = {limits[i].soft, limits[i].hard};
    if (::setrlimit(limits[i].resource, &value) != 0) {
      *failed = static_cast<int>(i);
      return errno;
    }
  }
  return 0;
}

}  // namespace nucleus
