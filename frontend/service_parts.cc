#include "frontend/service_parts.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/container/container_record.h"
#include "core/container/notify_socket.h"
#include "core/service/events.h"
#include "core/sys/error.h"
#include "core/sys/spawn.h"
#include "core/sys/sys.h"

extern char** environ;

namespace nucleus::frontend {
namespace {

using Clock = std::chrono::steady_clock;

// The monitor's threads take no signal: the main thread reads them (signalfd).
void block_all_signals_in_this_thread() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

UniqueFd make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) throw_errno("create an eventfd");
  return fd;
}

void signal_eventfd(int fd) {
  uint64_t one = 1;
  (void)!::write(fd, &one, sizeof one);
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("create the log pipes");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)), state_(service::read_state(dir_)) {}

void StateStore::update(const std::function<void(service::ServiceState&)>& change) {
  std::lock_guard<std::mutex> hold(mutex_);
  change(state_);
  service::write_state(dir_, state_);
}

service::ServiceState StateStore::get() {
  std::lock_guard<std::mutex> hold(mutex_);
  return state_;
}

namespace {

// What a child wrote to the pipe so far, up to `limit` bytes kept.
void read_some(int fd, std::string& into, size_t limit) {
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    size_t keep = std::min(static_cast<size_t>(n), limit - std::min(limit, into.size()));
    into.append(buf, keep);
  }
}

}  // namespace

int run_self(const std::vector<std::string>& args, std::chrono::milliseconds timeout, int cancel_fd, std::string* output,
             size_t output_limit) {
  std::vector<char*> argv;
  std::string self = "nucleus";
  argv.push_back(self.data());
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  UniqueFd out_read, out_write;
  if (output != nullptr) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    out_read.reset(fds[0]);
    out_write.reset(fds[1]);
  }
  pid_t pid = sys::spawn("/proc/self/exe", argv.data(), {.out = out_write.get(), .err = out_write.get()},
                         /*new_session=*/false);
  out_write.reset();
  if (pid < 0) return -1;
  UniqueFd pidfd(sys::raw_pidfd_open(pid));
  auto deadline = Clock::now() + timeout;
  bool killed = false;
  while (pidfd && !killed) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd fds[3] = {{pidfd.get(), POLLIN, 0}, {cancel_fd, POLLIN, 0}, {out_read ? out_read.get() : -1, POLLIN, 0}};
    int ready = ::poll(fds, 3, static_cast<int>(std::max<long>(left, 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready > 0 && fds[2].revents != 0) {
      read_some(out_read.get(), *output, output_limit);
      // At EOF (every writer gone) the pipe stays readable: read no more of it.
      if ((fds[2].revents & POLLHUP) && !(fds[2].revents & POLLIN)) out_read.reset();
      if (fds[0].revents == 0 && fds[1].revents == 0) continue;
    }
    if (ready > 0 && fds[0].revents != 0) break;
    ::kill(pid, SIGKILL);
    killed = true;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // What it wrote last (a process it left holding the pipe cannot make this wait).
  if (out_read) read_some(out_read.get(), *output, output_limit);
  if (killed) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The caller's NOTIFY_SOCKET as the monitor found it (a run's is the monitor's own).
const char* caller_notify_socket() {
  static const char* value = ::getenv("NOTIFY_SOCKET");
  return value;
}

void notify_ready(const std::string& extra) {
  const char* value = caller_notify_socket();
  if (value == nullptr) return;
  NotifyAddress target = validate_notify_socket(value);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  socklen_t len;
  if (target.abstract) {
    std::memcpy(addr.sun_path + 1, target.path.data(), target.path.size());
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + target.path.size());
  } else {
    std::memcpy(addr.sun_path, target.path.data(), target.path.size());
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + target.path.size() + 1);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  std::string message = "READY=1\nMAINPID=" + std::to_string(::getpid()) + "\n" + extra;
  if (!fd || ::sendto(fd.get(), message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
    throw_errno("tell NOTIFY_SOCKET the service is ready", value);
  }
}

ReadinessSocket::ReadinessSocket(const std::string& id) {
  (void)caller_notify_socket();  // remembered before a run's is set
  std::string name = "nucleus-ready-" + id + "-" + std::to_string(::getpid());
  address_ = "@" + name;
  fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr.sun_path) throw Error("--sdnotify", "the service's name is too long for a socket");
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (!fd_ || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) throw_errno("--sdnotify", "bind " + address_);
}

bool ReadinessSocket::ready(std::string* rest) {
  char buf[4096];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
  if (n <= 0) return false;
  std::string text(buf, static_cast<size_t>(n));
  bool ready = false;
  rest->clear();
  size_t start = 0;
  for (size_t nl; start < text.size(); start = nl + 1) {
    nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    if (line == "READY=1") {
      ready = true;
    } else if (!line.empty() && line.rfind("MAINPID=", 0) != 0) {
      *rest += line + "\n";
    }
  }
  return ready;
}

LogPump::LogPump(const std::string& path, service::LogLimits limits) : writer_(path, limits), stop_(make_eventfd()) {
  std::tie(out_read_, out_write_) = make_pipe();
  std::tie(err_read_, err_write_) = make_pipe();
}

LogPump::~LogPump() { stop(); }

void LogPump::start() {
  out_write_.reset();
  err_write_.reset();
  thread_ = std::thread([this] { pump(); });
}

void LogPump::stop() {
  if (!thread_.joinable()) return;
  signal_eventfd(stop_.get());
  thread_.join();
}

void LogPump::pump() {
  block_all_signals_in_this_thread();
  char buf[65536];
  bool open[2] = {true, true};
  bool stopping = false;
  while (open[0] || open[1]) {
    pollfd fds[3] = {{open[0] ? out_read_.get() : -1, POLLIN, 0},
                     {open[1] ? err_read_.get() : -1, POLLIN, 0},
                     {stopping ? -1 : stop_.get(), POLLIN, 0}};
    int ready = ::poll(fds, 3, stopping ? 0 : -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;  // stopping and drained
    if (fds[2].revents != 0) stopping = true;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        open[i] = false;
        continue;
      }
      writer_.append(i == 0 ? "stdout" : "stderr", std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  writer_.flush();
}

HealthChecker::HealthChecker(std::string root, std::string id, HealthSpec spec, StateStore& store,
                             std::function<void(service::HealthStatus)> on_change)
    : root_(std::move(root)), id_(std::move(id)), spec_(std::move(spec)), store_(store),
      on_change_(std::move(on_change)), stop_(make_eventfd()) {
  thread_ = std::thread([this] { loop(); });
}

HealthChecker::~HealthChecker() {
  signal_eventfd(stop_.get());
  thread_.join();
}

void HealthChecker::loop() {
  block_all_signals_in_this_thread();
  auto started = Clock::now();
  service::HealthState state(spec_.retries);
  std::vector<std::string> args = {"--root", root_, "exec", id_};
  args.insert(args.end(), spec_.command.begin(), spec_.command.end());
  for (;;) {
    pollfd p = {stop_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(spec_.interval_ms)) != 0) return;
    service::HealthResult result;
    result.start = rfc3339_now();
    int code = run_self(args, std::chrono::milliseconds(spec_.timeout_ms), stop_.get(), &result.output,
                        service::kHealthOutputBytes);
    if (code == -1 && ::poll(&p, 1, 0) != 0) return;  // cancelled: the container is ending
    result.end = rfc3339_now();
    result.exit_code = code;
    if (code == -1) result.output = "the check ran past its timeout (" + std::to_string(spec_.timeout_ms) + " ms): killed";
    bool in_start_period = Clock::now() - started < std::chrono::milliseconds(spec_.start_period_ms);
    bool changed = state.record(code == 0, in_start_period);
    store_.update([&](service::ServiceState& s) {
      s.health = service::to_string(state.status());
      s.failing_streak = state.failing_streak();
      service::keep_health_result(s.health_log, std::move(result));
    });
    if (!changed) continue;
    service::record_event(root_, id_, "health_status", {{"status", service::to_string(state.status())}});
    try {
      on_change_(state.status());
    } catch (const std::exception&) {
      // A readiness message that could not be sent: the state says it all.
    }
  }
}

}  // namespace nucleus::frontend
