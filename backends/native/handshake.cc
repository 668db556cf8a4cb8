#include "backends/native/handshake.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace nucleus::native {
namespace {
constexpr char kGo = 'G';
}

void send_go(int sync_fd, int tree_fd) {
  char byte = kGo;
  iovec iov = {&byte, 1};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (tree_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &tree_fd, sizeof(int));
  }
  while (::sendmsg(sync_fd, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw_errno("release the container process");
  }
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
