#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/sys/scoped.h"

// A small internet in network namespaces of the test's own (issue 16, "How to test it
// here"): "host", where nucleus's side runs and makes its bridge; "upstream", behind a
// veth, standing for the internet, with TCP/UDP echo servers on several addresses and a
// DNS server (dnsmasq) answering the test's names; one namespace per "container". Nothing
// outside them is addressed. The destructor kills what the lab started, collects leases,
// removes the bridge and nucleus's tables, and deletes the namespaces, on every way out.
namespace nucleus::test {

struct CommandResult {
  int status = -1;  // exit status, or 128+N for signal N
  std::string output;  // stdout and stderr
};

// Addresses of the upstream namespace (TEST-NET ranges; they exist only in the lab).
struct Upstream {
  static constexpr const char* kAllowed = "203.0.113.10";      // allowed by CIDR
  static constexpr const char* kNamed = "203.0.113.12";        // allowed.test
  static constexpr const char* kWildcard = "203.0.113.13";     // *.wild.test
  static constexpr const char* kDenied = "203.0.113.20";       // denied.test, never allowed
  static constexpr const char* kDns = "203.0.113.53";          // the resolver nucleus forwards to
  static constexpr const char* kOtherDns = "203.0.113.54";     // a DNS server the container must not reach
  static constexpr const char* kMetadata = "169.254.169.254";
  static constexpr const char* kAllowed6 = "2001:db8:10::10";  // allowed by CIDR 2001:db8:10::/64
  static constexpr const char* kDenied6 = "2001:db8:20::20";
  static constexpr const char* kHostUplink = "198.51.100.1";   // the host namespace's own address
  static constexpr const char* kHostUplink6 = "2001:db8:ff::1";
};

inline constexpr int kEchoPort = 7;
inline const std::string kEcho = std::to_string(kEchoPort);
// Where the tests bind the driver in a container they start.
inline const std::string kDriverInside = "/opt/driver";

class NetworkLab {
 public:
  NetworkLab();
  ~NetworkLab();
  NetworkLab(const NetworkLab&) = delete;
  NetworkLab& operator=(const NetworkLab&) = delete;

  const std::string& host() const { return host_; }
  const std::string& upstream() const { return upstream_; }
  const std::string& state_dir() const { return state_dir_.path(); }
  // The state root of the real nucleus containers the lab's tests start (`nucleus --root`):
  // their networks' state is <root>/.network, collected and checked like the driver's.
  std::string nucleus_root() const { return state_dir_.path() + "/root"; }

  // A new empty network namespace standing for a container.
  std::string add_container();

  // Runs a command inside a namespace (ip netns exec) and waits for it.
  CommandResult run_in(const std::string& ns, const std::vector<std::string>& args);
  // The test driver (tests/integration/network_driver.cc) inside a namespace.
  CommandResult driver_in(const std::string& ns, const std::vector<std::string>& args);
  // Whether a TCP probe to the host namespace's 127.0.0.1:port is answered within 30 s (a
  // container's published port, once its network is up).
  bool loopback_answers(const std::string& port);
  // Starts an echo server on kEchoPort in ns; returns its pid once it listens.
  pid_t start_echo_server(const std::string& ns);

  // A network attached by the driver standing for nucleus, in the host namespace.
  struct Attached {
    pid_t driver = -1;   // the process holding the ContainerNetwork
    pid_t helper = -1;   // its nucleus-netd
    std::string address4, address6, nameserver;
    std::string etc_dir;
  };
  // Attaches container_ns as container `id` with the driver's extra arguments (--egress,
  // --publish, ...). On failure returns the driver's exit status and output instead.
  Attached attach(const std::string& container_ns, const std::string& id, const std::vector<std::string>& extra,
                  CommandResult* failure = nullptr);
  // Asks the driver to release and waits for it; true when it printed "released".
  bool release(const Attached& attached);
  // Asks the driver to detach and waits for it; true when it printed "detached".
  bool detach(const Attached& attached);
  // kill -9 of a process the lab started (a driver) or one it was told about (a helper).
  void kill_hard(pid_t pid);
  // The resident netd server of a state directory (default: the lab's), or -1.
  pid_t server(const std::string& dir = "");
  // Waits (poll on a pidfd, 10 s at most) for a process to end; false if it did not.
  bool wait_gone(pid_t pid);

  // What is left of container networks in the host namespace: leases, nv* links,
  // per-container chains or sets, map elements. Empty when nothing. Standbys (prepared
  // namespaces: the resident netd's, no container's) are ended first: the servers holding
  // any are stopped and their teardown waited for, which is itself checked by what is left.
  std::string leftovers();
  // kill -9 of a nucleus the test forked (reaped here), then what is left once its keeper and
  // netd have had 10 s to clean up: "" when nothing.
  std::string leftovers_after_killing(pid_t nucleus);
  // leftovers() once they are none, or after 10 s: what netd tears down after its container
  // ended, in its own time.
  std::string settled_leftovers();
  // `args` run in the host namespace in the background, with the test's stdio; the pid is
  // the caller's to end and reap (ip netns exec execs the command itself).
  pid_t start_in_host(const std::vector<std::string>& args);
  // Ends what start_in_host started (nucleus run: SIGTERM reaches the workload; what ignores
  // it for 5 s is killed) and reaps it.
  static void end_in_host(pid_t pid);
  // The leases of a state directory (default: nucleus's under the lab's root), as JSON texts.
  std::vector<std::string> leases(const std::string& dir = "");
  // How many standbys of nucleus's state directory are ready (their leases say so once the
  // server has their namespace).
  size_t standbys();
  // The same plus the bridge and nucleus's tables, after collect --remove-idle-bridge.
  std::string leftovers_with_base();

  // User-mode networking: a container made by `unshare -Urn` in the host namespace, running
  // an echo server; pasta attached to it by the driver (as root); commands inside it.
  pid_t start_user_container();
  pid_t user_attach(pid_t container, const std::string& id, const std::vector<std::string>& extra);
  bool release_user(pid_t pasta);
  CommandResult run_command_as_container(pid_t container, const std::vector<std::string>& args);

  // The bridge's IPv6 link-local address (the host, as a container sees it on its link).
  std::string bridge_link_local();

  std::string helper() const;
  static std::string driver();

 private:
  struct Process;
  pid_t spawn(const std::vector<std::string>& argv, int* stdin_fd, int* stdout_fd);
  void setup();
  bool tell(pid_t driver, const std::string& command, const std::string& answer);
  void teardown() noexcept;
  void end_standbys();

  std::string suffix_;
  std::string host_, upstream_;
  std::vector<std::string> containers_;
  TempDir state_dir_{"/tmp", "nucleus-net-state-"};
  TempDir scratch_{"/tmp", "nucleus-net-lab-"};
  std::vector<std::unique_ptr<Process>> processes_;
  std::vector<std::pair<pid_t, pid_t>> pastas_;  // pasta, the driver holding it
};

}  // namespace nucleus::test
