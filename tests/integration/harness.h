#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"

// Runs the real `nucleus` binary (Boost.Process) and reads what it printed; checks that a
// run left nothing behind (security-bar §4, leak check L). Paths come from CMake.
namespace nucleus::test {

inline const std::string kNucleus = NUCLEUS_BINARY;
inline const std::string kRootfs = TEST_ROOTFS;

struct Result {
  int status = -1;  // exit code, or 128+N when nucleus itself died of signal N
  std::string out;
  std::string err;
};

struct RunOptions {
  std::vector<std::pair<std::string, std::string>> env;  // added to the test's environment
  bool unprivileged = false;  // as uid/gid 65534 with no groups (setpriv)
  bool pty = false;           // on a fresh pseudo-terminal (script(1)): stdin is a tty
  std::vector<std::string> setpriv;  // other setpriv arguments to run nucleus under
  std::chrono::seconds timeout{60};
};

// A nucleus process started in the background; stdout and stderr go to private files.
class NucleusProcess {
 public:
  NucleusProcess(const std::vector<std::string>& args, const RunOptions& options = {});
  ~NucleusProcess();
  NucleusProcess(const NucleusProcess&) = delete;
  NucleusProcess& operator=(const NucleusProcess&) = delete;

  pid_t pid() const;
  // Polls stdout until it contains needle; false after the deadline.
  bool wait_for_output(const std::string& needle, std::chrono::seconds deadline = std::chrono::seconds(30));
  // Waits (killing nucleus after options.timeout) and returns what it did.
  Result wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Result run_nucleus(const std::vector<std::string>& args, const RunOptions& options = {});
// `nucleus run [run_args...] -- sh -c script`
Result run_sh(const std::string& script, std::vector<std::string> run_args = {}, const RunOptions& options = {});

// What a run could leave on the host: nucleus mounts, state entries, temp dirs, processes,
// cgroups.
struct LeakSnapshot {
  std::set<std::string> mounts;
  std::set<std::string> state_entries;
  std::set<std::string> temp_entries;
  std::set<std::string> processes;
  std::set<std::string> cgroups;  // directories named nucleus-* in any hierarchy
  bool operator==(const LeakSnapshot&) const = default;
};
LeakSnapshot take_leak_snapshot();
std::string describe_difference(const LeakSnapshot& before, const LeakSnapshot& after);

// Every nucleus-* cgroup directory under /sys/fs/cgroup (a few levels deep).
std::set<std::string> nucleus_cgroups();

bool is_root();
std::string shell_quote(const std::string& s);

// A datagram or stream unix socket bound by the test on the host side (a path, or an
// abstract address starting with '@'); a path is unlinked before the bind (a killed run's
// socket) and when it goes.
struct HostSocket {
  HostSocket(int type, const std::string& address);
  ~HostSocket();
  HostSocket(const HostSocket&) = delete;
  HostSocket& operator=(const HostSocket&) = delete;
  UniqueFd fd;
  std::string path;
};

}  // namespace nucleus::test
