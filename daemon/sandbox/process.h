#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"

// The processes nucleusd starts: `nucleus run` holding a sandbox, `nucleus exec`, host tar.
// Spawned with posix_spawn (vfork: nothing of the daemon's heap is copied), in a session of
// their own (a signal to the daemon's group never reaches a sandbox), with every fd above
// 2 closed (no connection or listening socket of the daemon outlives it in a child), their
// exit watched through a pidfd in the io_context.
namespace nucleus::daemon {

struct Spawned {
  pid_t pid = -1;
  UniqueFd pidfd;
};

// stdin/stdout/stderr: the fds the child gets (-1: /dev/null).
Spawned spawn_process(const std::vector<std::string>& argv, int in, int out, int err);

// Waits (without blocking the io_context) until the process behind pidfd has exited;
// reaps it when it is our child and returns its status as a shell does (128+N for a
// signal); nullopt for a process that is not ours.
boost::asio::awaitable<std::optional<int>> wait_exit(boost::asio::io_context& io, int pidfd, pid_t pid, bool child);

// A pipe whose two ends are close-on-exec.
std::pair<UniqueFd, UniqueFd> make_pipe();

// What a short command printed and its status.
struct Collected {
  int status = -1;
  std::string out;
  std::string err;
};
// Runs argv, feeds it `input` on stdin (or /dev/null), collects up to max_out bytes of each
// stream.
boost::asio::awaitable<Collected> run_collect(boost::asio::io_context& io, const std::vector<std::string>& argv,
                                              std::optional<std::string> input = std::nullopt,
                                              size_t max_out = 1 << 20);

}  // namespace nucleus::daemon
