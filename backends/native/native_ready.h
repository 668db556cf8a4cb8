#pragma once

#include <functional>

#include "backends/backend.h"
#include "backends/native/native_session.h"

// The parent's side of a native container's start-up messages, from its root to "ready"
// (child/handshake.h): what native_create.cc waits for once the child is on its way.
namespace nucleus::native {

// Something the parent still waits for before the workload may run (netd's report), read
// as soon as it comes, and at the latest before the Landlock ruleset, which the workload
// waits for before it may exec.
struct PendingBeforeLandlock {
  int fd = -1;  // readable once it has come
  std::function<void()> read;
};

// The child's messages until it is ready ("R"): its root for the Landlock ruleset ("P"),
// its terminal ("T"), or a report of what failed. The record's spec is written meanwhile,
// once the child has what it waits for.
void wait_until_ready(NativeSession& s, const CreateOptions& options, PendingBeforeLandlock pending);

}  // namespace nucleus::native
