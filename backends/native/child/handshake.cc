#include "backends/native/child/handshake.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::native {
namespace {
constexpr char kGo = 'G';
constexpr char kTerminal = 'T';
constexpr char kReady = 'R';
constexpr char kCgroupReady = 'C';
constexpr char kRootReady = 'P';
constexpr char kLandlock = 'L';
constexpr char kRootfsTree = 'M';
constexpr char kDevTree = 'D';
constexpr char kProcessStarted = 'I';

// A peer that ended with our messages unread resets the socket (ECONNRESET) where one that
// read them all closes it (EPIPE): either way it is gone, and every caller reads EPIPE so.
int gone_as_epipe(int err) noexcept { return err == ECONNRESET ? EPIPE : err; }

int send_byte(int sync_fd, char byte, int fd) noexcept {
  return gone_as_epipe(sys::send_with_fd(sync_fd, &byte, 1, fd));
}

// One message of `kind`, with the fd it may carry (*fd, or -1). EPIPE: EOF or another kind.
int wait_for_byte(int sync_fd, char kind, int* fd) noexcept {
  char byte = 0;
  ssize_t n = sys::recv_with_fd(sync_fd, &byte, 1, fd);
  if (n < 0) return errno;
  return n == 1 && byte == kind ? 0 : EPIPE;
}

// The same, for a message that must carry an fd.
int wait_for_fd(int sync_fd, char kind, int* fd) noexcept {
  int err = wait_for_byte(sync_fd, kind, fd);
  return err == 0 && *fd < 0 ? EPIPE : err;
}

}  // namespace

int send_terminal(int sync_fd, int master_fd) noexcept { return send_byte(sync_fd, kTerminal, master_fd); }
int send_ready(int sync_fd) noexcept { return send_byte(sync_fd, kReady, -1); }
CgroupJoinFiles open_cgroup_join_files(const Cgroup* cgroup) {
  CgroupJoinFiles out;
  out.owned = open_self_join_files(cgroup);
  for (const UniqueFd& fd : out.owned) out.fds.push_back(fd.get());
  if (out.fds.size() > sys::kMaxPassedFds) throw Error("join the container's cgroup", "too many hierarchies");
  return out;
}

int send_cgroup_ready(int sync_fd, const CgroupJoinFiles& join) noexcept {
  return gone_as_epipe(sys::send_with_fds(sync_fd, &kCgroupReady, 1, join.fds.data(), join.fds.size()));
}

int wait_for_cgroup_and_join(int sync_fd, bool* joining) noexcept {
  *joining = false;
  char byte = 0;
  int fds[sys::kMaxPassedFds];
  size_t count = 0;
  ssize_t n = sys::recv_with_fds(sync_fd, &byte, 1, fds, sys::kMaxPassedFds, &count);
  if (n < 0) return errno;
  int err = n == 1 && byte == kCgroupReady ? 0 : EPIPE;
  if (err == 0) {
    err = join_cgroup_through(std::span<const int>(fds, count));
    *joining = err != 0;
  }
  for (size_t i = 0; i < count; ++i) ::close(fds[i]);
  return err;
}

ChildMessage receive_child_message(int sync_fd) {
  ChildMessage out;
  alignas(ChildReport) char buf[sizeof(ChildReport)];
  int fd = -1;
  ssize_t n = sys::recv_with_fd(sync_fd, buf, sizeof buf, &fd);
  // A child that ended with messages of ours unread resets the socket, and the kernel gives
  // that error before what the child sent first (its report): read again, once.
  if (n < 0 && errno == ECONNRESET) n = sys::recv_with_fd(sync_fd, buf, sizeof buf, &fd);
  if (n < 0) throw_errno("read the container's start-up messages");
  out.fd.reset(fd);
  if (n == 0) return out;
  if (n == 1 && buf[0] == kReady) {
    out.kind = ChildMessage::kReady;
  } else if (n == 1 && buf[0] == kTerminal && out.fd) {
    out.kind = ChildMessage::kTerminal;
  } else if (n == 1 && buf[0] == kRootReady && out.fd) {
    out.kind = ChildMessage::kRootReady;
  } else if (n == 1 + static_cast<ssize_t>(sizeof(pid_t)) && buf[0] == kProcessStarted) {
    std::memcpy(&out.pid, buf + 1, sizeof out.pid);
    out.kind = ChildMessage::kProcessStarted;
  } else if (n == static_cast<ssize_t>(sizeof(ChildReport))) {
    std::memcpy(&out.report, buf, sizeof out.report);
    if (out.report.magic != ChildReport::kMagic) throw Error("read the container's start-up messages", "malformed record");
    out.kind = ChildMessage::kReport;
  } else {
    throw Error("read the container's start-up messages", "malformed message");
  }
  return out;
}

void send_go(int sync_fd) {
  if (int err = send_byte(sync_fd, kGo, -1)) throw Error("release the container process", "", err);
}

int send_rootfs_tree(int sync_fd, int tree_fd) noexcept { return send_byte(sync_fd, kRootfsTree, tree_fd); }

int send_root_ready(int sync_fd, int root_fd) noexcept { return send_byte(sync_fd, kRootReady, root_fd); }

int send_process_started(int sync_fd, pid_t pid) noexcept {
  char buf[1 + sizeof(pid_t)];
  buf[0] = kProcessStarted;
  std::memcpy(buf + 1, &pid, sizeof pid);
  return gone_as_epipe(sys::send_with_fd(sync_fd, buf, sizeof buf, -1));
}

int send_landlock(int sync_fd, int ruleset_fd) noexcept { return send_byte(sync_fd, kLandlock, ruleset_fd); }

int wait_for_landlock(int sync_fd, int* ruleset_fd) noexcept { return wait_for_fd(sync_fd, kLandlock, ruleset_fd); }

int wait_for_go(int sync_fd) noexcept {
  int fd = -1;
  int err = wait_for_byte(sync_fd, kGo, &fd);
  if (fd >= 0) ::close(fd);
  return err;
}

int send_dev_tree(int sync_fd, int tree_fd) noexcept { return send_byte(sync_fd, kDevTree, tree_fd); }

int wait_for_dev_tree(int sync_fd, int* tree_fd) noexcept { return wait_for_byte(sync_fd, kDevTree, tree_fd); }

int wait_for_rootfs_tree(int sync_fd, int* tree_fd) noexcept { return wait_for_fd(sync_fd, kRootfsTree, tree_fd); }

}  // namespace nucleus::native
