// scripts/bench's kernel floor for `--network bridge` (docs/performance.md, issue 16): what
// this machine's kernel takes, with no runtime at all, to give a short-lived process a
// network of its own on a bridge, beside a bare network namespace (what `--network none`
// makes). Run inside the bench's own "host" namespace:
//
//   net_floor ROUNDS RUNS     ->  {"netns": [ms...], "bridge": [ms...], "cpu_ms": {...}}
//
// Each run clones a child into a new network namespace; "bridge" adds the least a bridged
// container has: a veth pair created with its peer in the child's namespace, the host end
// on a bridge and up, the peer and lo up, one IPv4 address and a default route. The child
// then exits, and its namespace and veth go with it (the kernel's clean-up runs beside the
// next run, as it does between back-to-back containers). No nftables, IPv6, lease, /etc
// files or DNS: nucleus (and podman) do all of these and more. The two cases alternate in
// rounds; each run is timed from before the clone to the child's reaping, and the machine's
// CPU time (all CPUs, /proc/stat, kernel threads included) is summed per case.
#include <fcntl.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
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

namespace {

constexpr const char* kBridge = "nfloor0";

[[noreturn]] void fail(const std::string& what, int error) {
  throw std::runtime_error(what + ": " + nl_geterror(error));
}

void check(const std::string& what, int error) {
  if (error < 0) fail(what, error);
}

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

struct Socket {
  nl_sock* sock = nl_socket_alloc();
  Socket() { check("netlink connect", nl_connect(sock, NETLINK_ROUTE)); }
  ~Socket() { nl_socket_free(sock); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
};

// A route socket in the namespace of `pid`: made there, used from here.
nl_sock* socket_in(int pid, Socket& holder) {
  int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int theirs = ::open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
  if (self < 0 || theirs < 0 || ::setns(theirs, CLONE_NEWNET) != 0) throw std::runtime_error("setns");
  nl_socket_free(holder.sock);
  holder.sock = nl_socket_alloc();
  int error = nl_connect(holder.sock, NETLINK_ROUTE);
  ::setns(self, CLONE_NEWNET);
  ::close(self);
  ::close(theirs);
  check("netlink connect in the child's namespace", error);
  return holder.sock;
}

void set_up(nl_sock* sock, const char* name) {
  rtnl_link* link = nullptr;
  check(std::string("get ") + name, rtnl_link_get_kernel(sock, 0, name, &link));
  rtnl_link* change = rtnl_link_alloc();
  rtnl_link_set_flags(change, IFF_UP);
  int error = rtnl_link_change(sock, link, change, 0);
  rtnl_link_put(change);
  rtnl_link_put(link);
  check(std::string("up ") + name, error);
}

int index_of(nl_sock* sock, const char* name) {
  rtnl_link* link = nullptr;
  check(std::string("get ") + name, rtnl_link_get_kernel(sock, 0, name, &link));
  int index = rtnl_link_get_ifindex(link);
  rtnl_link_put(link);
  return index;
}

void add_address(nl_sock* sock, int index, const std::string& cidr) {
  nl_addr* local = nullptr;
  check("parse " + cidr, nl_addr_parse(cidr.c_str(), AF_INET, &local));
  rtnl_addr* address = rtnl_addr_alloc();
  rtnl_addr_set_local(address, local);
  rtnl_addr_set_ifindex(address, index);
  int error = rtnl_addr_add(sock, address, 0);
  rtnl_addr_put(address);
  nl_addr_put(local);
  check("address " + cidr, error);
}

void add_default_route(nl_sock* sock, int index, const char* gateway) {
  nl_addr *any = nullptr, *via = nullptr;
  check("parse", nl_addr_parse("0.0.0.0/0", AF_INET, &any));
  check("parse", nl_addr_parse(gateway, AF_INET, &via));
  rtnl_route* route = rtnl_route_alloc();
  rtnl_route_set_dst(route, any);
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  rtnl_route_nh_set_gateway(hop, via);
  rtnl_route_nh_set_ifindex(hop, index);
  rtnl_route_add_nexthop(route, hop);
  int error = rtnl_route_add(sock, route, 0);
  rtnl_route_put(route);
  nl_addr_put(any);
  nl_addr_put(via);
  check("default route", error);
}

void make_bridge(nl_sock* sock) {
  rtnl_link* bridge = rtnl_link_alloc();
  rtnl_link_set_type(bridge, "bridge");
  rtnl_link_set_name(bridge, kBridge);
  rtnl_link_set_flags(bridge, IFF_UP);
  int error = rtnl_link_add(sock, bridge, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(bridge);
  check("make the bridge", error);
  add_address(sock, index_of(sock, kBridge), "10.199.0.1/16");
}

void remove_bridge(nl_sock* sock) {
  rtnl_link* bridge = rtnl_link_alloc();
  rtnl_link_set_name(bridge, kBridge);
  rtnl_link_delete(sock, bridge);
  rtnl_link_put(bridge);
}

// The least a bridged container's network is, made from here for the child `pid`.
void bridge_network(nl_sock* sock, int pid, int run, int bridge_index) {
  rtnl_link* veth = rtnl_link_veth_alloc();
  std::string name = "nfl" + std::to_string(run % 10000);
  rtnl_link_set_name(veth, name.c_str());
  rtnl_link_set_master(veth, bridge_index);
  rtnl_link_set_flags(veth, IFF_UP);
  rtnl_link* peer = rtnl_link_veth_get_peer(veth);
  rtnl_link_set_name(peer, "eth0");
  rtnl_link_set_ns_pid(peer, pid);
  int error = rtnl_link_add(sock, veth, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(veth);
  check("veth", error);
  Socket inside;
  nl_sock* in = socket_in(pid, inside);
  set_up(in, "lo");
  set_up(in, "eth0");
  int eth0 = index_of(in, "eth0");
  add_address(in, eth0, "10.199." + std::to_string(1 + run / 250 % 200) + "." + std::to_string(2 + run % 250) + "/16");
  add_default_route(in, eth0, "10.199.0.1");
}

std::array<char, 64 * 1024> child_stack;
int release[2];

int child_waits(void*) {
  ::close(release[1]);  // its own copy: a parent that gives up (closes its end) ends the read
  char c;
  return ::read(release[0], &c, 1) == 1 ? 0 : 1;
}

double one_run(nl_sock* sock, bool bridged, int run, int bridge_index) {
  double start = now_ms();
  if (::pipe2(release, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  int pid = ::clone(child_waits, child_stack.data() + child_stack.size(), CLONE_NEWNET | SIGCHLD, nullptr);
  if (pid < 0) throw std::runtime_error("clone");
  try {
    if (bridged) bridge_network(sock, pid, run, bridge_index);
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
  Socket host;
  bool made = false;
  try {
    make_bridge(host.sock);
    made = true;
    int bridge_index = index_of(host.sock, kBridge);
    std::vector<double> times[2];
    double cpu[2] = {0, 0};
    int run = 0;
    for (int r = 0; r < rounds; ++r) {
      for (int bridged = 0; bridged < 2; ++bridged) {
        double busy = cpu_busy_ms();
        for (int i = 0; i < runs; ++i) times[bridged].push_back(one_run(host.sock, bridged == 1, run++, bridge_index));
        ::usleep(200 * 1000);  // the last run's clean-up, counted with its case
        cpu[bridged] += cpu_busy_ms() - busy;
      }
    }
    remove_bridge(host.sock);
    double total = static_cast<double>(rounds) * runs;
    std::printf("{");
    print_list("netns", times[0]);
    std::printf(", ");
    print_list("bridge", times[1]);
    std::printf(", \"cpu_ms\": {\"netns\": %.4f, \"bridge\": %.4f}}\n", cpu[0] / total, cpu[1] / total);
  } catch (const std::exception& e) {
    if (made) remove_bridge(host.sock);  // not another run's
    std::fprintf(stderr, "net_floor: %s\n", e.what());
    return 1;
  }
  return 0;
}
