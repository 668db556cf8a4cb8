#pragma once

#include <poll.h>

#include <array>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"

// Stdio a sandbox cannot be handed as it is (issue 13). runsc gives the Sentry nucleus's
// fds 0-2, and the Sentry treats a regular file as a file of its own: it writes from
// offset 0 without moving the caller's offset (`{ echo A; nucleus run ... echo hi; } > f`
// overwrote A), and reads a stdin file from 0 again. A native workload shares the caller's
// open file description: O_APPEND and the shared offset decide where its bytes go.
//
// So for each of fds 0-2 that is a regular file the sandbox gets a pipe, and nucleus copies
// through the caller's own description, which places every byte as a native workload's
// write would: stdout and stderr of one description share one pipe, so their order is
// kept. stdin is read from the caller's offset, and once the container has ended the
// offset is put back by what the workload left unread. A pipe, a terminal or /dev/null is
// passed on untouched (nothing to do, nothing spent: three fstat calls).
namespace nucleus {

class StdioRelay {
 public:
  // Looks at this process's fds 0-2 and makes the pipes the regular files need.
  static StdioRelay for_regular_files();
  StdioRelay() = default;
  StdioRelay(StdioRelay&&) noexcept = default;
  StdioRelay& operator=(StdioRelay&&) noexcept = default;

  bool active() const { return !links_.empty(); }
  // What the sandbox's 0, 1 and 2 are to be (dup2 before exec); -1: nucleus's own.
  const std::array<int, 3>& child_fds() const { return child_; }
  // The sandbox has its ends: nucleus's copies of them go.
  void started();

  // The fds to watch (POLLIN on a pipe to copy out of, POLLOUT on stdin's pipe) and, after
  // poll, what to do about what is ready; `events` as poll left them, in the same order.
  void poll_fds(std::vector<pollfd>& out) const;
  void pump(const pollfd* ready, size_t count);
  // The container has ended: what its pipes still hold is copied (waiting at most
  // `wait_ms` for a writer that lingers), and stdin's offset is put back.
  void finish(int wait_ms = 2000);

 private:
  struct Link {
    int caller = -1;          // the caller's fd: 0, 1 or 2 (1 also stands for 2 when shared)
    bool input = false;       // stdin: file -> pipe; else pipe -> file
    UniqueFd pipe;            // nucleus's end
    UniqueFd child;           // the sandbox's end, until started()
    UniqueFd reader;          // stdin: a copy of the sandbox's end, to count what it left
    std::string pending;      // stdin: read from the file, not yet in the pipe
    bool eof = false;
  };
  bool copy_out(Link& link);   // false at EOF
  void feed_in(Link& link);
  std::vector<Link> links_;
  std::array<int, 3> child_ = {-1, -1, -1};
};

}  // namespace nucleus
