#include "daemon/sandbox/agent_exec.h"

#include <boost/asio.hpp>
#include <cstring>
#include <deque>

#include "daemon/agent/protocol.h"
#include "daemon/sandbox/exec.h"

namespace nucleus::daemon {

namespace asio = boost::asio;
using asio::use_awaitable;
namespace proto = nucleus::agent;

namespace {

// How long the agent has to answer a kill before the daemon stops trusting it.
constexpr auto kKillAnswerDeadline = std::chrono::seconds(10);

// The request's user is the agent's own ("UID" or "UID:GID"), or none.
bool same_user(const std::string& user, const AgentChannel& agent) {
  if (user.empty()) return true;
  const size_t colon = user.find(':');
  const std::string uid = user.substr(0, colon);
  if (uid != std::to_string(agent.uid())) return false;
  return colon == std::string::npos || user.substr(colon + 1) == std::to_string(agent.gid());
}

struct AgentExecState {
  explicit AgentExecState(asio::io_context& io) : wake(io, asio::steady_timer::time_point::max()) {}
  asio::steady_timer wake;
  std::deque<std::string> frames;
  size_t queued = 0;  // bytes in frames
  std::optional<int> status;
  bool broken = false;
  bool timed_out = false;
  bool hung_up = false;  // the client closed its end
  void notify() { wake.cancel(); }
};

AgentChannel::Listener listener_for(std::shared_ptr<AgentExecState> st) {
  return AgentChannel::Listener{
      [st](uint32_t type, std::string_view payload) {
        if (type == proto::kExit) {
          int32_t code;
          std::memcpy(&code, payload.data(), sizeof code);
          st->status = code;
        } else {
          st->frames.push_back(output_frame(type == proto::kStdout ? "stdout" : "stderr", payload));
          st->queued += st->frames.back().size();
        }
        st->notify();
      },
      [st] {
        st->broken = true;
        st->notify();
      },
      [st] { return st->queued; }};
}

void send_stdin(AgentChannel& agent, uint32_t id, std::string_view data) {
  for (size_t off = 0; off < data.size(); off += proto::kMaxAgentPayload)
    agent.send(proto::kStdinData, id, data.substr(off, proto::kMaxAgentPayload));
  agent.send(proto::kStdinEnd, id, {});
}

}  // namespace

asio::awaitable<bool> run_agent_exec(SandboxManager& manager, SandboxPtr sandbox, const ExecRequest& request,
                                     const std::map<std::string, std::string>& env, Responder& responder,
                                     std::chrono::steady_clock::time_point started) {
  std::shared_ptr<AgentChannel> agent = sandbox->agent;
  if (!agent || !agent->usable() || !same_user(request.user, *agent)) co_return false;
  std::vector<std::string> pairs;
  for (const auto& [k, v] : env)
    if (k != kExecMarker) pairs.push_back(k + "=" + v);
  const std::string marker = std::string(kExecMarker) + "=" + env.at(kExecMarker);
  std::optional<std::string> payload =
      AgentChannel::start_payload(request.argv, pairs, request.cwd, marker, request.stdin_data.has_value());
  if (!payload) co_return false;
  asio::io_context& io = manager.io();
  auto st = std::make_shared<AgentExecState>(io);
  std::optional<uint32_t> id = agent->open(listener_for(st));
  if (!id) co_return false;

  struct Done {
    Sandbox& s;
    AgentChannel& agent;
    uint32_t id;
    ~Done() {
      --s.active_execs;
      s.last_active = now_seconds();
      agent.close_exec(id);
    }
  } done{*sandbox, *agent, *id};
  ++sandbox->active_execs;
  ++manager.metrics().counter("nucleus_execs_total");
  ++manager.metrics().counter("nucleus_agent_execs_total");
  agent->send(proto::kExecStart, *id, *payload);
  if (request.stdin_data) send_stdin(*agent, *id, *request.stdin_data);
  co_await responder.begin_stream(200, "application/x-ndjson");
  // A client gone while the command is silent: killed now, not at its next output.
  responder.watch_hangup([st] {
    st->hung_up = true;
    st->notify();
  });

  asio::steady_timer timeout(io, asio::steady_timer::time_point::max());
  arm_exec_timeout(timeout, request.timeout, [st] {
    st->timed_out = true;
    st->notify();
  });
  bool client_gone = false;
  std::optional<std::chrono::steady_clock::time_point> kill_sent;
  for (;;) {
    while (!st->frames.empty()) {
      std::string frame = std::move(st->frames.front());
      st->frames.pop_front();
      st->queued -= frame.size();
      if (!client_gone && !co_await responder.write_chunk(std::move(frame))) client_gone = true;
    }
    if (st->status || st->broken) break;
    client_gone = client_gone || st->hung_up;
    if ((st->timed_out || client_gone) && !kill_sent) {
      kill_sent = std::chrono::steady_clock::now();
      agent->send(proto::kKill, *id, {});
    }
    if (kill_sent && std::chrono::steady_clock::now() - *kill_sent > kKillAnswerDeadline) {
      agent->fail("no answer to a kill");
      continue;
    }
    st->wake.expires_after(kill_sent ? std::chrono::milliseconds(100) : std::chrono::hours(24 * 365));
    boost::system::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  timeout.cancel();
  responder.stop_watching();
  int code = st->status.value_or(125);
  if (!st->status) {
    // The agent broke the channel: what it started may still run, and it cannot be
    // trusted to end it. The tree is killed as a `nucleus exec`'s is.
    // (A sandbox being deleted closed the channel itself, and goes whole.)
    if (!sandbox->ending) {
      ++manager.metrics().counter("nucleus_agent_channel_failures_total");
      co_await kill_exec_tree(manager, *sandbox, 0, marker);
    }
    if (!client_gone)
      client_gone = !co_await responder.write_chunk(output_frame("stderr", "nucleusd: the sandbox's exec channel failed\n"));
  }
  co_await end_exec(manager, responder, ExecEnd{code, st->timed_out, client_gone, true, started});
  co_return true;
}

}  // namespace nucleus::daemon
