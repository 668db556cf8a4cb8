#include "backends/native/handshake.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace nucleus::native {
namespace {
constexpr char kGo = 'G';
constexpr char kTerminal = 'T';
constexpr char kReady = 'R';
constexpr char kCgroupReady = 'C';

int send_byte(int sync_fd, char byte, int fd) noexcept {
  iovec iov = {&byte, 1};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  while (::sendmsg(sync_fd, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}
}  // namespace

int send_terminal(int sync_fd, int master_fd) noexcept { return send_byte(sync_fd, kTerminal, master_fd); }
int send_ready(int sync_fd) noexcept { return send_byte(sync_fd, kReady, -1); }
int send_cgroup_ready(int sync_fd) noexcept { return send_byte(sync_fd, kCgroupReady, -1); }

int wait_for_cgroup(int sync_fd) noexcept {
  char byte = 0;
  ssize_t n;
  do {
    n = ::recv(sync_fd, &byte, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  return n == 1 && byte == kCgroupReady ? 0 : EPIPE;
}

ChildMessage receive_child_message(int sync_fd) {
  ChildMessage out;
  alignas(ChildReport) char buf[sizeof(ChildReport)];
  iovec iov = {buf, sizeof buf};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("read the container's start-up messages");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      out.fd.reset(fd);
    }
  }
  if (n == 0) return out;
  if (n == 1 && buf[0] == kReady) {
    out.kind = ChildMessage::kReady;
  } else if (n == 1 && buf[0] == kTerminal && out.fd) {
    out.kind = ChildMessage::kTerminal;
  } else if (n == static_cast<ssize_t>(sizeof(ChildReport))) {
    std::memcpy(&out.report, buf, sizeof out.report);
    if (out.report.magic != ChildReport::kMagic) throw Error("read the container's start-up messages", "malformed record");
    out.kind = ChildMessage::kReport;
  } else {
    throw Error("read the container's start-up messages", "malformed message");
  }
  return out;
}

void send_go(int sync_fd, int tree_fd) {
  if (int err = send_byte(sync_fd, kGo, tree_fd)) throw Error("release the container process", "", err);
}

int wait_for_go(int sync_fd, int* tree_fd) noexcept {
  *tree_fd = -1;
  char byte = 0;
  iovec iov = {&byte, 1};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  if (n == 0 || byte != kGo) return EPIPE;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(tree_fd, CMSG_DATA(c), sizeof(int));
    }
  }
  return 0;
}

}  // namespace nucleus::native
