#include "daemon/sandbox/agent_channel.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

#include "daemon/agent/protocol.h"

namespace nucleus::daemon {

namespace asio = boost::asio;
using asio::use_awaitable;
namespace proto = nucleus::agent;

AgentChannel::AgentChannel(asio::io_context& io, UniqueFd to_agent, UniqueFd from_agent, std::string already_read)
    : io_(io),
      to_(io, to_agent.release()),
      from_(io, from_agent.release()),
      buffer_(std::move(already_read)),
      hello_wait_(io, asio::steady_timer::time_point::max()) {}

void AgentChannel::start() { asio::co_spawn(io_, read_loop(), asio::detached); }

asio::awaitable<bool> AgentChannel::wait_hello(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!hello_ && !broken_ && std::chrono::steady_clock::now() < deadline) {
    hello_wait_.expires_at(deadline);
    boost::system::error_code ec;
    co_await hello_wait_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  co_return usable();
}

std::optional<uint32_t> AgentChannel::open(Listener listener) {
  if (!usable() || open_.size() + closed_.size() >= max_execs_) return std::nullopt;
  uint32_t id = ++next_id_;
  if (id == 0) id = ++next_id_;
  open_[id] = std::move(listener);
  return id;
}

void AgentChannel::send(uint32_t type, uint32_t id, std::string_view payload) {
  if (broken_) return;
  proto::FrameHeader h{type, id, static_cast<uint32_t>(payload.size())};
  std::string frame(reinterpret_cast<const char*>(&h), sizeof h);
  frame.append(payload);
  outbox_.push_back(std::move(frame));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(io_, write_loop(), asio::detached);
  }
}

void AgentChannel::close_exec(uint32_t id) {
  if (open_.erase(id) > 0 && !broken_) closed_.insert(id);
}

void AgentChannel::fail(const std::string& why, bool warn) {
  if (broken_) return;
  broken_ = true;
  if (warn) spdlog::warn("exec channel to a sandbox's agent closed: {}", why);
  boost::system::error_code ec;
  to_.close(ec);
  from_.close(ec);
  hello_wait_.cancel();
  outbox_.clear();
  std::map<uint32_t, Listener> open = std::move(open_);
  open_.clear();
  closed_.clear();
  for (auto& [id, l] : open) l.on_broken();
}

asio::awaitable<void> AgentChannel::write_loop() {
  auto self = shared_from_this();
  while (!outbox_.empty() && !broken_) {
    std::string frame = std::move(outbox_.front());
    outbox_.pop_front();
    boost::system::error_code ec;
    co_await asio::async_write(to_, asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
    if (ec) fail("write: " + ec.message());
  }
  writing_ = false;
}

bool AgentChannel::dispatch(uint32_t type, uint32_t id, std::string_view payload) {
  if (type == proto::kHello) {
    proto::Hello hello;
    std::memcpy(&hello, payload.data(), sizeof hello);
    if (hello_ || hello.version != proto::kProtocolVersion) {
      fail("a second hello, or another protocol version");
      return false;
    }
    hello_ = true;
    uid_ = hello.uid;
    gid_ = hello.gid;
    max_execs_ = std::min(hello.max_execs, proto::kMaxAgentExecs);
    hello_wait_.cancel();
    return true;
  }
  if (auto it = open_.find(id); it != open_.end()) {
    Listener& l = it->second;
    if (type == proto::kExit) {
      Listener ended = std::move(l);
      open_.erase(it);
      ended.on_frame(type, payload);
    } else {
      l.on_frame(type, payload);
    }
    return true;
  }
  if (closed_.count(id)) {
    if (type == proto::kExit) closed_.erase(id);
    return true;
  }
  fail("a frame for exec " + std::to_string(id) + ", which is not open");
  return false;
}

bool AgentChannel::backlogged() const {
  for (const auto& [id, l] : open_)
    if (l.backlog && l.backlog() > kMaxBacklog) return true;
  return false;
}

asio::awaitable<void> AgentChannel::read_loop() {
  auto self = shared_from_this();
  char chunk[65536];
  for (;;) {
    while (buffer_.size() >= sizeof(proto::FrameHeader)) {
      proto::FrameHeader h;
      std::memcpy(&h, buffer_.data(), sizeof h);
      if (!proto::valid_agent_frame(h)) {
        fail("a malformed frame (type " + std::to_string(h.type) + ", " + std::to_string(h.length) + " bytes)");
        co_return;
      }
      if (buffer_.size() < sizeof h + h.length) break;
      if (!dispatch(h.type, h.exec_id, std::string_view(buffer_).substr(sizeof h, h.length))) co_return;
      buffer_.erase(0, sizeof h + h.length);
    }
    if (broken_) co_return;
    while (backlogged() && !broken_) {
      asio::steady_timer later(io_, std::chrono::milliseconds(10));
      co_await later.async_wait(use_awaitable);
    }
    if (broken_) co_return;
    boost::system::error_code ec;
    size_t n = co_await from_.async_read_some(asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      fail(ec == asio::error::eof ? "the agent ended" : "read: " + ec.message());
      co_return;
    }
    buffer_.append(chunk, n);
  }
}

std::optional<std::string> AgentChannel::start_payload(const std::vector<std::string>& argv,
                                                       const std::vector<std::string>& env, const std::string& cwd,
                                                       const std::string& marker, bool has_stdin) {
  proto::ExecStartFixed fixed{static_cast<uint32_t>(argv.size()), static_cast<uint32_t>(env.size()), has_stdin ? 1u : 0u};
  std::string p(reinterpret_cast<const char*>(&fixed), sizeof fixed);
  auto add = [&p](const std::string& s) {
    p.append(s);
    p.push_back('\0');
  };
  add(cwd);
  add(marker);
  for (const std::string& a : argv) add(a);
  for (const std::string& e : env) add(e);
  // Strings with a NUL inside would shift every field after them: refused here.
  size_t strings = 2 + argv.size() + env.size();
  if (static_cast<size_t>(std::count(p.begin() + sizeof fixed, p.end(), '\0')) != strings) return std::nullopt;
  if (p.size() > proto::kMaxRequestPayload || argv.empty()) return std::nullopt;
  return p;
}

}  // namespace nucleus::daemon
