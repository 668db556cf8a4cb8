#include "core/container/child_report.h"

#include <unistd.h>

#include <cerrno>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {

void send_child_report(int fd, uint16_t step, int err, int32_t index) noexcept {
  ChildReport report;
  report.step = step;
  report.err = err;
  report.index = index;
  (void)sys::write_all(fd, &report, sizeof report);
}

std::optional<ChildReport> receive_child_report(int fd) {
  ChildReport report;
  ssize_t n;
  do {
    n = ::read(fd, &report, sizeof report);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("read the container's start-up report");
  if (n == 0) return std::nullopt;
  if (n != static_cast<ssize_t>(sizeof report) || report.magic != ChildReport::kMagic) {
    throw Error("read the container's start-up report", "malformed record");
  }
  return report;
}

}  // namespace nucleus
