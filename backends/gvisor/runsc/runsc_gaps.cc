#include "backends/gvisor/runsc/runsc_gaps.h"

#include <cctype>

namespace nucleus::gvisor {
namespace {

struct GapRow {
  // The first release date known not to have the gap; 0: every release has it, as far as
  // nucleus knows.
  int fixed_in;
  bool seccomp::SentryGaps::*filter_row;  // the filter rows that stand in for it, or null
  const char* what;
  const char* answer;
};

// Public reports have runsc releases from August 2024 on starting a sandbox network on
// kernels where every namespace shows net.core.rmem_default; 0.0~20221219.0 does not (seen
// here on 6.x). No release in between was tried.
constexpr int kNetnsProbeFixedIn = 20240801;

// THE table. Observed on 0.0~20221219.0 from inside sandboxes (tests/integration/
// gvisor_userland_test.cc shows each answer holding).
constexpr GapRow kGaps[] = {
    // Later upstream Sentries ignore the flag (their source cites b/270247637, a bug of early
    // 2023; no later runsc was tried here). nucleus assumes the gap up to mid-2023, so that
    // no release in between breaks `ls`: tracing where it is not needed costs little.
    {20230601, &seccomp::SentryGaps::rejects_no_automount,
     "statx and newfstatat refuse AT_NO_AUTOMOUNT with EINVAL (coreutils' ls, stat; glibc's fallback "
     "passes the flag on)",
     "nucleus-init traces the workload; the filter stops exactly those calls and nucleus-init clears the "
     "flag, a no-op in a Sentry without automounts"},
    {0, nullptr,
     "--oci-seccomp does not apply a profile's argument conditions (ioctl TIOCSTI went through) nor its "
     "errno values (clone3 answered EPERM, not ENOSYS)",
     "nucleus run does not use it: nucleus-init loads nucleus's own filter, compiled on the host, which the "
     "Sentry applies in full; the OCI verbs still hand the orchestrator's profile to runsc"},
    {0, &seccomp::SentryGaps::unchecked_mknod,
     "mknod creates device nodes without CAP_MKNOD, and nodev/nosuid are dropped from tmpfs mounts (a node "
     "made in /tmp opens the Sentry's device)",
     "the filter refuses mknod of character and block devices with EPERM unless the workload holds "
     "CAP_MKNOD; no_new_privs makes nosuid moot"},
    {kNetnsProbeFixedIn, nullptr,
     "--network=sandbox refuses every network namespace as the host's (\"cannot run with network enabled "
     "in root network namespace\"): it probes /proc/sys/net/core/rmem_default, which newer kernels show in "
     "every namespace",
     "nucleus refuses a config naming the host's network namespace itself, then runs runsc start with "
     "/proc/sys/net hidden, so a CNI pod gets its interfaces"},
    {0, nullptr,
     "a running executable can be opened for writing (no ETXTBSY)",
     "binaries of the host view and of --read-only roots are on read-only mounts (EROFS); in a writable "
     "--rootfs a workload root rewrites only the sandbox's in-memory copy, never the host's file; run as "
     "a non-root --user (EACCES) or --read-only to refuse it"},
};

}  // namespace

int runsc_release_date(const std::string& version) {
  for (size_t i = 0; i + 8 <= version.size(); ++i) {
    bool digits = true;
    for (size_t j = i; j < i + 8 && digits; ++j) digits = std::isdigit(static_cast<unsigned char>(version[j])) != 0;
    bool bounded = i + 8 == version.size() || !std::isdigit(static_cast<unsigned char>(version[i + 8]));
    if (digits && bounded && version.compare(i, 2, "20") == 0) return std::stoi(version.substr(i, 8));
  }
  return 0;
}

seccomp::SentryGaps sentry_gaps(const std::string& version) {
  int date = runsc_release_date(version);
  seccomp::SentryGaps gaps;
  for (const GapRow& row : kGaps) {
    if (row.filter_row != nullptr && (row.fixed_in == 0 || date == 0 || date < row.fixed_in)) gaps.*row.filter_row = true;
  }
  return gaps;
}

bool mistakes_every_netns_for_the_hosts(const std::string& version) {
  int date = runsc_release_date(version);
  return date == 0 || date < kNetnsProbeFixedIn;
}

std::vector<RunscGap> runsc_gaps(const std::string& version) {
  int date = runsc_release_date(version);
  std::vector<RunscGap> out;
  for (const GapRow& row : kGaps) {
    if (row.fixed_in == 0 || date == 0 || date < row.fixed_in) out.push_back({row.what, row.answer});
  }
  return out;
}

}  // namespace nucleus::gvisor
