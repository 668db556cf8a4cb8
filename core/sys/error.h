#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "core/sys/exit_codes.h"

namespace nucleus {

// The one error type of nucleus (contract in docs/architecture.md, "Errors").
//
//   step    what nucleus was doing, phrased as the user would: "mount proc at /proc",
//           "config.yaml:3:5: workloads.hello.memory", "--hostname"
//   detail  what was wrong, when errno alone does not say it: "invalid size 'lots'"
//   err     the errno of the failing call, 0 when there is none
//
// what() reads "step: detail: strerror(err)" with empty parts left out. Errors are thrown
// in the parent only and printed once, by frontend/main.cc. Code between clone and exec
// never throws: it sends a ChildReport instead (core/child_report.h).
class Error : public std::exception {
 public:
  explicit Error(std::string step, std::string detail = {}, int err = 0,
                 int exit_code = exit_code::kRuntimeError);

  const std::string& step() const noexcept { return step_; }
  const std::string& detail() const noexcept { return detail_; }
  int err() const noexcept { return err_; }
  int exit_code() const noexcept { return exit_code_; }
  const char* what() const noexcept override { return message_.c_str(); }

  // Prefixes outer context, crun_error_wrap style: "outer: <step>: ...".
  Error& wrap(std::string_view outer);

 private:
  void compose();

  std::string step_;
  std::string detail_;
  int err_;
  int exit_code_;
  std::string message_;
};

// An error is one line a person reads: what it quotes of the input is capped (a file of
// 20,000 names, a 1 MB value), and so is the whole message.
inline constexpr size_t kMaxQuoted = 256;
inline constexpr size_t kMaxErrorMessage = 4096;
// text, or its first max bytes and "... (N more bytes)".
std::string capped(std::string_view text, size_t max = kMaxQuoted);

// Throws Error(step, detail, errno) for the current errno.
[[noreturn]] void throw_errno(std::string step, std::string detail = {});

// The errno's symbolic name ("EPERM"), or its number as text when unknown.
std::string errno_name(int err);

}  // namespace nucleus
