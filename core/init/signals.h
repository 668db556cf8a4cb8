#pragma once

#include <signal.h>

// Signal tables shared by the supervisor, the native parent and (later) `nucleus kill`.
// libc only: this is linked into the static nucleus-init.
namespace nucleus::init {

struct SignalName {
  int number;
  const char* name;  // without the SIG prefix
};

// What `nucleus`, and the PID-1 supervisor after it, pass on to the workload. Everything
// else (SIGKILL, SIGSTOP, SIGCHLD, faults) is the kernel's or the supervisor's own.
inline constexpr SignalName kForwardedSignals[] = {
    {SIGTERM, "TERM"}, {SIGINT, "INT"},   {SIGHUP, "HUP"},     {SIGQUIT, "QUIT"},
    {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGWINCH, "WINCH"},
};

// Fills set with kForwardedSignals.
void forwarded_signal_set(sigset_t* set) noexcept;

// "TERM" for SIGTERM, nullptr when unknown.
const char* signal_name(int sig) noexcept;

// Accepts "TERM", "SIGTERM" or "15"; returns 0 when unknown.
int signal_from_text(const char* text) noexcept;

}  // namespace nucleus::init
