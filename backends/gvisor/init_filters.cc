#include "backends/gvisor/init_filters.h"

#include <fcntl.h>

#include <cstring>

#include "core/init/filter_file.h"
#include "core/policy/seccomp_compile.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

void append_u32(std::string& out, uint32_t value) { out.append(reinterpret_cast<const char*>(&value), sizeof value); }

void append_program(std::string& out, uint32_t role, const std::vector<sock_filter>& code) {
  append_u32(out, role);
  append_u32(out, static_cast<uint32_t>(code.size()));
  out.append(reinterpret_cast<const char*>(code.data()), code.size() * sizeof(sock_filter));
}

}  // namespace

InitFilters compile_init_filters(const std::optional<seccomp::Profile>& profile, const seccomp::SentryGaps& gaps,
                                 CapSet caps) {
  InitFilters out;
  seccomp::Profile workload = seccomp::for_sentry(profile, gaps, caps);
  // --seccomp unconfined with nothing to stand in for: no workload filter at all.
  if (profile || !workload.rules.empty()) {
    SeccompPrograms programs = prepare_seccomp(workload, {});
    out.workload.push_back(std::move(programs.main));
    if (!programs.deny.empty()) out.workload.push_back(std::move(programs.deny));
  }
  out.supervisor = prepare_seccomp(seccomp::supervisor_profile(), {}).main;
  out.trace_no_automount = gaps.rejects_no_automount;
  return out;
}

std::string encode_init_filters(const InitFilters& filters) {
  std::string out(init::kFilterMagic, sizeof init::kFilterMagic);
  append_u32(out, filters.trace_no_automount ? uint32_t{init::kTraceNoAutomount} : uint32_t{0});
  append_u32(out, static_cast<uint32_t>(filters.workload.size() + 1));
  for (const std::vector<sock_filter>& program : filters.workload) append_program(out, init::kWorkloadFilter, program);
  append_program(out, init::kSupervisorFilter, filters.supervisor);
  return out;
}

std::string write_init_filters(const std::string& bundle_dir, const InitFilters& filters) {
  std::string path = bundle_dir + "/" + kInitFiltersFile;
  std::string bytes = encode_init_filters(filters);
  UniqueFd fd = sys::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, "write the OCI bundle", 0444);
  if (int err = sys::write_all(fd.get(), bytes.data(), bytes.size())) throw Error("write the OCI bundle", path, err);
  return path;
}

}  // namespace nucleus::gvisor
