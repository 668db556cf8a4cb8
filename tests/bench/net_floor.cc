// scripts/bench's kernel floor for `--network bridge` (docs/performance.md, issue 16): what
// this machine's kernel takes, with no runtime at all, to give a short-lived process a
// network of its own on a bridge, beside a bare network namespace (what `--network none`
// makes). Run inside the bench's own "host" namespace:
//
//   net_floor ROUNDS RUNS     ->  {"netns": [ms...], "bridge": [ms...], "cpu_ms": {...}}
//
// Each run clones a child into a new network namespace; "bridge" adds what netd's own
// netlink steps give a container (network/netlink/links.h, the same calls): a veth pair
// created with its peer in the child's namespace, the host end up on a bridge, lo and the
// peer up, an IPv4 and an IPv6 address, default routes. The child then exits, and its
// namespace and veth go with it (the kernel's clean-up runs beside the next run, as it does
// between back-to-back containers). No nftables, lease, /etc files, DNS or process of
// netd's: nucleus does all of these and more. The two cases alternate in
// rounds; each run is timed from before the clone to the child's reaping, and the machine's
// CPU time (all CPUs, /proc/stat, kernel threads included) is summed per case.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/ipam/lease_store.h"
#include "network/netlink/links.h"

namespace {

using nucleus::net::Lease;
using nucleus::net::NetlinkSocket;

constexpr const char* kBridge = "nfloor0";

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Busy time of all CPUs so far, in milliseconds (user, nice, system, irq, softirq).
double cpu_busy_ms() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  std::array<long, 7> t{};
  stat >> cpu >> t[0] >> t[1] >> t[2] >> t[3] >> t[4] >> t[5] >> t[6];
  return static_cast<double>(t[0] + t[1] + t[2] + t[5] + t[6]) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

nucleus::IpAddress ip(const std::string& text) { return *nucleus::parse_ip(text); }

// The run's addresses in the floor's own subnets (a lease as netd would hold one).
Lease lease_for(int run) {
  Lease l;
  const int host = 2 + run % 250, net = 1 + run / 250 % 200;
  l.address4 = ip("10.199." + std::to_string(net) + "." + std::to_string(host));
  l.address6 = ip("fd99::" + std::to_string(net) + ":" + std::to_string(host));
  l.gateway4 = ip("10.199.0.1");
  l.gateway6 = ip("fd99::1");
  l.prefix4 = 16;
  l.prefix6 = 64;
  l.bridge = kBridge;
  return l;
}

std::array<char, 64 * 1024> child_stack;
int release[2];

int child_waits(void*) {
  ::close(release[1]);  // its own copy: a parent that gives up (closes its end) ends the read
  char c;
  return ::read(release[0], &c, 1) == 1 ? 0 : 1;
}

double one_run(const NetlinkSocket& host, bool bridged, int run) {
  double start = now_ms();
  if (::pipe2(release, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  int pid = ::clone(child_waits, child_stack.data() + child_stack.size(), CLONE_NEWNET | SIGCHLD, nullptr);
  if (pid < 0) throw std::runtime_error("clone");
  try {
    if (bridged) {
      nucleus::UniqueFd netns = nucleus::sys::open("/proc/" + std::to_string(pid) + "/ns/net", O_RDONLY | O_CLOEXEC, "netns");
      nucleus::net::create_veth(host, "nfl" + std::to_string(run % 10000), kBridge, netns.get(), "eth0");
      nucleus::net::configure_container_side(NetlinkSocket::in_namespace(netns.get()), "eth0", lease_for(run));
    }
  } catch (...) {
    ::close(release[1]);
    ::waitpid(pid, nullptr, 0);
    throw;
  }
  (void)!::write(release[1], "go", 1);
  ::close(release[0]);
  ::close(release[1]);
  ::waitpid(pid, nullptr, 0);
  return now_ms() - start;
}

void print_list(const char* key, const std::vector<double>& values) {
  std::printf("\"%s\": [", key);
  for (size_t i = 0; i < values.size(); ++i) std::printf("%s%.4f", i ? ", " : "", values[i]);
  std::printf("]");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: net_floor ROUNDS RUNS\n");
    return 125;
  }
  int rounds = std::stoi(argv[1]), runs = std::stoi(argv[2]);
  NetlinkSocket host;
  if (nucleus::net::link_exists(host, kBridge)) {
    std::fprintf(stderr, "net_floor: %s exists already (another run's?)\n", kBridge);
    return 1;
  }
  try {
    nucleus::net::ensure_bridge(host, kBridge, lease_for(0));
    std::vector<double> times[2];
    double cpu[2] = {0, 0};
    int run = 0;
    for (int r = 0; r < rounds; ++r) {
      for (int bridged = 0; bridged < 2; ++bridged) {
        double busy = cpu_busy_ms();
        for (int i = 0; i < runs; ++i) times[bridged].push_back(one_run(host, bridged == 1, run++));
        ::usleep(200 * 1000);  // the last run's clean-up, counted with its case
        cpu[bridged] += cpu_busy_ms() - busy;
      }
    }
    nucleus::net::delete_link(host, kBridge);
    double total = static_cast<double>(rounds) * runs;
    std::printf("{");
    print_list("netns", times[0]);
    std::printf(", ");
    print_list("bridge", times[1]);
    std::printf(", \"cpu_ms\": {\"netns\": %.4f, \"bridge\": %.4f}}\n", cpu[0] / total, cpu[1] / total);
  } catch (const std::exception& e) {
    nucleus::net::delete_link(host, kBridge);  // ours: it did not exist before
    std::fprintf(stderr, "net_floor: %s\n", e.what());
    return 1;
  }
  return 0;
}
