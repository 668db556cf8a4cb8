#pragma once

#include <cstdint>
#include <optional>

// The fixed-size record a child writes when a step between clone and exec fails.
// The child fills it on the stack, writes it to its close-on-exec sync socket and _exits;
// the parent reads to EOF: EOF without a record means the exec succeeded. The parent
// turns (step, index, err) into an Error, naming the step with its own copy of the plan,
// so the child never formats text (lldb ProcessLauncherPosixFork, crun sync socket).
namespace nucleus {

struct ChildReport {
  static constexpr uint32_t kMagic = 0x6e75636c;  // "nucl"
  uint32_t magic = kMagic;
  uint16_t step = 0;   // backend-defined step id
  uint16_t pad = 0;
  int32_t err = 0;     // errno of the failing call
  int32_t index = -1;  // which item of the plan (mount op, rlimit, ...), -1 for none
};

// Async-signal-safe: one write of the record. Returns nothing: a child that cannot report
// exits non-zero anyway and the parent says so.
void send_child_report(int fd, uint16_t step, int err, int32_t index = -1) noexcept;

// Parent side: reads one record, or nullopt on EOF (the exec happened). Throws on a
// malformed record or a read error.
std::optional<ChildReport> receive_child_report(int fd);

}  // namespace nucleus
