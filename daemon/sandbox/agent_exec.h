#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <string>

#include "daemon/api/requests.h"
#include "daemon/http/server.h"
#include "daemon/sandbox/manager.h"

// An exec served by the sandbox's nucleus-agent (daemon/agent/): no process on the host.
// The request goes as one kExecStart frame (argv, env with the exec's NUCLEUS_EXEC mark,
// cwd), stdin as kStdinData frames; the agent's kStdout/kStderr frames become the answer's
// NDJSON lines as they come, its kExit the last line; a timeout or a client gone sends
// kKill (the agent kills the tree inside and answers kExit). If the channel breaks, the
// exec's tree is killed from outside (kill_exec_tree) and the answer is 125 (124 after a
// timeout).
namespace nucleus::daemon {

// False (nothing answered yet) when the agent cannot serve this request: no usable agent,
// another user than the agent's (it cannot change identity), a request over the agent's
// limits, or as many execs running as it takes. `env` is the whole overlay, mark included.
boost::asio::awaitable<bool> run_agent_exec(SandboxManager& manager, SandboxPtr sandbox, const ExecRequest& request,
                                            const std::map<std::string, std::string>& env, Responder& responder,
                                            std::chrono::steady_clock::time_point started);

}  // namespace nucleus::daemon
