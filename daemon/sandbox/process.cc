#include "daemon/sandbox/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "core/sys/error.h"
#include "core/sys/spawn.h"
#include "core/sys/sys.h"

extern char** environ;

namespace nucleus::daemon {

namespace asio = boost::asio;
using asio::use_awaitable;

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("create a pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Spawned spawn_process(const std::vector<std::string>& argv, int in, int out, int err) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = sys::spawn(args[0], args.data(), {.in = in, .out = out, .err = err}, /*new_session=*/true);
  if (pid < 0) throw Error("start " + argv[0], "", static_cast<int>(-pid));
  Spawned s;
  s.pid = pid;
  s.pidfd = sys::pidfd_open(pid, "watch " + argv[0]);
  return s;
}

asio::awaitable<std::optional<int>> wait_exit(asio::io_context& io, int pidfd, pid_t pid, bool child) {
  asio::posix::stream_descriptor watch(io, ::dup(pidfd));
  for (;;) {
    boost::system::error_code ec;
    co_await watch.async_wait(asio::posix::stream_descriptor::wait_read, asio::redirect_error(use_awaitable, ec));
    // Readable means exited; a wake-up for anything else is checked, never trusted: the
    // wait below must not block the one thread.
    if (child) {
      siginfo_t info{};
      int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG);
      if (rc == 0 && info.si_pid == pid) {
        if (info.si_code == CLD_EXITED) co_return info.si_status;
        co_return 128 + info.si_status;
      }
      if (rc != 0 && errno == ECHILD) co_return -1;
    } else if (sys::raw_pidfd_send_signal(pidfd, 0) != 0 && errno == ESRCH) {
      co_return std::nullopt;
    }
    if (ec) spdlog::warn("watching pid {}: {}", pid, ec.message());
    asio::steady_timer again(io, std::chrono::milliseconds(ec ? 100 : 1));
    co_await again.async_wait(use_awaitable);
  }
}

namespace {

asio::awaitable<void> read_all(asio::io_context& io, UniqueFd fd, std::string& into, size_t max) {
  asio::posix::stream_descriptor stream(io, fd.release());
  char buf[16384];
  for (;;) {
    boost::system::error_code ec;
    size_t n = co_await stream.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    size_t keep = std::min(n, max - std::min(max, into.size()));
    into.append(buf, keep);
  }
}

asio::awaitable<void> write_all(asio::io_context& io, UniqueFd fd, std::string data) {
  asio::posix::stream_descriptor stream(io, fd.release());
  boost::system::error_code ec;
  co_await asio::async_write(stream, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
}

}  // namespace

asio::awaitable<Collected> run_collect(asio::io_context& io, const std::vector<std::string>& argv,
                                       std::optional<std::string> input, size_t max_out) {
  auto [out_r, out_w] = make_pipe();
  auto [err_r, err_w] = make_pipe();
  UniqueFd in_r, in_w;
  if (input) std::tie(in_r, in_w) = make_pipe();
  Spawned child = spawn_process(argv, input ? in_r.get() : -1, out_w.get(), err_w.get());
  out_w.reset();
  err_w.reset();
  in_r.reset();
  Collected c;
  // Three coroutines side by side: the writer and both readers; all end before the wait.
  int pending = input ? 3 : 2;
  asio::steady_timer done(io, asio::steady_timer::time_point::max());
  auto finish = [&](std::exception_ptr) {
    if (--pending == 0) done.cancel();
  };
  if (input) asio::co_spawn(io, write_all(io, std::move(in_w), std::move(*input)), finish);
  asio::co_spawn(io, read_all(io, std::move(out_r), c.out, max_out), finish);
  asio::co_spawn(io, read_all(io, std::move(err_r), c.err, max_out), finish);
  boost::system::error_code ec;
  while (pending > 0) co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
  std::optional<int> status = co_await wait_exit(io, child.pidfd.get(), child.pid, true);
  c.status = status.value_or(-1);
  co_return c;
}

}  // namespace nucleus::daemon
