#include "network/client/container_network.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/host_network.h"
#include "network/ipam/recycle_marks.h"
#include "network/naming.h"
#include "network/protocol.h"

extern char** environ;

namespace nucleus::net {
namespace {

std::string helper_path(const std::string& given) {
  if (!given.empty()) return given;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) throw_errno("find nucleus-netd", "/proc/self/exe");
  std::string dir(self, static_cast<size_t>(n));
  return dir.substr(0, dir.rfind('/')) + "/nucleus-netd";
}

UniqueFd order_memfd(const AttachOrder& order) {
  UniqueFd fd(::memfd_create("nucleus-network-order", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) throw_errno("pass the network order", "memfd_create");
  std::string text = order_to_json(order);
  if (int err = sys::write_all(fd.get(), text.data(), text.size())) throw Error("pass the network order", "", err);
  ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  return fd;
}

// fork + exec of the helper with /dev/null at 0 and 1 (it must hold none of nucleus's
// pipes: a reader of nucleus's output would wait for the helper too) and `fds` at 2, 3,
// 4, ... (-1: that number closed). Between fork and exec: raw calls on data prepared before
// the fork, no allocation.
OwnedChild spawn_helper(const std::vector<std::string>& args, const std::vector<int>& fds) {
  UniqueFd null = sys::open("/dev/null", O_RDWR | O_CLOEXEC, "open /dev/null");
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("start nucleus-netd");
  if (pid == 0) {
    ::setsid();  // the terminal's ^C is nucleus's to forward, not the helper's to die of
    if (::dup2(null.get(), 0) < 0 || ::dup2(null.get(), 1) < 0) ::_exit(127);
    int high[8];
    for (size_t i = 0; i < fds.size(); ++i) high[i] = fds[i] < 0 ? -1 : ::fcntl(fds[i], F_DUPFD, 64);
    for (size_t i = 0; i < fds.size(); ++i) {
      int target = 2 + static_cast<int>(i);
      if (high[i] < 0) {
        ::close(target);
      } else if (::dup2(high[i], target) < 0) {
        ::_exit(127);
      }
    }
    sys::raw_close_range(2 + static_cast<unsigned>(fds.size()), ~0u, 0);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  return OwnedChild(pid, sys::pidfd_open(pid, "watch nucleus-netd"));
}

std::string receive(int fd) {
  std::vector<char> buffer(1 << 16);
  ssize_t n;
  int resets = 0;
  // ECONNRESET: netd ended with a message of ours unread (a "netns" sent after it failed
  // and reported); the kernel says so once, before the datagrams still queued for us.
  do {
    n = ::recv(fd, buffer.data(), buffer.size(), 0);
  } while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0)));
  return n > 0 ? std::string(buffer.data(), static_cast<size_t>(n)) : std::string();
}

// A connection to the resident netd of this build listening at path; empty when none does.
UniqueFd connect_to(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return {};
  path.copy(address.sun_path, path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

// The resident netd (network/daemon/server.h), started when none listens: its first start
// costs what a fork + exec of netd does, every later attach only a fork of a process whose
// libraries are loaded. Empty when it cannot be reached: the caller starts a netd of its own.
UniqueFd connect_to_server(const std::string& helper, const std::string& state_dir) {
  std::string tag = helper_tag(helper);
  if (tag.empty()) return {};
  ServerPaths paths = server_paths(state_dir, tag);
  if (UniqueFd fd = connect_to(paths.socket)) return fd;
  UniqueFd log = sys::open(state_dir + "/netd-server.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, "open nucleus-netd's log", 0600);
  std::vector<std::string> args = {helper, "serve", "--state-dir", state_dir, "--tag", tag};
  // NUCLEUS_NETWORK_POOL=N: how many prepared namespaces a server this call starts keeps
  // (0: none; every start then takes the path without one).
  if (const char* pool = std::getenv("NUCLEUS_NETWORK_POOL"); pool != nullptr && *pool != '\0') {
    args.insert(args.end(), {"--pool", pool});
  }
  // NUCLEUS_NETWORK_RECYCLE=0: each prepared namespace serves one container only (docs/
  // networking.md, "Recycled namespaces").
  if (const char* recycle = std::getenv("NUCLEUS_NETWORK_RECYCLE"); recycle != nullptr && std::string_view(recycle) == "0") {
    args.insert(args.end(), {"--recycle", "0"});
  }
  OwnedChild starter = spawn_helper(args, {log.get()});
  int status = starter.wait();  // it returns once its server accepts (or another one does)
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return connect_to(paths.socket);
}

// The attach served by a child of the resident netd: the log and the order go over the
// connection, which then is the control socket. Empty when the server could not take it
// (nothing was made then).
UniqueFd attach_through_server(const std::string& helper, const std::string& state_dir, const std::vector<int>& fds) {
  UniqueFd control = connect_to_server(helper, state_dir);
  if (!control) return {};
  if (sys::send_with_fds(control.get(), kServerAttach.data(), kServerAttach.size(), fds.data(), fds.size()) != 0) return {};
  return control;
}

void run_helper(const std::vector<std::string>& args, const std::string& step) {
  OwnedChild helper = spawn_helper(args, {STDERR_FILENO});
  int status = helper.wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error(step, "nucleus-netd " + args[1] + " failed (status " + std::to_string(status) + ")");
  }
}

}  // namespace

void check_network_request(const NetworkRequest& request, const std::string& state_dir) {
  // Reading the routes is 0.15 ms of a start here (docs/performance-notes.md, "Stop 33").
  // A base recorded for a bridge that is gone (a reboot of a persistent root, a link
  // deleted) serves nothing: netd makes the bridge again, so the routes are checked.
  const bool served = records_bridge_configuration(state_dir, request) && ::if_nametoindex(request.bridge.c_str()) != 0;
  validate_network_request(request, served ? std::vector<HostRoute>{} : read_host_routes());
  check_published_ports_free(request.publish);
}

ContainerNetwork ContainerNetwork::prepare(const NetworkRequest& request, const std::string& container_id,
                                           const AttachOptions& options) {
  if (auto problem = check_network_id(container_id)) throw Error("container id " + container_id, *problem);
  std::string helper = helper_path(options.helper);
  if (::access(helper.c_str(), X_OK) != 0) throw_errno("start nucleus-netd", helper);
  LeaseStore store(options.state_dir);  // makes the directories the log goes to
  ContainerNetwork network;
  network.log_ = options.log_file.empty() ? store.log_path(container_id) : options.log_file;
  UniqueFd log_fd = sys::open(network.log_, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, "open nucleus-netd's log", 0600);
  const bool takes = options.take_prepared_namespace && options.resident;
  UniqueFd order = order_memfd({container_id, options.state_dir, request, takes, takes && options.recyclable, takes});
  network.hostname_ = request.hostname;
  network.extra_hosts_ = request.extra_hosts;
  network.id_ = container_id;
  if (options.resident) network.control_ = attach_through_server(helper, options.state_dir, {log_fd.get(), order.get()});
  network.answer_pending_ = takes && network.control_;
  if (!network.control_) {
    auto [mine, theirs] = sys::socketpair(SOCK_SEQPACKET, "connect to nucleus-netd");
    network.helper_ = spawn_helper({helper, "attach"}, {log_fd.get(), order.get(), theirs.get()});
    network.control_ = std::move(mine);
  }
  return network;
}

ContainerNetwork::Prepared ContainerNetwork::prepared_namespace() {
  if (!answer_pending_) return {};
  answer_pending_ = false;
  char word[16];
  int fds[kMaxPreparedFds];
  size_t count = 0;
  ssize_t n;
  do {
    n = sys::recv_with_fds(control_.get(), word, sizeof word, fds, kMaxPreparedFds, &count);
  } while (n < 0 && errno == EINTR);
  std::vector<UniqueFd> got;
  for (size_t i = 0; i < count; ++i) got.emplace_back(fds[i]);
  // Anything but a prepared namespace (fresh, or the server gone: wait_attached says so):
  // the container makes its own.
  if (n != static_cast<ssize_t>(kReplyPrepared.size()) || kReplyPrepared != std::string_view(word, static_cast<size_t>(n)) ||
      (count != 1 && count != kMaxPreparedFds)) {
    return {};
  }
  Prepared p{std::move(got[0]), {}, {}};
  if (count == kMaxPreparedFds) {
    p.sysfs = std::move(got[1]);
    for (size_t i = 2; i < count; ++i) p.etc_files.push_back(std::move(got[i]));
  }
  return p;
}

void ContainerNetwork::give_namespace(int netns_fd, int container_pidfd) {
  if (!control_ || !lease_.id.empty() || namespace_given_) {
    throw Error("attach the network of " + id_, "not prepared, or given its namespace already");
  }
  (void)prepared_namespace();  // not asked for: the container made its own
  int fds[2] = {netns_fd, container_pidfd};
  // A netd that failed already has sent its report and gone: the send fails, the report
  // is still there to read.
  (void)sys::send_with_fds(control_.get(), kCommandNetns.data(), kCommandNetns.size(), fds, container_pidfd >= 0 ? 2 : 1);
  namespace_given_ = true;
}

void ContainerNetwork::enter(int netns_fd, int container_pidfd) {
  give_namespace(netns_fd, container_pidfd);
  wait_attached();
}

void ContainerNetwork::wait_attached() {
  if (!control_ || !lease_.id.empty() || !namespace_given_) throw Error("attach the network of " + id_, "no namespace given");
  std::string report = receive(control_.get());
  if (report.empty()) {
    control_.reset();
    std::string status = helper_ ? " (status " + std::to_string(helper_.wait()) + ")" : "";
    throw Error("attach the network of " + id_, "nucleus-netd ended without a report" + status + "; log " + log_);
  }
  try {
    lease_ = read_report(report);
  } catch (const Error&) {
    control_.reset();  // it removed what it made and exits
    if (helper_) helper_.wait();
    throw;
  }
}

bool ContainerNetwork::report_ready() const {
  pollfd p{control_.get(), POLLIN, 0};
  return control_ && ::poll(&p, 1, 0) == 1;
}

ContainerNetwork ContainerNetwork::attach(const NetworkRequest& request, int netns_fd, const std::string& container_id,
                                          const AttachOptions& options) {
  ContainerNetwork network = prepare(request, container_id, options);
  network.enter(netns_fd, options.container_pidfd);
  return network;
}

ContainerNetwork& ContainerNetwork::operator=(ContainerNetwork&& other) noexcept {
  if (this != &other) {
    try {
      release();
    } catch (const Error&) {
    }
    lease_ = std::move(other.lease_);
    hostname_ = std::move(other.hostname_);
    extra_hosts_ = std::move(other.extra_hosts_);
    id_ = std::move(other.id_);
    log_ = std::move(other.log_);
    namespace_given_ = other.namespace_given_;
    answer_pending_ = other.answer_pending_;
    control_ = std::move(other.control_);
    helper_ = std::move(other.helper_);
  }
  return *this;
}

ContainerNetwork::~ContainerNetwork() {
  try {
    release();
  } catch (const Error&) {
    // The helper tears down by itself once our end of the socket closes.
  }
}

const std::string& ContainerNetwork::host_interface() const {
  if (host_interface_.empty() && !lease_.id.empty()) host_interface_ = names_for_key(lease_.key).host_veth;
  return host_interface_;
}

EtcFiles ContainerNetwork::etc_files() const {
  return make_etc_files(hostname_, lease_.address4, lease_.address6, nameserver(), extra_hosts_, {lease_.gateway4, lease_.gateway6});
}

void ContainerNetwork::write_etc_files(const std::string& dir) const { net::write_etc_files(dir, etc_files()); }

void ContainerNetwork::release() {
  if (!control_) return;
  // The helper tears down after we are gone: the exiting container does not wait for the
  // veth, the chains and the lease. The lease goes last, so its address stays held until
  // nothing of the container is left, and an attach of the same id waits for that.
  std::string command(kCommandRelease);
  ssize_t sent = ::send(control_.get(), command.data(), command.size(), MSG_NOSIGNAL);
  control_.reset();  // had the send failed, the close alone tells it to tear down
  helper_.release();  // a netd of our own: reaped by whoever inherits it
  if (sent < 0 && !lease_.id.empty()) throw Error("release the network of " + id_, "nucleus-netd was gone");
}

void ContainerNetwork::detach() {
  if (!control_) return;
  std::string command(kCommandDetach);
  if (::send(control_.get(), command.data(), command.size(), MSG_NOSIGNAL) < 0) throw_errno("detach the network of " + id_);
  control_.reset();
  helper_.release();
}

int stop_network_servers(const std::string& state_dir) {
  int stopped = 0;
  for (const LeaseOwner& server : running_servers(state_dir)) {
    int fd = sys::raw_pidfd_open(server.pid);
    if (fd < 0) continue;
    UniqueFd pidfd(fd);
    if (!server.alive()) continue;  // checked once the pidfd exists: no reuse in between
    if (sys::raw_pidfd_send_signal(pidfd.get(), SIGTERM) == 0) ++stopped;
  }
  return stopped;
}

void keep_from_recycling(const std::string& container_id, const std::string& state_dir) {
  // No lease held (its network gone, the container with it): nothing to keep. Looked at
  // first without the lock, which would make the state directory.
  if (!attached_lease(container_id, state_dir)) return;
  LeaseStore store(state_dir);
  LeaseStore::Lock lock(store);
  // Under the lock, where the recycle checks again: a lease handed back to its standby
  // meanwhile is not the container's (its init has ended: the exec's setns fails).
  std::optional<Lease> lease = store.find(container_id);
  if (lease) mark_unrecyclable(lock, store, *lease, "a process was exec'd into it with NET_ADMIN, NET_RAW or SYS_ADMIN");
}

void cleanup_container_network(const std::string& container_id, const std::string& state_dir, const std::string& helper) {
  if (auto problem = check_network_id(container_id)) throw Error("container id " + container_id, *problem);
  run_helper({helper_path(helper), "cleanup", "--state-dir", state_dir, container_id}, "clean up the network of " + container_id);
}

std::optional<Lease> attached_lease(const std::string& container_id, const std::string& state_dir) {
  struct stat st {};
  // No network was ever attached under this root (or it is not ours to read): nothing made.
  if (check_network_id(container_id) || ::stat((state_dir + "/leases").c_str(), &st) != 0) return std::nullopt;
  try {
    std::optional<Lease> lease = LeaseStore(state_dir).find(container_id);
    if (lease && !lease->owner.alive()) return std::nullopt;  // its netd died: nothing of it is held
    return lease;
  } catch (const Error&) {
    return std::nullopt;  // unreadable: inspect shows the rest
  }
}

void collect_stale_networks(const std::string& state_dir, const std::string& remove_idle_bridge, const std::string& helper) {
  std::vector<std::string> args = {helper_path(helper), "collect", "--state-dir", state_dir};
  if (!remove_idle_bridge.empty()) {
    args.push_back("--remove-idle-bridge");
    args.push_back(remove_idle_bridge);
  }
  run_helper(args, "collect stale networks");
}

}  // namespace nucleus::net
