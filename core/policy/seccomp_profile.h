#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/policy/capabilities.h"

// Seccomp policy as data, shared by both backends and compiled once by libseccomp on the
// host (seccomp_compile.h): the native child loads the programs itself, and under gVisor
// nucleus-init loads them inside the sandbox.
// The default profile (seccomp_profile.cc) is one table a reviewer can read in a minute;
// a user's OCI/Docker JSON profile (seccomp_json.cc) parses into the same shape.
namespace nucleus::seccomp {

// kTrace stops the caller for its tracer (SECCOMP_RET_TRACE): only nucleus's own gVisor rows
// use it, for nucleus-init to mend an argument (for_sentry); user profiles cannot name it.
enum class Action { kAllow, kErrno, kKillThread, kKillProcess, kTrap, kLog, kTrace };
enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };

struct Arg {
  unsigned index = 0;
  Op op = Op::kEq;
  uint64_t value = 0;
  uint64_t value_two = 0;  // kMaskedEq: (arg & value) == value_two
};

struct Rule {
  std::vector<std::string> names;
  Action action = Action::kAllow;
  int errno_ret = EPERM;
  std::vector<Arg> args;          // all must hold (AND); several rules for a name are ORed
  CapSet requires_caps = 0;       // applies only when the workload holds all of these
  CapSet excludes_caps = 0;       // ... and none of these
  bool trusted_only = false;      // applies only under the trusted isolation level
  std::string comment;
};

struct Profile {
  Action default_action = Action::kErrno;
  int default_errno = EPERM;
  std::vector<Rule> rules;
  // Syscall numbers newer than the profile was written for answer ENOSYS, so libc falls
  // back to an older call instead of failing with EPERM (runc's stub, moby 4489e67).
  bool enosys_for_newer = true;
};

// Who the filter is for: rules gated on capabilities or the level are resolved with this.
struct Conditions {
  CapSet caps = 0;
  bool trusted = false;
};

// THE default profile.
const Profile& default_profile();

// The rules that apply under `when`, with the gates resolved (requires/excludes cleared).
Profile resolve(const Profile& profile, const Conditions& when);

// What the Sentry of a runsc release does not do itself, so that nucleus's filter under gVisor
// stands in for it (backends/gvisor/runsc/runsc_gaps.cc says which release lacks what).
struct SentryGaps {
  // Device nodes are created without CAP_MKNOD, and nodev is not honoured: mknod of a
  // character or block device answers EPERM unless the workload holds CAP_MKNOD.
  bool unchecked_mknod = false;
  // statx and newfstatat refuse AT_NO_AUTOMOUNT with EINVAL (coreutils' ls and stat send
  // it): those calls stop for nucleus-init (kTrace), which clears the flag, a no-op in a
  // Sentry that has no automounts, and lets the call go on.
  bool rejects_no_automount = false;
};

// The workload's filter under gVisor: `profile` (resolved; nullopt for --seccomp unconfined,
// which keeps only these rows) plus the rows `gaps` calls for, for a workload holding `caps`.
Profile for_sentry(const std::optional<Profile>& profile, const SentryGaps& gaps, CapSet caps);

// nucleus-init's own filter under gVisor, from the moment the workload runs: waiting,
// tracing, forwarding signals and exiting; every other call answers EPERM.
const Profile& supervisor_profile();

// A stable text form of a resolved profile: the cache key's input and a golden-file form.
std::string serialize(const Profile& profile);

}  // namespace nucleus::seccomp
