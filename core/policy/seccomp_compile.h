#pragma once

#include <linux/filter.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/policy/seccomp_profile.h"

// Compiles a seccomp profile into BPF on the host, once: into one program by nucleus's own
// writer (seccomp_bpf.h) where it says exactly what libseccomp would, else by libseccomp. The
// result is cached on disk keyed by the profile's content (nucleus's own profile: by the
// conditions), this binary's build id and libseccomp's version, so a repeated start only
// reads bytes; without a build id nothing is cached. The native child installs them last, with one
// seccomp(2) per program (crun libcrun_generate_seccomp / libcrun_apply_seccomp, nsjail
// sandbox.cc); under gVisor nucleus-init does, from a file in the bundle (core/init/filter_file.h).
namespace nucleus {

struct SeccompPrograms {
  // The allow-list (default action for everything not named).
  std::vector<sock_filter> main;
  // Argument-specific exceptions to calls `main` allows (ioctl TIOCSTI, TIOCLINUX; under
  // gVisor mknod of devices, and the statx calls nucleus-init mends), when libseccomp wrote
  // the profile. A second, stacked filter: libseccomp cannot express "allowed except these
  // arguments" when the exception's action is the default one, and the kernel applies the
  // stricter verdict. nucleus's writer puts them in `main`, and this stays empty.
  std::vector<sock_filter> deny;
  bool from_cache = false;
};

// What names the compiled programs in the cache (exposed for its test); prepare_seccomp
// uses it only when this binary has a build id.
std::string seccomp_cache_key(const seccomp::Profile& profile, const seccomp::Conditions& when);

// The two writers of a resolved profile (exposed for their test, seccomp_bpf_test.cc):
// libseccomp's pair of programs, and nucleus's one program or nullopt where it declines.
SeccompPrograms compile_with_libseccomp(const seccomp::Profile& resolved);
std::optional<std::vector<sock_filter>> compile_with_nucleus(const seccomp::Profile& resolved);
// libseccomp's, in a child given `deadline` (libseccomp 2.5.4 loops forever on some
// profiles: core/sys/bounded_child.h); what prepare_seccomp uses where nucleus's declines.
SeccompPrograms compile_with_libseccomp_bounded(const seccomp::Profile& resolved, std::chrono::milliseconds deadline);

// Throws Error for a profile libseccomp refuses.
SeccompPrograms prepare_seccomp(const seccomp::Profile& profile, const seccomp::Conditions& when);

// The cache directory nucleus uses (created 0700 when missing), or nullopt when this caller
// has no safe place: then every start compiles.
std::optional<std::string> seccomp_cache_dir();

// Child: installs both programs (no_new_privs must be set). Returns 0 or an errno.
int load_seccomp(const SeccompPrograms& programs) noexcept;

// The syscall number on this architecture, also for calls newer than libseccomp; -1 if none.
int resolve_syscall(const std::string& name);

}  // namespace nucleus
