// The service's monitor: one process per detached container (frontend/service_monitor.h).
#include "frontend/service_monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "backends/backend.h"
#include "core/cgroup/process_cgroup.h"
#include "core/init/signals.h"
#include "core/service/events.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/service_parts.h"

namespace nucleus::frontend {
namespace {

// When a run counts as idle (the monitor then gives back its start-up pages).
constexpr int kIdleAfterMs = 1000;

using Clock = std::chrono::steady_clock;

// Nothing of the caller's stays open: its terminal and pipes (a caller waiting for EOF on
// our stdout would wait for the service's whole life), its other descriptors.
void close_inherited_fds(std::initializer_list<int> keep) {
  std::vector<int> fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9') fds.push_back(std::atoi(e->d_name));
    }
    ::closedir(d);
  }
  for (int fd : fds) {
    if (fd > 2 && std::find(keep.begin(), keep.end(), fd) == keep.end()) ::close(fd);
  }
}

void redirect(int fd, int to) {
  if (::dup2(to, fd) < 0) throw_errno("redirect the monitor's stdio");
}

// The secrets on a tmpfs of the monitor's own mount namespace (a slave of the host's, so
// mounts made later on the host still reach it), over the service's empty `secrets`
// directory: 0400 files of the workload's user, never on disk, gone with the monitor.
void place_secrets(MonitorContext& c) {
  if (c.secrets.empty()) return;
  if (::unshare(CLONE_NEWNS) != 0) throw_errno("place the secrets", "a mount namespace for the monitor");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) throw_errno("place the secrets", "make / a slave");
  uint32_t uid = host_id(c.spec.uid_mappings, c.spec.process.uid).value_or(c.spec.uid_mappings.empty() ? c.spec.process.uid : 0);
  uint32_t gid = host_id(c.spec.gid_mappings, c.spec.process.gid).value_or(c.spec.gid_mappings.empty() ? c.spec.process.gid : 0);
  std::string dir = c.dir + "/secrets";
  std::string options = "mode=0500,size=4m,uid=" + std::to_string(uid) + ",gid=" + std::to_string(gid);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) != 0) {
    throw_errno("place the secrets", "a tmpfs at " + dir);
  }
  for (SecretContent& s : c.secrets) {
    std::string path = dir + "/" + s.name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
    if (!fd || sys::write_all(fd.get(), s.bytes.data(), s.bytes.size()) != 0 || ::fchown(fd.get(), uid, gid) != 0) {
      throw_errno("place the secret", s.name);
    }
    std::fill(s.bytes.begin(), s.bytes.end(), '\0');
  }
  c.secrets.clear();
}

// Waits out the back-off; false when a stop came meanwhile (SIGTERM or SIGINT, or `stop`).
bool wait_unless_stopped(std::chrono::milliseconds delay, const std::string& dir) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  pollfd p = {fd.get(), POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(delay.count()));
  if (ready > 0) {
    signalfd_siginfo info;
    (void)!::read(fd.get(), &info, sizeof info);
    return false;
  }
  return ::access((dir + "/stop").c_str(), F_OK) != 0;
}

// One run of the container is a child of the monitor that does what a foreground `run`
// does (create, start, the session's wait, remove) and then exits, so its cleanup keeper
// finishes behind it as behind `run`: nothing of a run outlives it, however many runs a
// crash loop makes. It tells the monitor on a pipe: "S <pid>" once started, "E <code>
// <oom>" once ended, or "F <code> <message>" when it could not start.
[[noreturn]] void run_container(MonitorContext& c, int tell) {
  auto say = [tell](const std::string& line) {
    std::string text = line + "\n";
    (void)sys::write_all(tell, text.data(), text.size());
  };
  int code = 0;
  try {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a monitor killed takes its run along
    std::unique_ptr<Backend> backend = backend_for(c.spec.backend);
    std::unique_ptr<ContainerSession> session;
    try {
      // Back where the caller put the monitor: the container's cgroup is made beside the
      // monitor's, not below it (a cgroup2 parent holding processes could not give it
      // controllers), and the run's keeper is not left in the monitor's.
      if (int err = leave_own_cgroup(c.cgroup, /*single_threaded=*/true); err != 0) {
        throw Error("cgroups: leave the monitor's cgroup", "", err);
      }
      session = backend->create(c.spec, CreateOptions{.id = c.id, .root = c.root, .foreground = true});
      backend->start(session->record(), session.get());
    } catch (const Error& e) {
      session.reset();
      say("F " + std::to_string(e.exit_code()) + " " + e.what());
      ::_exit(e.exit_code());
    }
    say("S " + std::to_string(session->record().record().pid));
    try {
      code = backend->wait(*session);
    } catch (const Error& e) {
      spdlog::error("{}", e.what());
      code = e.exit_code();
    }
    bool oom = session->record().record().oom_killed;
    backend->remove(session->record(), /*force=*/true, session.get());
    session.reset();
    say("E " + std::to_string(code) + (oom ? " oom" : ""));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    code = 125;
  }
  std::fflush(nullptr);
  ::_exit(code);
}

class Monitor {
 public:
  explicit Monitor(MonitorContext& c) : c_(c), store_(c.dir) {
    if (c.service.sdnotify == SdNotifyMode::kContainer) readiness_.emplace(c.id);
  }

  void run();

 private:
  // One run of the container; returns its exit code.
  int run_once(bool& oom);
  void answer(const std::string& line);
  void on_health(service::HealthStatus status);
  void on_started(pid_t pid);
  void on_ready(const std::string& said);

  MonitorContext& c_;
  StateStore store_;
  std::optional<ReadinessSocket> readiness_;
  std::mutex answer_mutex_;
  std::atomic<bool> answered_{false};
  std::atomic<bool> restart_asked_{false};
};

void Monitor::answer(const std::string& line) {
  std::lock_guard<std::mutex> hold(answer_mutex_);
  if (answered_) return;
  answered_ = true;
  std::string text = line + "\n";
  (void)sys::write_all(c_.report.get(), text.data(), text.size());
  c_.report.reset();
}

void Monitor::on_health(service::HealthStatus status) {
  if (status == service::HealthStatus::kHealthy && c_.service.sdnotify == SdNotifyMode::kHealthy) {
    notify_ready();
    answer("OK");
  }
  if (status != service::HealthStatus::kUnhealthy || !c_.service.health) return;
  HealthOnFailure action = c_.service.health->on_failure;
  if (action == HealthOnFailure::kNone) return;
  if (action == HealthOnFailure::kRestart) restart_asked_ = true;
  spdlog::warn("unhealthy: the container is killed ({})", to_string(action));
  run_self({"--root", c_.root, "kill", "--all", c_.id, "KILL"}, std::chrono::seconds(30));
}

void Monitor::on_started(pid_t pid) {
  store_.update([&](service::ServiceState& s) {
    s.status = "running";
    s.pid = pid;
    s.started_at = rfc3339_now();
    s.exit_code.reset();
    s.reason.clear();
    if (c_.service.health) s.health = "starting";
  });
  service::record_event(c_.root, c_.id, "start");
  if (c_.service.sdnotify == SdNotifyMode::kIgnore) answer("OK");
}

// --sdnotify container: the workload said READY=1.
void Monitor::on_ready(const std::string& said) {
  try {
    notify_ready(said);
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
  }
  answer("OK");
}

int Monitor::run_once(bool& oom) {
  service::record_event(c_.root, c_.id, "create");
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("create the run's pipe");
  UniqueFd hear(ends[0]), tell(ends[1]);
  sigset_t forwarded;
  init::forwarded_signal_set(&forwarded);
  UniqueFd signals(::signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) throw_errno("create a signalfd");
  pid_t child = ::fork();
  if (child < 0) throw_errno("fork the container's run");
  if (child == 0) {
    hear.reset();
    signals.reset();
    c_.report.reset();
    // The run's notify relay talks to the monitor, which tells the caller's socket.
    if (readiness_) ::setenv("NOTIFY_SOCKET", readiness_->address().c_str(), 1);
    run_container(c_, tell.get());
  }
  tell.reset();
  std::optional<HealthChecker> checker;
  std::string heard, failure;
  int code = 125;
  bool started = false;
  bool slimmed = false;
  for (bool open = true; open;) {
    pollfd fds[3] = {{hear.get(), POLLIN, 0}, {signals.get(), POLLIN, 0}, {readiness_ ? readiness_->fd() : -1, POLLIN, 0}};
    int ready = ::poll(fds, 3, slimmed ? -1 : kIdleAfterMs);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw_errno("wait for the container's run");
    }
    if (ready == 0) {
      // Idle a second into the run: give back what start-up needed, as a foreground run's
      // session does (core/container/monitor.h): the monitor lives as long as the service.
      sys::give_back_startup_memory();
      slimmed = true;
      continue;
    }
    std::string said;
    if ((fds[2].revents & POLLIN) && readiness_->ready(&said)) on_ready(said);
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      // The run's session forwards it to the container.
      while (::read(signals.get(), &info, sizeof info) == sizeof info) ::kill(child, static_cast<int>(info.ssi_signo));
    }
    if (fds[0].revents == 0) continue;
    char buf[4096];
    ssize_t n = ::read(hear.get(), buf, sizeof buf);
    if (n <= 0) {
      open = false;
    } else {
      heard.append(buf, static_cast<size_t>(n));
    }
    for (size_t nl; (nl = heard.find('\n')) != std::string::npos; heard.erase(0, nl + 1)) {
      std::string line = heard.substr(0, nl);
      if (line.rfind("S ", 0) == 0) {
        started = true;
        on_started(std::atoi(line.c_str() + 2));
        if (c_.service.health) {
          checker.emplace(c_.root, c_.id, *c_.service.health, store_, [this](service::HealthStatus st) { on_health(st); });
        }
      } else if (line.rfind("E ", 0) == 0) {
        code = std::atoi(line.c_str() + 2);
        oom = line.find(" oom") != std::string::npos;
        checker.reset();
      } else if (line.rfind("F ", 0) == 0) {
        code = std::atoi(line.c_str() + 2);
        size_t space = line.find(' ', 2);
        failure = space == std::string::npos ? "" : line.substr(space + 1);
      }
    }
  }
  checker.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!started) {
    if (failure.empty()) failure = "the container's run ended before it started";
    if (!answered_) throw Error(failure, "", 0, code);
    spdlog::error("{}", failure);
  }
  return code;
}

void Monitor::run() {
  store_.update([&](service::ServiceState& s) {
    s.status = "starting";
    s.monitor_pid = ::getpid();
    s.monitor_cgroup = c_.cgroup;
  });
  uint32_t quick_exits = 0;
  for (;;) {
    auto started = Clock::now();
    bool oom = false;
    int code = run_once(oom);
    bool stopped = ::access((c_.dir + "/stop").c_str(), F_OK) == 0;
    std::string reason = stopped ? "stopped" : service::describe_exit(code, oom);
    store_.update([&](service::ServiceState& s) {
      s.exit_code = code;
      s.reason = reason;
      s.pid = 0;
      s.finished_at = rfc3339_now();
    });
    service::record_event(c_.root, c_.id, "die", service::die_attributes(code, oom, reason));
    if (!answered_) throw Error(c_.id, "the container ended before it was ready (" + reason + ")");
    bool forced = restart_asked_.exchange(false) && !stopped;
    if (!forced && !service::should_restart(c_.service.restart, code, store_.get().restart_count, stopped)) break;
    quick_exits = Clock::now() - started >= service::kResetAfter ? 0 : quick_exits + 1;
    store_.update([](service::ServiceState& s) { s.status = "restarting"; });
    if (!wait_unless_stopped(service::restart_delay(quick_exits > 0 ? quick_exits - 1 : 0), c_.dir)) break;
    store_.update([](service::ServiceState& s) { ++s.restart_count; });
    service::record_event(c_.root, c_.id, "restart", {{"restart_count", std::to_string(store_.get().restart_count)}});
  }
  store_.update([](service::ServiceState& s) {
    s.status = "exited";
    if (s.health != "none") s.health = "unhealthy";
  });
}

// The monitor's own cgroup, as podman's conmon has (process_cgroup.h): made and entered
// while the monitor is still single-threaded, left and removed at its end. Where nucleus
// cannot make cgroups (a non-root caller without delegation) it stays in the caller's.
class MonitorCgroup {
 public:
  explicit MonitorCgroup(std::vector<std::string>& dirs) : dirs_(dirs) {
    try {
      dirs_ = enter_own_cgroup(read_cgroup_hierarchies(), monitor_cgroup_name(::getpid()));
    } catch (const Error&) {
      if (::geteuid() == 0) throw;
    }
  }
  ~MonitorCgroup() {
    if (dirs_.empty()) return;
    (void)leave_own_cgroup(dirs_, /*single_threaded=*/false);
    // What it started (a health check's exec, a kill) was waited for: nothing is left in it.
    (void)remove_own_cgroup(dirs_, std::chrono::seconds(2));
  }
  MonitorCgroup(const MonitorCgroup&) = delete;
  MonitorCgroup& operator=(const MonitorCgroup&) = delete;

 private:
  std::vector<std::string>& dirs_;
};

}  // namespace

void monitor_service(MonitorContext context) {
  int code = 0;
  try {
    close_inherited_fds({context.report.get(), context.lock.get()});
    ::setsid();
    MonitorCgroup cgroup(context.cgroup);
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    redirect(0, null.get());
    // Blocked for the monitor's life: the session forwards them to the container while it
    // runs; between runs they end the back-off (wait_unless_stopped).
    sigset_t forwarded;
    init::forwarded_signal_set(&forwarded);
    ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
    place_secrets(context);
    LogPump pump(context.dir + "/container.log", context.service.log);
    redirect(1, pump.stdout_fd());
    redirect(2, pump.stderr_fd());
    pump.start();
    Monitor(context).run();
    redirect(1, null.get());
    redirect(2, null.get());
    pump.stop();
  } catch (const Error& e) {
    std::string line = "ERR " + std::to_string(e.exit_code()) + " " + e.what() + "\n";
    if (context.report) (void)sys::write_all(context.report.get(), line.data(), line.size());
    code = e.exit_code();
    // The caller removes a new service's record (the secrets' tmpfs, ours, is gone then);
    // an existing one says why it is not running.
    try {
      service::ServiceState state = service::read_state(context.dir);
      state.status = "exited";
      state.reason = e.what();
      service::write_state(context.dir, state);
    } catch (const Error&) {
    }
  } catch (const std::exception& e) {
    code = 125;
  }
  ::_exit(code);
}

}  // namespace nucleus::frontend
