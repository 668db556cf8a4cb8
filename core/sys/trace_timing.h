// NUCLEUS_TRACE_TIMING=1: a timestamp at each phase of a start, from nucleus's main() to the
// workload's exit, printed to stderr as nucleus exits (scripts/bench takes medians of them).
// mark() allocates nothing and is async-signal-safe: the child between clone and exec, and
// the PID-1 supervisor, record into the same shared page as the parent.
#pragma once

namespace nucleus::timing {

// Maps the shared page when the variable is set; call once, first thing in main().
void init() noexcept;
bool enabled() noexcept;
// `phase` must be a string literal (the child's pointers are read by the parent).
void mark(const char* phase) noexcept;
// The marks so far, one line each: milliseconds since main(), since the previous mark, the
// phase, and which process recorded it. Only the process that called init() prints.
void report() noexcept;

}  // namespace nucleus::timing
