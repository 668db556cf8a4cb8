// nucleus-init: the PID-1 supervisor as a small static program, for sandboxes where nucleus
// cannot run code in-process (gVisor names it in process.args, bind-mounted read-only).
//
//   nucleus-init [--] COMMAND [ARG...]
//
// Exits with the command's status, 128+N when signal N killed it, 127 when the command
// does not exist and 126 when it cannot be executed. libc only.
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/init/supervisor.h"

namespace {

void say(const char* a, const char* b, const char* c) noexcept {
  const char* parts[] = {"nucleus-init: ", a, b, c, "\n"};
  for (const char* p : parts) {
    if (p != nullptr) (void)!write(STDERR_FILENO, p, strlen(p));
  }
}

// The same one line nucleus prints for a native container: "nucleus: exec CMD: strerror".
int exec_command(void* ctx) noexcept {
  char** argv = static_cast<char**>(ctx);
  execvp(argv[0], argv);
  int err = errno;
  const char* parts[] = {"nucleus: exec ", argv[0], ": ", strerror(err), "\n"};
  for (const char* p : parts) (void)!write(STDERR_FILENO, p, strlen(p));
  return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    say("usage: nucleus-init [--] COMMAND [ARG...]", nullptr, nullptr);
    return 125;
  }
  // Orphans must come to us even when we are not PID 1, and the workload must never be
  // able to read or ptrace its supervisor (CVE-2016-9962).
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int code = 125;
  if (int err = nucleus::init::supervise(exec_command, nullptr, argv + first, &code); err != 0) {
    say("cannot start the workload: ", strerror(err), nullptr);
  }
  return code;
}
