#pragma once

// Exit statuses nucleus promises (docker's convention, see docs/usage.md).
// Lives in core/ because backends raise 126/127 and the CLI maps the rest.
namespace nucleus::exit_code {

inline constexpr int kTimeout = 124;        // --timeout expired
inline constexpr int kRuntimeError = 125;   // nucleus itself failed: bad input, setup, host
inline constexpr int kCannotExecute = 126;  // command found but not executable
inline constexpr int kNotFound = 127;       // command not found
inline constexpr int kSignalBase = 128;     // the workload died of signal N: 128 + N

}  // namespace nucleus::exit_code
