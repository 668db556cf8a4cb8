#include "core/init/signals.h"

#include <string.h>

namespace nucleus::init {
namespace {

constexpr SignalName kAllSignals[] = {
    {SIGHUP, "HUP"},     {SIGINT, "INT"},       {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},   {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},     {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},   {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"},   {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},   {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},   {SIGSTKFLT, "STKFLT"},
    {SIGCHLD, "CHLD"},   {SIGCONT, "CONT"},     {SIGSTOP, "STOP"},   {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},   {SIGTTOU, "TTOU"},     {SIGURG, "URG"},     {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"},   {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"},   {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},       {SIGPWR, "PWR"},       {SIGSYS, "SYS"},
};

}  // namespace

void forwarded_signal_set(sigset_t* set) noexcept {
  sigemptyset(set);
  for (const SignalName& s : kForwardedSignals) sigaddset(set, s.number);
}

const char* signal_name(int sig) noexcept {
  for (const SignalName& s : kAllSignals) {
    if (s.number == sig) return s.name;
  }
  return nullptr;
}

int signal_from_text(const char* text) noexcept {
  if (text == nullptr || *text == '\0') return 0;
  if (*text >= '0' && *text <= '9') {
    int value = 0;
    for (const char* p = text; *p != '\0'; ++p) {
      if (*p < '0' || *p > '9' || value > 64) return 0;
      value = value * 10 + (*p - '0');
    }
    return value >= 1 && value <= 64 ? value : 0;
  }
  if (strncmp(text, "SIG", 3) == 0) text += 3;
  for (const SignalName& s : kAllSignals) {
    if (strcmp(s.name, text) == 0) return s.number;
  }
  return 0;
}

}  // namespace nucleus::init
