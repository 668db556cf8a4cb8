#include "network/client/user_mode.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/naming.h"

extern char** environ;

namespace nucleus::net {
namespace {

std::string record_path(const std::string& state_dir, const std::string& id) {
  return state_dir + "/pasta-" + network_key(id);
}

std::string port_spec(const PortPublish& p) {
  std::string address = p.host_ip ? p.host_ip->to_string() + "/" : "";
  return address + std::to_string(p.host_port) + ":" + std::to_string(p.container_port);
}

bool wait_for_exit(int pidfd, int timeout_ms) {
  pollfd p{pidfd, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

void stop(const LeaseOwner& owner, int pidfd) {
  if (pidfd < 0 || !owner.alive()) return;
  sys::raw_pidfd_send_signal(pidfd, SIGTERM);
  if (!wait_for_exit(pidfd, 5000)) sys::raw_pidfd_send_signal(pidfd, SIGKILL);
}

}  // namespace

void check_user_mode_request(const NetworkRequest& request) {
  if (!request.egress.empty()) {
    throw Error("--egress-allow", "egress rules need bridge networking (root): user-mode networking (pasta) cannot enforce them");
  }
  if (request.default_deny) {
    throw Error("--network", "untrusted's default-deny egress needs bridge networking (root): user-mode networking (pasta) cannot enforce it");
  }
  // What pasta would silently drop: it has no forwarder of nucleus's and picks no subnet.
  const NetworkRequest defaults;
  if (!request.resolvers.empty()) throw Error("--dns", "needs bridge networking (root): user-mode networking (pasta) uses the host's resolvers");
  if (!request.extra_hosts.empty()) {
    throw Error("--add-host", "needs bridge networking (root): user-mode networking (pasta) keeps the image's /etc/hosts");
  }
  for (const PortPublish& p : request.publish) {
    if (p.host_port == 0) {
      throw Error("--publish", "a host port of the kernel's choice (-p CONTAINER) needs bridge networking (root); "
                               "name one: -p HOST:CONTAINER");
    }
  }
  if (!(request.subnet4 == defaults.subnet4) || !(request.subnet6 == defaults.subnet6)) {
    throw Error("--subnet", "needs bridge networking (root): user-mode networking (pasta) takes the host's addressing");
  }
}

std::vector<std::string> pasta_arguments(const NetworkRequest& request, const UserModeOptions& options,
                                         const std::string& pid_file, bool joins_user_namespace) {
  std::vector<std::string> args = {options.pasta, "--config-net", "--quiet", "--no-map-gw", "-T", "none", "-U", "none"};
  std::string tcp, udp;
  for (const PortPublish& p : request.publish) {
    std::string& list = p.transport == Transport::kTcp ? tcp : udp;
    list += (list.empty() ? "" : ",") + port_spec(p);
  }
  args.insert(args.end(), {"-t", tcp.empty() ? "none" : tcp, "-u", udp.empty() ? "none" : udp});
  if (options.caller_is_root) args.insert(args.end(), {"--runas", "0"});
  args.insert(args.end(), {"--pid", pid_file, "--netns", "/proc/self/fd/" + std::to_string(kPastaNetnsFd)});
  if (joins_user_namespace) args.insert(args.end(), {"--userns", "/proc/self/fd/" + std::to_string(kPastaUsernsFd)});
  return args;
}

UserModeNetwork UserModeNetwork::attach(const NetworkRequest& request, pid_t container_pid, const std::string& container_id,
                                        const UserModeOptions& options) {
  check_user_mode_request(request);
  if (auto problem = check_network_id(container_id)) throw Error("container id " + container_id, *problem);
  if (::mkdir(options.state_dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create " + options.state_dir);
  std::string pid_file = record_path(options.state_dir, container_id) + ".pid";
  // The namespaces are opened here, with nucleus's rights, and passed open: pasta drops its
  // capabilities before it opens a path, and a container's init is not the caller's to
  // ptrace (another uid, not dumpable), so pasta could not open /proc/PID/ns itself.
  const std::string ns = "/proc/" + std::to_string(container_pid) + "/ns/";
  UniqueFd netns = sys::open(ns + "net", O_RDONLY | O_CLOEXEC, "open the container's network namespace");
  UniqueFd userns = sys::open(ns + "user", O_RDONLY | O_CLOEXEC, "open the container's user namespace");
  struct stat theirs, ours;
  const bool joins_user_namespace = ::fstat(userns.get(), &theirs) == 0 && ::stat("/proc/self/ns/user", &ours) == 0 &&
                                    (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev);
  std::vector<std::string> args = pasta_arguments(request, options, pid_file, joins_user_namespace);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  UniqueFd null = sys::open("/dev/null", O_RDWR | O_CLOEXEC, "open /dev/null");
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("start pasta");
  if (pid == 0) {
    ::setsid();
    for (int fd = 0; fd < 3; ++fd) ::dup2(null.get(), fd);
    // Moved above the numbers they go to, then placed (dup2 clears close-on-exec).
    int net = ::fcntl(netns.get(), F_DUPFD, 64), user = ::fcntl(userns.get(), F_DUPFD, 64);
    if (net < 0 || user < 0 || ::dup2(net, kPastaNetnsFd) < 0 || ::dup2(user, kPastaUsernsFd) < 0) ::_exit(127);
    sys::raw_close_range(kPastaUsernsFd + 1, ~0u, 0);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  // pasta's first process exits once the namespace is configured, leaving its daemon.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(pid_file.c_str());
    throw Error("start pasta for " + container_id, "pasta failed (status " + std::to_string(status) + ")");
  }
  UserModeNetwork network;
  std::string text = sys::read_file(pid_file, 64, "read pasta's pid file");
  ::unlink(pid_file.c_str());
  pid_t daemon = static_cast<pid_t>(std::stol(text));
  network.pidfd_ = sys::pidfd_open(daemon, "watch pasta");
  std::optional<sys::ProcessStat> stat = sys::process_stat(daemon);
  if (!stat) throw Error("start pasta for " + container_id, "pasta ended at once");
  network.pasta_ = {daemon, stat->start_time};
  network.record_ = record_path(options.state_dir, container_id);
  sys::create_file(network.record_, std::to_string(daemon) + " " + std::to_string(stat->start_time) + "\n", 0600,
                   "record pasta for " + container_id);
  return network;
}

UserModeNetwork::~UserModeNetwork() { release(); }

void UserModeNetwork::release() {
  if (!pidfd_) return;
  stop(pasta_, pidfd_.get());
  pidfd_.reset();
  if (!record_.empty()) ::unlink(record_.c_str());
}

void cleanup_user_mode_network(const std::string& container_id, const std::string& state_dir) {
  std::string record = record_path(state_dir, container_id);
  std::string text;
  try {
    text = sys::read_file(record, 64, "read pasta's record");
  } catch (const Error&) {
    return;  // nothing recorded: nothing to stop
  }
  LeaseOwner owner{};
  unsigned long long start = 0;
  if (std::sscanf(text.c_str(), "%d %llu", &owner.pid, &start) == 2) {
    owner.start_time = start;
    int fd = sys::raw_pidfd_open(owner.pid);
    UniqueFd pidfd(fd);
    stop(owner, fd);  // checked after the pidfd exists: a reused pid is left alone
  }
  ::unlink(record.c_str());
}

}  // namespace nucleus::net
