// Namespaces and the notify socket (security-bar NET, UTS, PID, IPC, USR, NTF rows).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"
#include "tests/integration/probe.h"

namespace nucleus::test {
namespace {

using Namespaces = ContainerTest;

TEST_F(Namespaces, Net01NoRouteOutButLoopbackWorks) {
  expect_rows({{"NET-01", "connect 1.1.1.1 53", "ENETUNREACH"},
               {"NET-01", "connect 169.254.169.254 80", "ENETUNREACH"},
               {"NET-01", "connect 10.0.2.2 80", "ENETUNREACH"},
               {"control", "connect 127.0.0.1 1", "ECONNREFUSED"}});
}

// NET-02: a host abstract socket is out of reach: another network namespace has another
// abstract namespace; with the host's network, Landlock's scope (ABI 6) still refuses.
TEST_F(Namespaces, Net02HostAbstractSocketsAreOutOfReach) {
  std::string name = "@nucleus-canary-" + std::to_string(::getpid());
  HostSocket canary(SOCK_STREAM, name);
  expect_rows({{"NET-02", "connect-unix " + name, "ECONNREFUSED"}});
  expect_rows({{"NET-02", "connect-unix " + name, "EPERM"}}, {"--network", "host"});
  Result r = run_sh("ip link set lo down 2>&1; cat /sys/class/net/lo/flags", {"--rootfs", kRootfs});
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0x9"), std::string::npos) << "lo is still up: " << r.out;
}

TEST_F(Namespaces, Uts01HostnameIsTheContainersAndFixed) {
  char host[256] = {};
  ::gethostname(host, sizeof host);
  Result r = run_sh("hostname evil 2>&1; hostname", {"--rootfs", kRootfs, "--hostname", "box"});
  EXPECT_NE(r.out.find("box"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("evil\n"), std::string::npos) << r.out;
  char after[256] = {};
  ::gethostname(after, sizeof after);
  EXPECT_STREQ(host, after);
}

TEST_F(Namespaces, Pid01HostProcessesAreInvisible) {
  HostSentinel host;
  std::string hp = std::to_string(host.pid());
  Result r = run_sh("kill -0 " + hp + " 2>&1; [ -e /proc/" + hp + " ] && echo visible; echo done",
                    {"--rootfs", kRootfs});
  EXPECT_NE(r.out.find("No such process"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("visible"), std::string::npos) << r.out;
  EXPECT_TRUE(host.alive());
}

TEST_F(Namespaces, Ipc01HostIpcIsInvisible) {
  const key_t key = 0x4e55434c;
  int id = ::shmget(key, 4096, IPC_CREAT | 0600);
  ASSERT_GE(id, 0);
  Result r = run_sh("/nprobe shm 0x4e55434c; ls -A /dev/mqueue | wc -l", {"--rootfs", kRootfs});
  ::shmctl(id, IPC_RMID, nullptr);
  EXPECT_EQ(r.out, "shm ret=-1 errno=ENOENT\n0\n");
}

TEST_F(Namespaces, Usr01ContainerRootIsAnUnprivilegedRange) {
  TempDir vol("/tmp", "nucleus-it-vol-");
  ASSERT_EQ(::chown(vol.path().c_str(), 100000, 100000), 0);
  std::string secret = vol.path() + "/secret";
  std::ofstream(secret) << "host only";
  ASSERT_EQ(::chown(secret.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  Result r = run_sh("cat /proc/self/uid_map | tr -s ' '; /nprobe open /proc/self/uid_map w; "
                    "touch /vol/f; cat /vol/secret 2>&1",
                    {"--rootfs", kRootfs, "-v", vol.path() + ":/vol"});
  // Landlock answers the uid_map write first (EACCES); the kernel would say EPERM.
  EXPECT_EQ(r.out, " 0 100000 65536\nopen ret=-1 errno=EACCES\ncat: can't open '/vol/secret': Permission denied\n");
  struct stat st;
  ASSERT_EQ(::stat((vol.path() + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
}

// NTF-01: only a valid NOTIFY_SOCKET is accepted, before anything exists; the workload talks
// to nucleus's proxy, and the service manager hears READY=1 with nucleus's MAINPID.
TEST_F(Namespaces, Ntf01InvalidNotifySocketsAreRefused) {
  TempDir tmp("/tmp", "nucleus-it-");
  HostSocket outside(SOCK_DGRAM, tmp.path() + "/n.sock");
  TempDir run("/run", "nucleus-it-");
  ASSERT_EQ(::symlink(tmp.path().c_str(), (run.path() + "/link").c_str()), 0);
  for (const std::string& bad : {tmp.path() + "/n.sock", std::string("/run/../tmp/n.sock"), run.path() + "/link/n.sock",
                                 std::string("relative.sock"), std::string("/run/nucleus-missing.sock")}) {
    RunOptions o;
    o.env = {{"NOTIFY_SOCKET", bad}};
    Result r = run_nucleus({"run", "--sd-notify", "--", "/bin/true"}, o);
    EXPECT_EQ(r.status, 125) << bad;
    EXPECT_EQ(r.err.rfind("nucleus: NOTIFY_SOCKET: ", 0), 0u) << r.err;
  }
  Result unset = run_nucleus({"run", "--sd-notify", "--", "/bin/true"});
  EXPECT_EQ(unset.status, 125);
}

TEST_F(Namespaces, Ntf01ReadyReachesTheHostWithNucleusMainPid) {
  TempDir run("/run", "nucleus-it-");
  HostSocket listener(SOCK_DGRAM, run.path() + "/notify.sock");
  RunOptions o;
  o.env = {{"NOTIFY_SOCKET", listener.path}};
  NucleusProcess p({"run", "--sd-notify", "--rootfs", kRootfs, "--", "/bin/sh", "-c",
                    "/nprobe notify MAINPID=1 READY=1 WATCHDOG=trigger; sleep 1"},
                   o);
  pollfd pfd = {listener.fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
  char buf[512] = {};
  ASSERT_GT(::recv(listener.fd.get(), buf, sizeof buf - 1, 0), 0);
  Result r = p.wait();
  EXPECT_EQ(r.status, 0) << r.err;
  std::string message = buf;
  EXPECT_EQ(message.rfind("READY=1\nMAINPID=", 0), 0u) << message;
  EXPECT_EQ(message.find("MAINPID=1\n"), std::string::npos) << message;
  EXPECT_EQ(message.find("WATCHDOG"), std::string::npos) << message;
}

}  // namespace
}  // namespace nucleus::test
