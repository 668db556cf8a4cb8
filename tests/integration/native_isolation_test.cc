// The foundation's isolation, observed from inside real native containers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using Isolation = ContainerTest;

// Every entry's path, type, mode, owner, size, mtime and (for files) content.
std::string tree_fingerprint(const std::string& root) {
  namespace fs = std::filesystem;
  std::string out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    out += it->path().string() + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
           std::to_string(st.st_gid) + " " + std::to_string(st.st_size) + " " +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode) && st.st_size < 4096) {
      std::ifstream in(it->path());
      out += " " + std::string(std::istreambuf_iterator<char>(in), {});
    }
    out += "\n";
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST_F(Isolation, WorkloadRunsUnderASupervisorPid1AndSeesFewPids) {
  for (const std::vector<std::string>& root : {std::vector<std::string>{}, {"--rootfs", kRootfs}}) {
    Result r = run_sh("cat /proc/1/comm; echo self=$$; ls -d /proc/[0-9]* | wc -l", root);
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream out(r.out);
    std::string comm, self, count;
    std::getline(out, comm);
    std::getline(out, self);
    std::getline(out, count);
    EXPECT_EQ(comm, "nucleus-init");
    EXPECT_EQ(self, "self=2");  // the supervisor's first and only child
    EXPECT_LE(std::stoi(trim(count)), 4) << r.out;  // 1, the shell, ls (and its pipe partner)
  }
}

TEST_F(Isolation, NoInitMakesTheWorkloadPid1) {
  Result r = run_sh("echo $$; cat /proc/1/comm", {"--no-init"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\nsh\n");
}

TEST_F(Isolation, OnlyLoopbackExistsAndItIsUp) {
  Result r = run_sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; cat /sys/class/net/lo/flags");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "lo\n0x9\n");  // IFF_UP | IFF_LOOPBACK
  // Control: the host does have another interface or at least lo; --network host shows it.
  Result host = run_sh("tail -n +3 /proc/net/dev | wc -l", {"--network", "host"});
  ASSERT_EQ(host.status, 0) << host.err;
  std::ifstream dev("/proc/net/dev");
  int host_lines = -2;
  for (std::string line; std::getline(dev, line);) ++host_lines;
  EXPECT_EQ(std::stoi(trim(host.out)), host_lines);
}

TEST_F(Isolation, LoopbackCarriesTraffic) {
  // The client retries until the listener is up (a fixed sleep lost that race under load).
  Result r = run_sh("nc -l -p 7777 > /tmp/got & for i in $(seq 100); do echo ping | nc -w 1 127.0.0.1 7777 && break; "
                    "sleep 0.05; done; wait; cat /tmp/got", {"--rootfs", kRootfs});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ping\n");
}

// Runs `nucleus args...` in a user namespace and a mount namespace of the test's own (host
// ids 0-165535 mapped to themselves: root, and the subordinate range `standard` maps), where
// no network namespace may be made (user.max_net_namespaces 0 there; the host's limit is
// untouched). Its own mount namespace lets nucleus make its detached mounts (the /dev tree)
// there, so that nothing of the parent's fails before the child's report is read. Returns
// what it printed and its exit status; killed after 60 s.
std::pair<std::string, int> run_where_no_network_namespace_may_be_made(const std::vector<std::string>& args) {
  std::vector<std::string> words = {kNucleus};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  UniqueFd ready_r, ready_w, go_r, go_w, out_r, out_w;
  auto pipe_pair = [](UniqueFd& r, UniqueFd& w) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    r.reset(fds[0]);
    w.reset(fds[1]);
    return true;
  };
  if (!pipe_pair(ready_r, ready_w) || !pipe_pair(go_r, go_w) || !pipe_pair(out_r, out_w)) return {"pipe failed", -1};
  pid_t pid = ::fork();
  if (pid < 0) return {"fork failed", -1};
  if (pid == 0) {  // raw system calls only from here
    char byte = 0;
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 || ::write(ready_w.get(), "r", 1) != 1 ||
        ::read(go_r.get(), &byte, 1) != 1) {
      ::_exit(90);
    }
    int limit = ::open("/proc/sys/user/max_net_namespaces", O_WRONLY);
    if (limit < 0 || ::write(limit, "0", 1) != 1) ::_exit(91);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    ::execv(argv[0], argv.data());
    ::_exit(92);
  }
  ready_w.reset();
  go_r.reset();
  out_w.reset();
  char byte = 0;
  bool mapped = ::read(ready_r.get(), &byte, 1) == 1;
  for (const char* map : {"uid_map", "gid_map"}) {
    std::ofstream f("/proc/" + std::to_string(pid) + "/" + map);
    mapped = mapped && static_cast<bool>(f << "0 0 165536\n" << std::flush);
  }
  if (mapped) (void)!::write(go_w.get(), "g", 1);
  go_w.reset();
  std::string out;
  char buf[512];
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);;) {
    pollfd p = {out_r.get(), POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count());
    if (left <= 0 || ::poll(&p, 1, left) <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// --network host with an image: the host's resolver and hosts files, read-only, as Docker
// gives them (the test image has neither: its names resolved nowhere), also under
// --read-only; the image is never written.
TEST_F(Isolation, AnImageOnTheHostsNetworkGetsItsResolverAndHosts) {
  auto host_file = [](const char* path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  ASSERT_FALSE(std::filesystem::exists(kRootfs + "/etc/resolv.conf"));
  for (bool read_only : {false, true}) {
    std::vector<std::string> flags = {"--network", "host", "--rootfs", kRootfs};
    if (read_only) flags.push_back("--read-only");
    Result r = run_sh("cat /etc/resolv.conf; echo ===; cat /etc/hosts; echo x 2>/dev/null > /etc/hosts || echo refused", flags);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, host_file("/etc/resolv.conf") + "===\n" + host_file("/etc/hosts") + "refused\n") << read_only;
  }
  EXPECT_FALSE(std::filesystem::exists(kRootfs + "/etc/resolv.conf"));
  EXPECT_FALSE(std::filesystem::exists(kRootfs + "/etc/hosts"));
}

// The child makes its network namespace itself, before the parent's "G" (off the clone,
// docs/architecture.md): a failure there is reported as that step, once, with 125, with a
// user namespace (`standard`: the parent writes the id maps of a child that may be gone)
// and without (`trusted`). The host's read-only view: an id-mapped rootfs could not be
// made in the test's user namespace.
TEST_F(Isolation, ANetworkNamespaceThatCannotBeMadeIsReportedAsSuch) {
  for (const char* level : {"standard", "trusted"}) {
    auto [out, status] = run_where_no_network_namespace_may_be_made({"run", "--isolation", level, "--", "/bin/true"});
    EXPECT_EQ(out, "nucleus: create the container's network namespace: No space left on device\n") << level;
    EXPECT_EQ(status, 125) << level;
  }
}

TEST_F(Isolation, HostnameIsSet) {
  EXPECT_EQ(run_sh("hostname").out, "nucleus\n");
  Result r = run_sh("hostname; cat /proc/sys/kernel/hostname", {"--hostname", "box-1"});
  EXPECT_EQ(r.out, "box-1\nbox-1\n");
  char host[256] = {};
  ::gethostname(host, sizeof host);
  EXPECT_NE(std::string(host), "box-1");
}

// The host view shows the system directories and a curated /etc, nothing of the host's
// users, state or secrets. A canary planted in host /tmp must not be visible either.
TEST_F(Isolation, HostViewHidesHostData) {
  TempDir canary_dir("/tmp", "nucleus-it-canary-");
  std::ofstream(canary_dir.path() + "/secret") << "canary";
  Result r = run_sh(
      "for p in /root /home /var /run /etc/shadow /etc/ssh " + canary_dir.path() +
      "; do if [ -e $p ]; then echo present $p; else echo absent $p; fi; done; ls /tmp | wc -l; "
      "test -x /usr/bin/env && echo usr-ok; test -r /etc/passwd && echo passwd-ok");
  ASSERT_EQ(r.status, 0) << r.err;
  for (std::string p : {"/root", "/home", "/var", "/run", "/etc/shadow", "/etc/ssh"}) {
    EXPECT_NE(r.out.find("absent " + p + "\n"), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("absent " + canary_dir.path()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n0\n"), std::string::npos) << "the container's /tmp is its own: " << r.out;
  EXPECT_NE(r.out.find("usr-ok"), std::string::npos);  // controls: what should be there is
  EXPECT_NE(r.out.find("passwd-ok"), std::string::npos);
}

TEST_F(Isolation, HostViewIsReadOnlyExceptTmp) {
  Result r = run_sh("touch /usr/bin/pwn 2>&1; touch /etc/pwn 2>&1; mkdir /pwn 2>&1; "
                    "touch /tmp/ok && echo tmp-writable");
  EXPECT_NE(r.out.find("/usr/bin/pwn': Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/etc/pwn': Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/pwn': Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tmp-writable"), std::string::npos) << r.out;
  struct stat st;
  EXPECT_NE(::stat("/usr/bin/pwn", &st), 0);
}

// Writes under --rootfs land in a tmpfs layer: the next run does not see them and the
// directory is byte-for-byte what it was.
TEST_F(Isolation, RootfsWritesVanishAndTheDirectoryIsUnchanged) {
  std::string before = tree_fingerprint(kRootfs);
  ASSERT_NE(before.find("etc/rootfs-marker"), std::string::npos);
  Result w = run_sh("echo x > /etc/new && rm /etc/rootfs-marker && mkdir -p /usr/lib/new && "
                    "rm -rf /home/app && mkdir /home/app && chmod 700 /bin && cat /etc/new && "
                    "test ! -e /etc/rootfs-marker && echo writes-ok",
                    {"--rootfs", kRootfs});
  ASSERT_EQ(w.status, 0) << w.err;
  EXPECT_EQ(w.out, "x\nwrites-ok\n");
  Result again = run_sh("test -e /etc/new && echo leaked; cat /etc/rootfs-marker", {"--rootfs", kRootfs});
  EXPECT_EQ(again.out, "nucleus-test-rootfs\n");
  EXPECT_EQ(tree_fingerprint(kRootfs), before);
}

TEST_F(Isolation, ReadOnlyRootfsRefusesWritesButKeepsTmp) {
  Result r = run_sh("touch /etc/x 2>&1; touch /tmp/y && echo tmp-ok", {"--rootfs", kRootfs, "--read-only"});
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tmp-ok"), std::string::npos) << r.out;
}

TEST_F(Isolation, VolumesAreBoundWithTheirMode) {
  TempDir vol("/tmp", "nucleus-it-vol-");
  std::ofstream(vol.path() + "/f") << "host";
  ::chown(vol.path().c_str(), 100000, 100000);  // container root under standard
  Result r = run_sh("cat /ro/f; touch /ro/x 2>&1; echo c > /rw/from-container && echo rw-ok",
                    {"-v", vol.path() + ":/ro:ro", "-v", vol.path() + ":/rw"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("host"), std::string::npos);
  EXPECT_NE(r.out.find("/ro/x': Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rw-ok"), std::string::npos) << r.out;
  struct stat st;
  ASSERT_EQ(::stat((vol.path() + "/from-container").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);  // container root is an unprivileged host uid
}

TEST_F(Isolation, WorkdirIsTheCwdInsideTheRoot) {
  Result r = run_sh("pwd; readlink /proc/self/cwd; cd ../../../..; pwd", {"-w", "/work/sub", "--rootfs", kRootfs});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/work/sub\n/work/sub\n/\n");
}

TEST_F(Isolation, UnprivilegedCallerGetsTheSameContainer) {
  RunOptions unpriv;
  unpriv.unprivileged = true;
  Result r = run_sh("id -u; cat /proc/1/comm; hostname; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; "
                    "cat /proc/self/uid_map | tr -s ' '", {}, unpriv);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\nnucleus-init\nnucleus\nlo\n 0 65534 1\n");
  Result rootfs = run_sh("cat /etc/rootfs-marker; exit 3", {"--rootfs", kRootfs}, unpriv);
  EXPECT_EQ(rootfs.status, 3) << rootfs.err;
  EXPECT_EQ(rootfs.out, "nucleus-test-rootfs\n");
}

// As root, the parent builds /dev's fixed tree and the child attaches it (dev_tree.h); an
// unprivileged caller cannot, and the child builds the same ops itself. Both must give the
// container the same /dev: entries, types, modes, link targets and mount flags (owners
// differ with the id mapping); as root, what the parent made belongs to container root.
TEST_F(Isolation, DevIsTheSameWhoeverBuildsIt) {
  const std::string list =
      "ls -la /dev | awk 'NR > 1 {print $1, $NF}'; "
      "awk '$5 ~ /^\\/dev/ {print $5, $6, $9}' /proc/self/mountinfo";
  Result built_by_parent = run_sh(list, {"--rootfs", kRootfs});
  ASSERT_EQ(built_by_parent.status, 0) << built_by_parent.err;
  RunOptions unpriv;
  unpriv.unprivileged = true;
  Result built_by_child = run_sh(list, {"--rootfs", kRootfs}, unpriv);
  ASSERT_EQ(built_by_child.status, 0) << built_by_child.err;
  EXPECT_EQ(built_by_parent.out, built_by_child.out);
  EXPECT_NE(built_by_parent.out.find("lrwxrwxrwx /proc/self/fd\n"), std::string::npos) << built_by_parent.out;
  EXPECT_NE(built_by_parent.out.find("/dev ro,nosuid,noexec,relatime tmpfs\n"), std::string::npos) << built_by_parent.out;
  EXPECT_NE(built_by_parent.out.find("/dev/null rw,nosuid,noexec,relatime devtmpfs\n"), std::string::npos)
      << built_by_parent.out;
  Result owners = run_sh("stat -c '%U:%G %n' /dev /dev/fd /dev/ptmx /dev/pts", {"--rootfs", kRootfs});
  ASSERT_EQ(owners.status, 0) << owners.err;
  EXPECT_EQ(owners.out, "root:root /dev\nroot:root /dev/fd\nroot:root /dev/ptmx\nroot:root /dev/pts\n");
}

}  // namespace
}  // namespace nucleus::test
