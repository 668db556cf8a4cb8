#pragma once

#include <chrono>
#include <functional>
#include <string>

// A library call that may not return, run where it cannot hang nucleus: in a forked child
// with a deadline. libseccomp 2.5.4 loops forever on some profiles of conditional rules of
// several verdicts for one call (found by fuzzing it), and a profile comes from a user or a
// config.json; `nucleus create` must answer. Off the start path: only where nucleus's own
// BPF writer declines a profile and the cache has none (core/policy/seccomp_compile.cc).
namespace nucleus::sys {

// What `work` returned in the child; an Error it threw is thrown here, as it was (step,
// detail, errno). Throws Error(step, "did not finish in N ms") once the child has taken
// `deadline`, after killing it.
std::string run_with_deadline(const std::string& step, std::chrono::milliseconds deadline,
                              const std::function<std::string()>& work);

}  // namespace nucleus::sys
