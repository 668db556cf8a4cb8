#include "tests/integration/harness.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/process.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <fstream>
#include <filesystem>
#include <sstream>
#include <thread>

#include "core/sys/scoped.h"
#include "core/sys/sys.h"
#include "tests/support/slurp.h"

namespace bp = boost::process;

namespace nucleus::test {
namespace {

std::set<std::string> list_dir(const std::string& dir, const std::string& prefix) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (name.rfind(prefix, 0) == 0) out.insert(dir + "/" + name);
  }
  ::closedir(d);
  return out;
}

// A state root's entries but its event history (.events, .events.1), which stays by design.
std::set<std::string> state_entries_of(const std::string& root) {
  std::set<std::string> out;
  for (const std::string& e : list_dir(root, "")) {
    if (e.compare(root.size(), 8, "/.events") != 0) out.insert(e);
  }
  return out;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct NucleusProcess::Impl {
  TempDir dir{"/tmp", "nucleus-it-"};
  std::string out_path = dir.path() + "/out";
  std::string err_path = dir.path() + "/err";
  RunOptions options;
  bp::child child;
};

NucleusProcess::NucleusProcess(const std::vector<std::string>& args, const RunOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  std::vector<std::string> argv;
  std::string exe = kNucleus;
  std::vector<std::string> setpriv = options.setpriv;
  if (options.unprivileged) setpriv = {"--reuid=65534", "--regid=65534", "--clear-groups"};
  if (!setpriv.empty()) {
    argv = setpriv;
    argv.push_back(kNucleus);
    exe = "/usr/bin/setpriv";
  }
  argv.insert(argv.end(), args.begin(), args.end());
  if (options.pty) {
    // script(1) runs the command on a new pseudo-terminal and keeps its exit status.
    std::string command = shell_quote(exe);
    for (const std::string& a : argv) command += " " + shell_quote(a);
    argv = {"-qefc", command, "/dev/null"};
    exe = "/usr/bin/script";
  }
  bp::environment env = boost::this_process::environment();
  if (options.unprivileged) {
    // Its state root in this run's directory (the default, /tmp/nucleus-65534, would
    // outlive the test): an XDG_RUNTIME_DIR the caller owns, as a login session has.
    const std::string runtime = impl_->dir.path() + "/xdg";
    if (::chmod(impl_->dir.path().c_str(), 0711) != 0 || ::mkdir(runtime.c_str(), 0700) != 0 ||
        ::chown(runtime.c_str(), 65534, 65534) != 0) {
      throw std::runtime_error("prepare an XDG_RUNTIME_DIR for uid 65534: " + std::string(std::strerror(errno)));
    }
    env["XDG_RUNTIME_DIR"] = runtime;
  }
  for (const auto& [k, v] : options.env) env[k] = v;
  // The output files are ours (root); the unprivileged run writes through inherited fds.
  impl_->child = bp::child(exe, bp::args(argv), env, bp::std_out > impl_->out_path,
                           bp::std_err > impl_->err_path, bp::std_in < bp::null);
}

HostSocket::HostSocket(int type, const std::string& address) {
  fd.reset(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  socklen_t len = sizeof sa;
  if (address[0] == '@') {
    std::memcpy(sa.sun_path + 1, address.data() + 1, address.size() - 1);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  } else {
    std::strncpy(sa.sun_path, address.c_str(), sizeof sa.sun_path - 1);
    path = address;
    ::unlink(path.c_str());
  }
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len), 0) << address;
  if (type == SOCK_STREAM) ::listen(fd.get(), 4);
}

HostSocket::~HostSocket() {
  if (!path.empty()) ::unlink(path.c_str());
}

NucleusProcess::~NucleusProcess() {
  if (impl_ && impl_->child.running()) {
    impl_->child.terminate();  // SIGKILL to our own child only
  }
  if (impl_ && impl_->options.unprivileged) {
    // The run's state root is in our directory, and its cleanup keeper finishes after
    // nucleus has exited (a record set aside, the events it appends): removed until it
    // stays removed, for a bounded while, so that no late write keeps the directory.
    const std::filesystem::path runtime = impl_->dir.path() + "/xdg";
    for (int i = 0; i < 100 && std::filesystem::exists(runtime); ++i) {
      std::error_code ec;
      std::filesystem::remove_all(runtime, ec);
      if (std::filesystem::exists(runtime)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

pid_t NucleusProcess::pid() const { return impl_->child.id(); }

bool NucleusProcess::wait_for_output(const std::string& needle, std::chrono::seconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (slurp(impl_->out_path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Boost 1.74's child::wait_for can sleep through the whole timeout after the child has
// exited; a pidfd tells exactly when it is done.
bool wait_exit(pid_t pid, std::chrono::seconds timeout) {
  UniqueFd fd(sys::raw_pidfd_open(pid));
  if (!fd) return true;  // already reaped
  pollfd p = {fd.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count() * 1000)) == 1;
}

Result NucleusProcess::wait() {
  Result r;
  if (!wait_exit(pid(), impl_->options.timeout)) {
    impl_->child.terminate();
    r.status = -1;
    impl_->child.wait();
    r.err = "harness: nucleus did not finish within the timeout\n";
  } else {
    impl_->child.wait();
    // Boost reports death by signal as the raw status; keep the shell's 128+N convention.
    int native = impl_->child.native_exit_code();
    r.status = WIFSIGNALED(native) ? 128 + WTERMSIG(native) : WEXITSTATUS(native);
  }
  r.out = slurp(impl_->out_path);
  r.err += slurp(impl_->err_path);
  return r;
}

Result run_nucleus(const std::vector<std::string>& args, const RunOptions& options) {
  NucleusProcess p(args, options);
  return p.wait();
}

Result run_sh(const std::string& script, std::vector<std::string> run_args, const RunOptions& options) {
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), run_args.begin(), run_args.end());
  args.insert(args.end(), {"--", "/bin/sh", "-c", script});
  return run_nucleus(args, options);
}

namespace {

// A cleanup keeper whose nucleus has exited: dismissed, it is on its way out, closing the
// container's mount namespace for nucleus (core/keeper.h). Waited for, not counted; one that
// stays longer than the wait is counted, and the test fails.
bool dismissed_keeper(const std::string& pid) {
  if (slurp("/proc/" + pid + "/comm") != "nucleus-keeper\n") return false;
  std::string stat = slurp("/proc/" + pid + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(stat.substr(close + 2));
  std::string state, ppid;
  fields >> state >> ppid;
  return state != "Z" && slurp("/proc/" + ppid + "/comm") != "nucleus\n";
}

void wait_for_dismissed_keepers() {
  for (int round = 0; round < 200; ++round) {
    bool any = false;
    DIR* proc = ::opendir("/proc");
    while (dirent* e = proc ? ::readdir(proc) : nullptr) {
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && dismissed_keeper(e->d_name)) any = true;
    }
    if (proc) ::closedir(proc);
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

LeakSnapshot take_leak_snapshot() {
  wait_for_dismissed_keepers();
  LeakSnapshot s;
  std::istringstream mounts(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(mounts, line);) {
    if (line.find("nucleus") != std::string::npos) s.mounts.insert(line);
  }
  s.state_entries = state_entries_of("/run/nucleus");
  for (const std::string& e : list_dir("/run", "nucleus-gvisor-")) s.state_entries.insert(e);
  for (const std::string& e : list_dir("/tmp", "nucleus")) {
    if (e.rfind("/tmp/nucleus-it-", 0) == 0) continue;  // the harness's own
    // A non-root caller's state root (/tmp/nucleus-<uid>) stays, as /run/nucleus does: what
    // is in it is what counts.
    if (e.size() > 13 && e.find_first_not_of("0123456789", 13) == std::string::npos) {
      for (const std::string& r : state_entries_of(e)) s.state_entries.insert(r);
      continue;
    }
    s.temp_entries.insert(e);
  }
  DIR* proc = ::opendir("/proc");
  while (dirent* e = proc ? ::readdir(proc) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string comm = slurp(std::string("/proc/") + e->d_name + "/comm");
    char exe[256] = {};
    ::readlink((std::string("/proc/") + e->d_name + "/exe").c_str(), exe, sizeof exe - 1);
    bool runsc = std::string(exe).find("runsc") != std::string::npos;  // runsc, its sandbox, its gofer
    // The cleanup keeper execs /proc/self/exe: its name is "exe" until it renames itself.
    bool ours = std::string(exe).ends_with("/nucleus");
    // A zombie is dead: its parent (init, once we exited) reaps it in its own time.
    std::string stat = slurp(std::string("/proc/") + e->d_name + "/stat");
    size_t close = stat.rfind(')');
    bool zombie = close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
    if (!zombie && (comm == "nucleus\n" || comm == "nucleus-init\n" || ours || runsc)) {
      s.processes.insert(std::string(e->d_name) + " " + comm);
    }
  }
  if (proc) ::closedir(proc);
  s.cgroups = nucleus_cgroups();
  return s;
}

std::set<std::string> nucleus_cgroups() {
  namespace fs = std::filesystem;
  std::set<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it("/sys/fs/cgroup", fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() > 4 || !it->is_directory(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->path().filename().string().rfind("nucleus-", 0) == 0) {
      out.insert(it->path().string());
      it.disable_recursion_pending();
    }
  }
  return out;
}

std::string describe_difference(const LeakSnapshot& before, const LeakSnapshot& after) {
  std::string out;
  auto diff = [&](const char* what, const std::set<std::string>& a, const std::set<std::string>& b) {
    for (const std::string& x : b) {
      if (!a.count(x)) out += std::string("left behind (") + what + "): " + x + "\n";
    }
  };
  diff("mount", before.mounts, after.mounts);
  diff("state", before.state_entries, after.state_entries);
  diff("temp", before.temp_entries, after.temp_entries);
  diff("process", before.processes, after.processes);
  diff("cgroup", before.cgroups, after.cgroups);
  return out;
}

bool is_root() { return ::geteuid() == 0; }

}  // namespace nucleus::test
