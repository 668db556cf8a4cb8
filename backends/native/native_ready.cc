#include "backends/native/native_ready.h"

#include <poll.h>

#include <cerrno>
#include <string>

#include "backends/native/child/handshake.h"
#include "backends/native/layers/landlock.h"
#include "backends/native/oci/oci_support.h"
#include "config/spec_json.h"
#include "core/init/supervisor.h"
#include "core/sys/error.h"
#include "core/sys/trace_timing.h"

namespace nucleus::native {

// The child's messages until it is ready ("R"): its root for the Landlock ruleset ("P"),
// its terminal ("T"), or a report of what failed. The record's spec is written meanwhile,
// once the child has what it waits for.
void wait_until_ready(NativeSession& s, const CreateOptions& options, PendingBeforeLandlock pending) {
  const int sync = s.sync.get();
  auto read_pending = [&] {
    if (pending.fd < 0) return;
    pending.fd = -1;
    pending.read();
  };
  bool spec_written = false;
  auto write_spec = [&] {
    if (spec_written) return;
    write_spec_file(s.dir(), s.spec);
    spec_written = true;
    timing::mark("record written");
  };
  if (!s.plan.landlock_from_parent) write_spec();
  for (;;) {
    if (pending.fd >= 0) {
      pollfd fds[2] = {{sync, POLLIN, 0}, {pending.fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw_errno("wait for the container's start-up messages");
      }
      if (fds[1].revents != 0) {
        read_pending();
        continue;
      }
    }
    ChildMessage m = receive_child_message(sync);
    switch (m.kind) {
      case ChildMessage::kRootReady: {
        int ruleset = build_landlock_ruleset(s.plan.landlock, m.fd.get());
        if (ruleset < 0) throw Error("apply Landlock rules beneath the container's root", "", -ruleset);
        UniqueFd owned(ruleset);
        read_pending();
        (void)send_landlock(sync, owned.get());  // EPIPE: the child's report follows
        timing::mark("parent: Landlock ruleset sent");
        write_spec();
        break;
      }
      case ChildMessage::kTerminal: send_to_console_socket(options.console_socket, m.fd.get()); break;
      case ChildMessage::kReport: throw describe_child_failure(s.plan, m.report);
      case ChildMessage::kReady:
        read_pending();
        write_spec();
        return;
      case ChildMessage::kProcessStarted: throw Error("read the container's start-up messages", "unexpected message");
      case ChildMessage::kEof: {
        int status = s.main().wait();
        throw Error("create the container", "its init ended before it was ready (exit code " +
                                                std::to_string(init::exit_code_from_wait_status(status)) + ")");
      }
    }
  }
}

}  // namespace nucleus::native
