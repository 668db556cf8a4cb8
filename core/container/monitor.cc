#include "core/container/monitor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

#include "core/sys/error.h"
#include "core/container/stdio_relay.h"
#include "core/init/signals.h"

namespace nucleus {
namespace {

constexpr int kKillGraceSeconds = 2;

UniqueFd make_timer(uint32_t seconds) {
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  if (!fd) throw_errno("create the --timeout timer");
  itimerspec spec = {};
  spec.it_value.tv_sec = seconds;
  if (::timerfd_settime(fd.get(), 0, &spec, nullptr) != 0) throw_errno("arm the --timeout timer");
  return fd;
}

}  // namespace

ForwardedSignals::ForwardedSignals() {
  sigset_t set;
  init::forwarded_signal_set(&set);
  if (::sigprocmask(SIG_BLOCK, &set, &old_) != 0) throw_errno("block forwarded signals");
  fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd_) throw_errno("create a signalfd");
}

ForwardedSignals::~ForwardedSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

MonitorResult monitor_container(OwnedChild& child, const MonitorOptions& options) {
  MonitorResult result;
  std::deque<int> waiting;  // signals the container could not take yet, in arrival order
  auto offer = [&] {
    while (!waiting.empty()) {
      if (options.forward && !options.forward(waiting.front())) return;
      if (!options.forward) child.signal(waiting.front());
      waiting.pop_front();
    }
  };
  auto send = [&](int sig) {
    waiting.push_back(sig);
    offer();
  };
  UniqueFd timer;
  if (options.timeout_seconds) timer = make_timer(*options.timeout_seconds);
  UniqueFd watch;
  if (options.watchdog) {
    watch.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    if (!watch) throw_errno("create the watchdog timer");
    itimerspec spec = {};
    spec.it_value.tv_nsec = spec.it_interval.tv_nsec = options.watchdog_interval_ms * 1000000L;
    ::timerfd_settime(watch.get(), 0, &spec, nullptr);
  }
  bool sync_open = options.sync_fd >= 0;
  bool term_sent = false;
  bool idle_pending = static_cast<bool>(options.on_idle);
  timespec started;
  ::clock_gettime(CLOCK_MONOTONIC, &started);

  for (;;) {
    enum { kPid, kSignal, kSync, kTimer, kNotify, kWatch, kCount };
    std::vector<pollfd> fds = {
        {child.pidfd(), POLLIN, 0},
        {options.signal_fd, POLLIN, 0},
        {sync_open ? options.sync_fd : -1, POLLIN, 0},
        {timer.get(), POLLIN, 0},
        {options.notify ? options.notify->fd() : -1, POLLIN, 0},
        {result.watchdog_fired ? -1 : watch.get(), POLLIN, 0},
    };
    if (options.relay) options.relay->poll_fds(fds);
    int wait_ms = -1;
    bool idle_due = false;
    if (idle_pending && !sync_open) {  // idle: the workload runs, and has for a while
      timespec now;
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      long elapsed = (now.tv_sec - started.tv_sec) * 1000 + (now.tv_nsec - started.tv_nsec) / 1000000;
      idle_due = elapsed >= options.idle_after_ms;
      wait_ms = idle_due ? 0 : static_cast<int>(options.idle_after_ms - elapsed);
    }
    if (!waiting.empty() && (wait_ms < 0 || wait_ms > options.retry_interval_ms)) wait_ms = options.retry_interval_ms;
    int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw_errno("wait for the container");
    }
    if (ready == 0) {
      if (!waiting.empty()) offer();
      if (idle_due) {
        idle_pending = false;
        options.on_idle();
      }
      continue;
    }
    if (options.relay) options.relay->pump(fds.data() + kCount, fds.size() - kCount);
    if (fds[kSync].revents != 0 && !(options.take_message && options.take_message())) {
      if (auto report = receive_child_report(options.sync_fd)) result.report = report;
      sync_open = false;  // a report is the last word; EOF means the exec happened
    }
    if (fds[kSignal].revents & POLLIN) {
      signalfd_siginfo info;
      if (::read(options.signal_fd, &info, sizeof info) == sizeof info) {
        send(static_cast<int>(info.ssi_signo));
      }
    }
    if (fds[kTimer].revents & POLLIN) {
      uint64_t expirations;
      (void)!::read(timer.get(), &expirations, sizeof expirations);
      result.timed_out = true;
      if (!term_sent) {
        send(SIGTERM);
        term_sent = true;
        itimerspec spec = {};
        spec.it_value.tv_sec = kKillGraceSeconds;
        ::timerfd_settime(timer.get(), 0, &spec, nullptr);
      } else if (options.kill) {
        options.kill();
      } else {
        send(SIGKILL);
      }
    }
    if ((fds[kNotify].revents & POLLIN) && options.notify) options.notify->relay_one(child.pid());
    if (fds[kWatch].revents & POLLIN) {
      uint64_t ticks;
      (void)!::read(watch.get(), &ticks, sizeof ticks);
      if (options.watchdog()) {
        result.watchdog_fired = true;
        if (options.kill) {
          options.kill();
        } else {
          send(SIGKILL);
        }
      }
    }
    if (fds[kPid].revents != 0) {
      result.wait_status = child.wait();
      break;
    }
  }
  if (options.relay) options.relay->finish();
  // PID 1 is gone, so every writer of the sync socket is too: a pending report is there now.
  if (sync_open && options.sync_fd >= 0 && !result.report) result.report = receive_child_report(options.sync_fd);
  return result;
}

}  // namespace nucleus
