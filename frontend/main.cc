// nucleus's entry: the one place errors are caught, printed (one line) and mapped to an
// exit status (crun src/crun.c main).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>

#include "core/sys/error.h"
#include "core/sys/exit_codes.h"
#include "core/sys/trace_timing.h"
#include "frontend/cli.h"

namespace {

// A closed 0, 1 or 2 would let the next open() (the sync socket, a state file) become the
// workload's stdio: fill the gaps with /dev/null first (runc CHANGELOG #3674).
void ensure_stdio_open() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  }
}

int report(const std::string& message, int code) {
  nucleus::frontend::log_error_to_file(message);
  std::string line = "nucleus: " + nucleus::capped(message, nucleus::kMaxErrorMessage);
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  line += '\n';
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  return code;
}

int run(int argc, char** argv) {
  try {
    return nucleus::frontend::run_cli(argc, argv);
  } catch (const nucleus::Error& e) {
    return report(e.what(), e.exit_code());
  } catch (const std::exception& e) {
    return report(e.what(), nucleus::exit_code::kRuntimeError);
  }
}

}  // namespace

int main(int argc, char** argv) {
  nucleus::timing::init();
  ensure_stdio_open();
  int code = run(argc, argv);
  nucleus::timing::mark("cleaned up, exiting");
  nucleus::timing::report();
  // Out without static destructors or atexit handlers: nothing of nucleus's needs them (every
  // kernel resource has its RAII owner, gone by now), and running them faults in pages of
  // code and data a start never used (16 page faults, ~50 us a start).
  std::fflush(nullptr);
  ::_exit(code);
}
