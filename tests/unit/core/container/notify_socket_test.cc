#include "core/container/notify_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "core/sys/error.h"
#include "core/sys/scoped.h"

namespace nucleus {
namespace {

void expect_refused(const std::string& value, const std::string& needle) {
  try {
    validate_notify_socket(value);
    ADD_FAILURE() << "accepted " << value;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("NOTIFY_SOCKET: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

// A listening datagram socket at path, closed and removed on destruction.
struct BoundSocket {
  explicit BoundSocket(const std::string& p) : path(p) {
    fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << path;
  }
  ~BoundSocket() { ::unlink(path.c_str()); }
  std::string path;
  UniqueFd fd;
};

TEST(NotifySocket, AbstractNamesAreAccepted) {
  NotifyAddress a = validate_notify_socket("@systemd-notify");
  EXPECT_TRUE(a.abstract);
  EXPECT_EQ(a.path, "systemd-notify");
  expect_refused("@", "empty");
  expect_refused("@" + std::string(200, 'x'), "too long");
}

TEST(NotifySocket, RefusesBadPaths) {
  expect_refused("", "empty");
  expect_refused(std::string("/run/a\0b", 8), "NUL");
  expect_refused("relative/sock", "neither an absolute path");
  expect_refused("/run/../tmp/x.sock", "'..'");
  expect_refused("/run/nucleus-test-does-not-exist.sock", "No such file");
  expect_refused("/run/" + std::string(200, 'x'), "too long");
}

TEST(NotifySocket, OnlyUnderRunAndOnlySockets) {
  TempDir tmp("/tmp", "nucleus-unit-");
  BoundSocket outside(tmp.path() + "/n.sock");
  expect_refused(outside.path, "outside /run and /var/run");

  TempDir run("/run", "nucleus-unit-");
  BoundSocket inside(run.path() + "/n.sock");
  EXPECT_EQ(validate_notify_socket(inside.path).path, inside.path);

  // A link under /run that points outside is judged by where it leads.
  std::string link = run.path() + "/link";
  ASSERT_EQ(::symlink(tmp.path().c_str(), link.c_str()), 0);
  expect_refused(link + "/n.sock", "outside /run");

  std::string file = run.path() + "/plain";
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600));
  expect_refused(file, "not a socket");
}

TEST(NotifySocket, FilterForwardsOnlyStateLines) {
  EXPECT_EQ(filter_notify_message("READY=1\nMAINPID=1\nSTATUS=up\nWATCHDOG=trigger\nFDSTORE=1"),
            "READY=1\nSTATUS=up\n");
  EXPECT_EQ(filter_notify_message("MAINPID=4242"), "");
  EXPECT_EQ(filter_notify_message("READY=10"), "");
  EXPECT_EQ(filter_notify_message("STOPPING=1\nRELOADING=1"), "STOPPING=1\nRELOADING=1\n");
}

TEST(NotifySocket, ProxyAddsItsOwnMainPid) {
  TempDir run("/run", "nucleus-unit-");
  BoundSocket target(run.path() + "/target.sock");
  TempDir proxy_dir("/tmp", "nucleus-unit-");
  NotifyProxy proxy(validate_notify_socket(target.path), proxy_dir.path());

  UniqueFd client(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, proxy.socket_path().c_str(), sizeof sa.sun_path - 1);
  std::string msg = "MAINPID=1\nREADY=1\n";
  ASSERT_GT(::sendto(client.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_TRUE(proxy.relay_one(4242));
  char buf[256] = {};
  ssize_t n = ::recv(target.fd.get(), buf, sizeof buf - 1, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  EXPECT_STREQ(buf, "READY=1\nMAINPID=4242\n");
}

}  // namespace
}  // namespace nucleus
