#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "daemon/api/requests.h"
#include "daemon/http/server.h"
#include "daemon/sandbox/manager.h"

// POST /v1/sandboxes/{id}/exec: through the sandbox's agent when it can serve it
// (agent_exec.h), else `nucleus exec` with the request's argv, env (over the
// sandbox's), cwd and user; stdin fed from the request; stdout and stderr streamed as they
// come as chunked NDJSON, one line per read ({"stream":"stdout","data":"..."}), and a last
// line with the exit status ({"exit_code":N,"timed_out":false}). On timeout the exec's
// whole process tree is killed (kill_exec_tree) and the status is 124 (docs/api.md "Exec").
namespace nucleus::daemon {

boost::asio::awaitable<void> run_exec(SandboxManager& manager, SandboxPtr sandbox, ExecRequest request,
                                      Responder& responder);

// Every exec's environment carries NUCLEUS_EXEC=<id of the exec>: the mark of its tree.
inline constexpr const char* kExecMarker = "NUCLEUS_EXEC";

// Kills an exec's tree: the process with host pid `pid` (0: unknown), every descendant of
// it, every process of its session, every process whose environment carries `marker`
// (KEY=VALUE); natively from the host with the sandbox frozen meanwhile, so none forks
// away; in a gVisor sandbox by a shell of its own walking its /proc. Returns how many.
boost::asio::awaitable<unsigned> kill_exec_tree(SandboxManager& manager, const Sandbox& sandbox, pid_t pid,
                                                std::string marker);

// The frame of one piece of output (a JSON line); text that is not UTF-8 goes as base64.
std::string output_frame(const char* stream, std::string_view data);

// The request's timeout, if it has one, armed on `timer`: `expired` runs once it passes.
void arm_exec_timeout(boost::asio::steady_timer& timer, std::optional<double> seconds, std::function<void()> expired);

// How an exec ended, for its last line and the metrics.
struct ExecEnd {
  int code = -1;            // the command's status
  bool timed_out = false;   // then the answer says 124
  bool client_gone = false; // then nothing more is written
  bool via_agent = false;   // served by the sandbox's agent (not `nucleus exec`)
  std::chrono::steady_clock::time_point started;
};
boost::asio::awaitable<void> end_exec(SandboxManager& manager, Responder& responder, ExecEnd end);

}  // namespace nucleus::daemon
