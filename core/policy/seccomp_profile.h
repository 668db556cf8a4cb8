#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "core/policy/capabilities.h"

// Seccomp policy as data, shared by both backends: the native backend compiles it with
// libseccomp, the gVisor bundle writes it into config.json for `runsc --oci-seccomp`.
// The default profile (seccomp_profile.cc) is one table a reviewer can read in a minute;
// a user's OCI/Docker JSON profile (seccomp_json.cc) parses into the same shape.
namespace nucleus::seccomp {

enum class Action { kAllow, kErrno, kKillThread, kKillProcess, kTrap, kLog };
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

// A stable text form of a resolved profile: the cache key's input and a golden-file form.
std::string serialize(const Profile& profile);

}  // namespace nucleus::seccomp
