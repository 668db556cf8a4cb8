#pragma once

#include <linux/filter.h>

#include <optional>
#include <string>
#include <vector>

#include "core/policy/capabilities.h"
#include "core/policy/seccomp_profile.h"

// The seccomp programs nucleus-init loads inside the sandbox (core/init/filter_file.h): the
// workload's (the resolved profile plus the rows the installed runsc's gaps call for) and
// nucleus-init's own. Compiled on the host by libseccomp, as for the native backend, and
// cached by content, so a start reads bytes; no runsc is asked anything at start.
namespace nucleus::gvisor {

struct InitFilters {
  std::vector<std::vector<sock_filter>> workload;  // loaded in this order
  std::vector<sock_filter> supervisor;
  bool trace_no_automount = false;
};

// `profile`: resolved for the workload (nullopt: --seccomp unconfined). Throws Error.
InitFilters compile_init_filters(const std::optional<seccomp::Profile>& profile, const seccomp::SentryGaps& gaps,
                                 CapSet caps);

// The file's bytes.
std::string encode_init_filters(const InitFilters& filters);

// Creates bundle_dir/init-filters (0444, O_EXCL, O_NOFOLLOW) and returns its path.
// The file's name in the bundle directory.
inline constexpr const char* kInitFiltersFile = "init-filters";
std::string write_init_filters(const std::string& bundle_dir, const InitFilters& filters);

}  // namespace nucleus::gvisor
