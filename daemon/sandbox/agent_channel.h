#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/sys/unique_fd.h"

// The daemon's end of a sandbox's exec channel to its nucleus-agent (daemon/agent/,
// protocol.h): two pipes, frames both ways. Everything the agent sends is untrusted (code
// in the sandbox may have taken the agent over): every header is checked (type, size, an
// exec id this daemon handed out and that is still open), and the first frame that fails
// breaks the channel for good: its open execs are told (they kill their trees from outside
// and answer 125), the pipes are closed, and the sandbox's later execs go through `nucleus
// exec`. Nothing the agent sends can grow the daemon's memory past one frame.
namespace nucleus::daemon {

class AgentChannel : public std::enable_shared_from_this<AgentChannel> {
 public:
  // What one exec hears: each frame of its own (kStdout, kStderr, kExit), or the break.
  struct Listener {
    std::function<void(uint32_t type, std::string_view payload)> on_frame;
    std::function<void()> on_broken;
    std::function<size_t()> backlog;  // bytes received and not yet sent to its client
  };
  // The channel stops reading while an exec has this much unsent (a slow client): the
  // agent's pipe fills and its commands block, rather than the daemon's memory growing.
  static constexpr size_t kMaxBacklog = 8u << 20;

  // to_agent: the agent's stdin; from_agent: its stdout, of which `already_read` came with
  // the "ready" line.
  AgentChannel(boost::asio::io_context& io, UniqueFd to_agent, UniqueFd from_agent, std::string already_read);
  void start();  // the reader
  // Waits until the agent's hello (true) or a break or `limit` (false).
  boost::asio::awaitable<bool> wait_hello(std::chrono::milliseconds limit);

  bool usable() const { return hello_ && !broken_; }
  uint32_t uid() const { return uid_; }
  uint32_t gid() const { return gid_; }

  // A new exec's id, or nullopt when the agent runs as many as it may (or is not usable).
  std::optional<uint32_t> open(Listener listener);
  void send(uint32_t type, uint32_t id, std::string_view payload);
  // The exec is over for the daemon; frames still coming for it are dropped until its kExit.
  void close_exec(uint32_t id);
  // Ends the channel (the agent misbehaved or ended: logged as a warning unless `warn` is
  // false, as for a sandbox being deleted).
  void fail(const std::string& why, bool warn = true);

  // kExecStart's payload, or nullopt when it would exceed the agent's limit.
  static std::optional<std::string> start_payload(const std::vector<std::string>& argv,
                                                  const std::vector<std::string>& env, const std::string& cwd,
                                                  const std::string& marker, bool has_stdin);

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  // False once the frame broke the channel.
  bool dispatch(uint32_t type, uint32_t id, std::string_view payload);
  bool backlogged() const;

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor to_;
  boost::asio::posix::stream_descriptor from_;
  std::string buffer_;
  boost::asio::steady_timer hello_wait_;
  bool hello_ = false;
  bool broken_ = false;
  bool writing_ = false;
  uint32_t uid_ = 0, gid_ = 0, max_execs_ = 0;
  uint32_t next_id_ = 0;
  std::map<uint32_t, Listener> open_;
  std::set<uint32_t> closed_;  // ended by the daemon, kExit not seen yet
  std::deque<std::string> outbox_;
};

}  // namespace nucleus::daemon
