// nucleus-init: the PID-1 supervisor as a small static program, for sandboxes where nucleus
// cannot run code in-process (gVisor names it in process.args, bind-mounted read-only).
//
//   nucleus-init [--filters FILE] [--] COMMAND [ARG...]
//
// (`--exec` after the filters, a `nucleus exec` into a gVisor container, never reaches main:
// exec_entry.cc runs it before glibc's start-up.)
//
// With --filters (filter_file.h), the workload loads the file's workload programs just before
// its exec, nucleus-init loads the supervisor's own program once the workload runs, and,
// when the file asks for it, nucleus-init traces the workload (tracer.h). A file that cannot
// be read or loaded stops everything: the workload never runs without its filter.
//
// Exits with the command's status, 128+N when signal N killed it, 127 when the command
// does not exist, 126 when it cannot be executed and 125 when nucleus-init itself failed.
// libc only.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/init/filter_file.h"
#include "core/init/signals.h"
#include "core/init/supervisor.h"

namespace {

using nucleus::init::FilterSet;

constexpr int kInitFailed = 125;

void say(const char* a, const char* b, const char* c, const char* d = nullptr) noexcept {
  const char* parts[] = {"nucleus-init: ", a, b, c, d, "\n"};
  for (const char* p : parts) {
    if (p != nullptr) (void)!write(STDERR_FILENO, p, strlen(p));
  }
}

struct Workload {
  char** argv;
  const FilterSet* filters;  // null without --filters
};

// The same one line nucleus prints for a native container: "nucleus: exec CMD: strerror".
int exec_command(void* ctx) noexcept {
  const Workload& w = *static_cast<const Workload*>(ctx);
  // The filter last, right before the exec: a user's profile may refuse what comes before.
  if (w.filters != nullptr) {
    if (int err = nucleus::init::load_filters(*w.filters, nucleus::init::kWorkloadFilter); err != 0) {
      say("cannot load the workload's seccomp filter: ", strerror(err), nullptr);
      return kInitFailed;
    }
  }
  execvp(w.argv[0], w.argv);
  int err = errno;
  const char* parts[] = {"nucleus: exec ", w.argv[0], ": ", strerror(err), "\n"};
  for (const char* p : parts) (void)!write(STDERR_FILENO, p, strlen(p));
  return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

// From here on PID 1 only waits, traces, forwards and reaps: its own filter says so, and
// the workload can neither read nor ptrace it (CVE-2016-9962). Until here nothing but PID 1
// and its own copy ran (traced: waiting to be attached, which needed PID 1 dumpable; not
// traced: until its exec).
void lock_down(void* ctx) noexcept {
  const Workload& w = *static_cast<const Workload*>(ctx);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // PID 1 never reads stdin nor writes stdout: the workload has its own copies. It lets go
  // of them, so nothing of the sandbox reaches them through PID 1 (the Sentry lets a
  // sandbox's root open /proc/1/fd/N; nucleusd's exec channel is the workload's stdin and
  // stdout, docs/api.md "Exec through the agent").
  if (int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC); null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    close(null_fd);
  }
  if (w.filters == nullptr) return;
  if (int err = nucleus::init::load_filters(*w.filters, nucleus::init::kSupervisorFilter); err != 0) {
    say("cannot load the supervisor's seccomp filter: ", strerror(err), nullptr);
    _exit(kInitFailed);  // the workload dies with PID 1
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Under gVisor a signal can reach PID 1 from its first instruction (runsc kill), and one
  // that is neither blocked nor handled is dropped for PID 1: blocked now, the supervisor
  // finds it pending and passes it on once the workload exists.
  sigset_t forwarded;
  nucleus::init::forwarded_signal_set(&forwarded);
  sigprocmask(SIG_BLOCK, &forwarded, nullptr);
  int first = 1;
  FilterSet filters;
  bool have_filters = false;
  if (first + 1 < argc && strcmp(argv[first], "--filters") == 0) {
    if (int err = nucleus::init::read_filter_file(argv[first + 1], &filters); err != 0) {
      say("cannot read the seccomp filters ", argv[first + 1], ": ", err == EINVAL ? "malformed" : strerror(err));
      return kInitFailed;
    }
    have_filters = true;
    first += 2;
  }
  if (first < argc && strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    say("usage: nucleus-init [--filters FILE] [--] COMMAND [ARG...]", nullptr, nullptr);
    return kInitFailed;
  }
  // Orphans must come to us even when we are not PID 1.
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  Workload workload{argv + first, have_filters ? &filters : nullptr};
  nucleus::init::Supervision how{exec_command, lock_down, &workload,
                                 have_filters && (filters.flags & nucleus::init::kTraceNoAutomount) != 0};
  // Not traced, the workload runs from its exec on, before the supervisor's after-fork step:
  // PID 1 is non-dumpable from the start (traced, lock_down does it before the gate opens).
  if (!how.trace) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int code = kInitFailed;
  if (int err = nucleus::init::supervise(how, &code); err != 0) {
    say("cannot start the workload: ", strerror(err), nullptr);
  }
  return code;
}
