#include "backends/gvisor/runsc/runsc_process.h"

#include <fcntl.h>
#include <cstdio>
#include <poll.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <sstream>

#include "core/cgroup/cgroup.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

#include <nlohmann/json.hpp>

namespace bp = boost::process;

namespace nucleus::gvisor {
namespace {

constexpr int kShortCommandSeconds = 10;

// Runs in the forked child, before exec: only syscalls and the prepared strings.
struct PrivateRoot : bp::extend::handler {
  const Staging* staging;
  std::string upper, work, options;

  explicit PrivateRoot(const Staging& s) : staging(&s) {
    upper = s.layer + "/upper";
    work = s.layer + "/work";
    options = "lowerdir=" + s.lower + ",upperdir=" + upper + ",workdir=" + work;
  }

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    auto fail = [&exec](const char* what) { exec.set_error(std::error_code(errno, std::system_category()), what); };
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int fd = 0; fd < 3; ++fd) {
      if (staging->stdio[fd] >= 0 && dup2(staging->stdio[fd], fd) < 0) return fail("dup2 the container's stdio");
    }
    if (setpgid(0, 0) != 0) return fail("setpgid");
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return fail("PR_SET_PDEATHSIG");
    if (int err = join_cgroup_through(staging->cgroup_join)) {
      errno = err;
      return fail("join the container's cgroup");
    }
    if (unshare(CLONE_NEWNS) != 0) return fail("unshare(CLONE_NEWNS)");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail("make mounts private");
    // The runsc gap of runsc_gaps.h (mistakes_every_netns_for_the_hosts): runsc's view of
    // /proc/sys/net is hidden (the entries below it are the reader's namespace's, so only
    // the whole directory can be covered), as for `runsc start` below.
    if (staging->hide_root_netns_probe &&
        mount("tmpfs", "/proc/sys/net", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=0555") != 0) {
      return fail("hide /proc/sys/net from runsc");
    }
    if (!staging->overlay) return;
    if (mount("tmpfs", staging->layer.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, staging->layer_options.c_str()) != 0) {
      return fail("mount the rootfs layer tmpfs");
    }
    if (mkdir(upper.c_str(), 0755) != 0 || mkdir(work.c_str(), 0700) != 0) return fail("mkdir overlay layers");
    if (mount("overlay", staging->mountpoint.c_str(), "overlay", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      return fail("mount the rootfs overlay");
    }
  }
};

// Runs in the forked child, before exec: only syscalls.
struct StartSetup : bp::extend::handler {
  const StartOptions* options;
  explicit StartSetup(const StartOptions& o) : options(&o) {}

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    auto fail = [&exec](const char* what) { exec.set_error(std::error_code(errno, std::system_category()), what); };
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; ++fd) {
      int from = options->stdio[fd] >= 0 ? options->stdio[fd] : null;
      if (from < 0 || dup2(from, fd) != fd) return fail("set runsc's stdio");
    }
    if (!options->hide_net_sysctls) return;
    if (unshare(CLONE_NEWNS) != 0) return fail("unshare(CLONE_NEWNS)");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail("make mounts private");
    if (mount("tmpfs", "/proc/sys/net", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") != 0) {
      return fail("hide /proc/sys/net");
    }
  }
};

}  // namespace

OwnedChild start_runsc(const std::string& runsc, const std::vector<std::string>& args, const Staging& staging,
                       int keep_fd) {
  (void)keep_fd;  // Boost.Process closes nothing it was not asked to; the fd is inheritable
  try {
    bp::child child(bp::exe = runsc, bp::args = args, PrivateRoot(staging));
    pid_t pid = child.id();
    child.detach();  // OwnedChild reaps it through its pidfd
    return OwnedChild(pid, sys::pidfd_open(pid, "watch runsc"));
  } catch (const bp::process_error& e) {
    throw Error("start runsc", e.what(), e.code().value());
  }
}

bool platform_works(const std::string& runsc, const std::string& platform, int timeout_seconds, std::string* why) {
  TempDir root("/run", "nucleus-gvisor-check-");
  Staging none;
  OwnedChild child = start_runsc(runsc,
                                 {"--root=" + root.path(), "--platform=" + platform, "--network=none",
                                  "--ignore-cgroups", "do", "true"},
                                 none, -1);
  pollfd p = {child.pidfd(), POLLIN, 0};
  if (::poll(&p, 1, timeout_seconds * 1000) != 1) {
    ::kill(-child.pid(), SIGKILL);  // runsc leads its own process group (start_runsc)
    *why = "did not finish within " + std::to_string(timeout_seconds) + "s";
    return false;
  }
  int status = child.wait();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  *why = "runsc do failed (status " + std::to_string(status) + ")";
  return false;
}

std::optional<bool> sentry_rejects_no_automount(const std::string& runsc, const std::string& platform) {
  if (::access("/usr/bin/stat", X_OK) != 0) return std::nullopt;
  TempDir root("/run", "nucleus-gvisor-check-");
  std::string output;
  run_runsc(runsc,
            {"--root=" + root.path(), "--platform=" + platform, "--network=none", "--ignore-cgroups", "do",
             "/usr/bin/stat", "-c", "%F", "/"},
            &output);
  if (output.find("Invalid argument") != std::string::npos) return true;
  if (output.find("directory") != std::string::npos) return false;
  return std::nullopt;
}

int run_runsc(const std::string& runsc, const std::vector<std::string>& args, std::string* output) {
  try {
    if (output == nullptr) {
      // A sandbox that no longer answers must not hang nucleus: kill and delete get a deadline.
      bp::child child(bp::exe = runsc, bp::args = args, bp::std_out > bp::null, bp::std_err > bp::null,
                      bp::std_in < bp::null);
      // Boost 1.74's wait_for can oversleep a child that has exited; a pidfd cannot.
      UniqueFd pidfd = sys::pidfd_open(child.id(), "watch runsc");
      pollfd p = {pidfd.get(), POLLIN, 0};
      if (::poll(&p, 1, kShortCommandSeconds * 1000) != 1) {
        child.terminate();
        return -1;
      }
      child.wait();
      return child.exit_code();
    }
    bp::ipstream out;
    bp::child child(bp::exe = runsc, bp::args = args, (bp::std_out & bp::std_err) > out, bp::std_in < bp::null);
    std::stringstream ss;
    ss << out.rdbuf();
    child.wait();
    *output = ss.str();
    return child.exit_code();
  } catch (const bp::process_error& e) {
    throw Error("run runsc", e.what(), e.code().value());
  }
}

// runsc's last error, from its JSON log (--log-fd), or "" when it logged none.
std::string last_runsc_error(const std::string& log_path) {
  std::string log;
  try {
    log = sys::read_file(log_path, 4u << 20, "read the runsc log");
  } catch (const Error&) {
    return {};
  }
  std::string last;
  size_t pos = 0;
  while ((pos = log.find('{', pos)) != std::string::npos) {
    size_t end = log.find('}', pos);
    if (end == std::string::npos) break;
    try {
      auto entry = nlohmann::json::parse(log.substr(pos, end - pos + 1));
      if (entry.value("level", "") == "error") last = entry.value("msg", "");
    } catch (const nlohmann::json::exception&) {
    }
    pos = end + 1;
  }
  return last;
}

int run_runsc_start(const std::string& runsc, const std::vector<std::string>& args, const StartOptions& options) {
  try {
    bp::child child(bp::exe = runsc, bp::args = args, StartSetup(options));
    child.wait();
    return child.exit_code();
  } catch (const bp::process_error& e) {
    throw Error("run runsc", e.what(), e.code().value());
  }
}

int run_runsc_attached(const std::string& runsc, const std::vector<std::string>& args) {
  try {
    bp::child child(bp::exe = runsc, bp::args = args);
    child.wait();
    return child.exit_code();
  } catch (const bp::process_error& e) {
    throw Error("run runsc", e.what(), e.code().value());
  }
}

namespace {

// runsc's argv for execve: the binary, then args; pointers into them, null-terminated.
std::vector<char*> runsc_argv(const std::string& runsc, const std::vector<std::string>& args) {
  std::vector<char*> argv = {const_cast<char*>(runsc.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

void exec_runsc(const std::string& runsc, const std::vector<std::string>& args) {
  std::vector<char*> argv = runsc_argv(runsc, args);
  std::fflush(nullptr);
  ::execv(runsc.c_str(), argv.data());
  throw Error("exec runsc", runsc, errno);
}

}  // namespace nucleus::gvisor
