#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/policy/seccomp_profile.h"

// nucleus's own BPF writer for a resolved profile: one program that finds a call by binary
// search over runs of numbers with the same verdict, where libseccomp writes a tree of every
// call it names (about 500 instructions for the default profile) and a second, stacked
// program for the exceptions it cannot express. The kernel JITs every instruction and runs
// the program once per syscall number at load time to fill its action cache, so a third of
// the instructions and one program instead of two make the load, on every start and exec,
// that much shorter (docs/performance.md).
// It writes only what it can say exactly as libseccomp's pair would (seccomp_bpf_test.cc
// runs both over every number and the arguments' edges); anything else is left to
// libseccomp (seccomp_compile.cc).
namespace nucleus::seccomp {

// Kernel return values (SECCOMP_RET_*), as libseccomp's SCMP_ACT_* are.
using Verdict = uint32_t;

struct Conditional {
  const std::vector<Arg>* args;  // all must hold; empty: always
  Verdict verdict;
};

// What libseccomp's two programs say of one call number.
struct CallRules {
  std::vector<Conditional> main;        // the first program: the verdict when one holds
  std::vector<Conditional> exceptions;  // the second (stacked): the stricter verdict wins
};

struct BpfInput {
  uint32_t audit_arch;  // the one ABI the program admits (AUDIT_ARCH_*)
  Verdict default_verdict;
  Verdict bad_arch;  // other ABIs, and x32's numbers on x86_64
  std::map<int, CallRules> calls;
};

// The program, or nullopt where this writer declines: one call with conditional rules of two
// verdicts in one program, an ordering operator, an argument compared twice in one rule,
// several conditional rules for one call with an NE among them, an exception that allows, or
// a jump longer than classic BPF's 255. libseccomp then writes the profile (or refuses it).
std::optional<std::vector<sock_filter>> write_bpf(BpfInput input);

// The verdict the kernel keeps of two stacked programs' (seccomp_run_filters): the lower
// action wins, as a signed number; of two of one action, the newer program's.
Verdict stricter(Verdict older, Verdict newer);

}  // namespace nucleus::seccomp
