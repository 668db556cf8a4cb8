// The network tests' driver: stands for nucleus (attach, release, cleanup, collect through
// the same API the backends call) and for the programs inside the test's namespaces (echo
// servers, probes, a resolver). Run by tests/integration/network_*_test.cc inside their own
// namespaces with `ip netns exec`; never on the machine's own network.
//
//   attach --id ID --netns PATH --state-dir DIR --helper PATH [--publish P]... [--egress R]...
//          [--egress-file F] [--default-deny] [--container-pid PID] [--resolver IP] [--subnet4 C] [--subnet6 C] [--etc-dir DIR]
//      prints "attached ADDR4 ADDR6 NAMESERVER HELPER_PID ATTACH_MICROSECONDS" (the last for
//      measuring, docs/networking.md; never asserted), then reads stdin: "release"
//      releases and prints "released"; "detach" detaches
//      (the helper then lives until PID ends) and prints "detached"; EOF exits (the destructor releases)
//   user-attach --pid PID --id ID --state-dir DIR [--root] [--publish P]... [--egress R]...
//      pasta for the container whose init is PID: prints "attached PASTA_PID", then as attach
//   cleanup --id ID --state-dir DIR --helper PATH
//   collect --state-dir DIR --helper PATH [--remove-idle-bridge BR]
//   servers --state-dir DIR   the resident netd servers' pids, one a line
//   stop-servers --state-dir DIR
//   attach ... --no-resident  a netd of the driver's own (fork + exec), not the server's child
//   attach ... --prepare-only only ContainerNetwork::prepare (prints "attached - - - 0 0us"),
//                             then as attach: the network of a container that is never made
//   echo-server PORT          TCP and UDP, IPv4 and IPv6: answers "LOCALADDR PAYLOAD"
//   hold-socket NETNS READY   a socket of the namespace at NETNS held from outside it; READY
//                             made once it is; then waits until killed
//   probe icmp ADDR           an echo request: "reply from ADDR" or an error (exit 1)
//   probe tcp|udp ADDR PORT   prints the answer (exit 0) or the error (exit 1)
//   resolve NAME SERVER [aaaa] [tcp]   prints "rcode N" and one address per line
//   probe/resolve ... --wait-ms MS   how long each step waits (3000): a test expecting a
//                             refusal (a drop) waits less; an answer comes in milliseconds
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/client/container_network.h"
#include "network/client/user_mode.h"
#include "network/dns/dns_message.h"
#include "network/protocol.h"

namespace nt = nucleus::net;
using nucleus::Error;

namespace {

struct Args {
  std::vector<std::string> items;
  std::string value(const std::string& name, const std::string& fallback = "") const {
    for (size_t i = 0; i + 1 < items.size(); ++i) if (items[i] == name) return items[i + 1];
    return fallback;
  }
  std::vector<std::string> values(const std::string& name) const {
    std::vector<std::string> out;
    for (size_t i = 0; i + 1 < items.size(); ++i) if (items[i] == name) out.push_back(items[i + 1]);
    return out;
  }
  bool flag(const std::string& name) const {
    for (const std::string& i : items) if (i == name) return true;
    return false;
  }
};

sockaddr_storage endpoint(const std::string& address, uint16_t port, socklen_t* len) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, address.substr(0, address.find('%')).c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    if (address.find('%') != std::string::npos) v6->sin6_scope_id = ::if_nametoindex(address.substr(address.find('%') + 1).c_str());
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
  } else {
    throw Error("address", address);
  }
  return s;
}

bool wait_readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

// How long a probe's connect and answer each wait (--wait-ms).
int g_wait_ms = 3000;

// A socket connected to address:port (TCP: the handshake done, within g_wait_ms).
int connect_to(const std::string& address, uint16_t port, int type) {
  socklen_t len;
  sockaddr_storage s = endpoint(address, port, &len);
  int fd = ::socket(s.ss_family, type | SOCK_NONBLOCK, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&s), len) != 0 && errno != EINPROGRESS) nucleus::throw_errno("connect");
  if (type == SOCK_STREAM) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, g_wait_ms) <= 0) throw Error("connect", "timed out");
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) throw Error("connect", "", err);
  }
  return fd;
}

std::string send_and_receive(int fd, const std::string& payload) {
  if (::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL) < 0) nucleus::throw_errno("send");
  if (!wait_readable(fd, g_wait_ms)) throw Error("receive", "timed out");
  char buffer[65536];
  ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  if (n < 0) nucleus::throw_errno("receive");
  return std::string(buffer, static_cast<size_t>(n));
}

// An ICMP (or ICMPv6) echo: "reply from ADDR", or an error when none came within 3 s.
int ping(const std::string& address) {
  socklen_t len;
  sockaddr_storage s = endpoint(address, 0, &len);
  bool v4 = s.ss_family == AF_INET;
  int fd = ::socket(s.ss_family, SOCK_RAW, v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6});
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&s), len) != 0) nucleus::throw_errno("icmp socket");
  uint8_t echo[16] = {static_cast<uint8_t>(v4 ? 8 : 128), 0, 0, 0, 0x12, 0x34, 0, 1};
  if (v4) {  // the IPv4 checksum is ours to compute; the kernel fills ICMPv6's
    uint32_t sum = 0;
    for (size_t i = 0; i < sizeof echo; i += 2) sum += static_cast<uint32_t>(echo[i] << 8 | echo[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    echo[2] = static_cast<uint8_t>(~sum >> 8);
    echo[3] = static_cast<uint8_t>(~sum);
  }
  if (::send(fd, echo, sizeof echo, 0) < 0) nucleus::throw_errno("send echo request");
  for (int tries = 0; tries < 16 && wait_readable(fd, g_wait_ms); ++tries) {
    uint8_t buffer[1500];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) nucleus::throw_errno("receive echo reply");
    size_t at = v4 ? static_cast<size_t>(buffer[0] & 0x0f) * 4 : 0;  // raw IPv4 includes the header
    if (static_cast<size_t>(n) > at && buffer[at] == (v4 ? 0 : 129)) {
      std::cout << "reply from " << address << "\n";
      return 0;
    }
  }
  throw Error("ping " + address, "no echo reply");
}

int probe(const Args& a) {
  g_wait_ms = std::stoi(a.value("--wait-ms", "3000"));
  if (a.items.at(1) == "icmp") return ping(a.items.at(2));
  int type = a.items.at(1) == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  int fd = connect_to(a.items.at(2), static_cast<uint16_t>(std::stoi(a.items.at(3))), type);
  std::cout << send_and_receive(fd, "ping") << "\n";
  ::close(fd);
  return 0;
}

int resolve(const Args& a) {
  g_wait_ms = std::stoi(a.value("--wait-ms", "3000"));
  bool tcp = a.flag("tcp");
  uint16_t type = a.flag("aaaa") ? nt::dns::kTypeAAAA : nt::dns::kTypeA;
  std::vector<uint8_t> query = nt::dns::make_query(0x4242, a.items.at(1), type);
  int fd = connect_to(a.items.at(2), 53, tcp ? SOCK_STREAM : SOCK_DGRAM);
  std::string wire(query.begin(), query.end());
  if (tcp) wire = std::string{static_cast<char>(query.size() >> 8), static_cast<char>(query.size() & 0xff)} + wire;
  std::string answer = send_and_receive(fd, wire);
  if (tcp) answer = answer.substr(2);
  auto parsed = nt::dns::parse_answer(std::span(reinterpret_cast<const uint8_t*>(answer.data()), answer.size()));
  if (!parsed) throw Error("resolve", "malformed answer");
  std::cout << "rcode " << int(parsed->rcode) << "\n";
  for (const auto& r : parsed->addresses) std::cout << r.address.to_string() << "\n";
  return 0;
}

// hold-socket NETNS READY: a UDP socket made in the network namespace at path NETNS, held
// from this process's own namespace (what a container's socket passed out over a unix socket
// is); READY is created once it is, then this waits until killed.
int hold_socket(const Args& a) {
  int own = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = ::open(a.items.at(1).c_str(), O_RDONLY | O_CLOEXEC);
  if (own < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) throw Error("hold-socket", "enter " + a.items.at(1));
  int held = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (::setns(own, CLONE_NEWNET) != 0 || held < 0) throw Error("hold-socket", "a socket in " + a.items.at(1));
  std::ofstream(a.items.at(2)) << "held\n";
  for (;;) ::pause();
}

int echo_server(const Args& a) {
  uint16_t port = static_cast<uint16_t>(std::stoi(a.items.at(1)));
  std::vector<pollfd> fds;
  for (int family : {AF_INET, AF_INET6}) {
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      int fd = ::socket(family, type, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      ::setsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, family == AF_INET ? IP_PKTINFO : IPV6_RECVPKTINFO, &one, sizeof one);
      socklen_t len;
      sockaddr_storage s = endpoint(family == AF_INET ? "0.0.0.0" : "::", port, &len);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&s), len) != 0) nucleus::throw_errno("bind echo server");
      if (type == SOCK_STREAM) ::listen(fd, 64);
      fds.push_back({fd, POLLIN, 0});
    }
  }
  std::cout << "listening" << std::endl;
  auto local_of = [](const sockaddr_storage& s) {
    char text[INET6_ADDRSTRLEN] = {};
    if (s.ss_family == AF_INET) ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&s)->sin_addr, text, sizeof text);
    else ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&s)->sin6_addr, text, sizeof text);
    return std::string(text);
  };
  while (::poll(fds.data(), fds.size(), -1) > 0) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      bool stream = i % 2 == 0;
      char buffer[2048];
      if (stream) {
        int c = ::accept(fds[i].fd, nullptr, nullptr);
        if (c < 0) continue;
        sockaddr_storage local{};
        socklen_t len = sizeof local;
        ::getsockname(c, reinterpret_cast<sockaddr*>(&local), &len);
        if (wait_readable(c, 3000)) {
          ssize_t n = ::recv(c, buffer, sizeof buffer, 0);
          std::string reply = local_of(local) + " " + std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0);
          ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
        ::close(c);
      } else {
        sockaddr_storage peer{};
        char control[256];
        iovec iov{buffer, sizeof buffer};
        msghdr m{};
        m.msg_name = &peer;
        m.msg_namelen = sizeof peer;
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(fds[i].fd, &m, 0);
        if (n < 0) continue;
        std::string local = "?";
        // The answer leaves from the address asked (the pktinfo echoed back): from any
        // other, NAT would not match it to the question.
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
          char text[INET6_ADDRSTRLEN] = {};
          if (c->cmsg_type == IP_PKTINFO && c->cmsg_level == IPPROTO_IP) {
            auto* info = reinterpret_cast<in_pktinfo*>(CMSG_DATA(c));
            local = ::inet_ntop(AF_INET, &info->ipi_addr, text, sizeof text);
            info->ipi_spec_dst = info->ipi_addr;
            info->ipi_ifindex = 0;
          }
          if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_level == IPPROTO_IPV6) {
            auto* info = reinterpret_cast<in6_pktinfo*>(CMSG_DATA(c));
            local = ::inet_ntop(AF_INET6, &info->ipi6_addr, text, sizeof text);
            info->ipi6_ifindex = 0;
          }
        }
        std::string reply = local + " " + std::string(buffer, static_cast<size_t>(n));
        iov = {reply.data(), reply.size()};
        m.msg_flags = 0;
        ::sendmsg(fds[i].fd, &m, 0);
      }
    }
  }
  return 0;
}

int attach(const Args& a) {
  nucleus::NetworkRequest request;
  for (const std::string& p : a.values("--publish")) request.publish.push_back(nucleus::parse_publish(p, "--publish"));
  for (const std::string& e : a.values("--egress")) request.egress.push_back(nucleus::parse_egress_rule(e, "--egress-allow"));
  if (std::string file = a.value("--egress-file"); !file.empty()) {  // one rule a line
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) request.egress.push_back(nucleus::parse_egress_rule(line, file));
  }
  request.default_deny = a.flag("--default-deny");
  for (const std::string& r : a.values("--resolver")) request.resolvers.push_back(*nucleus::parse_ip(r));
  if (a.flag("--subnet4")) request.subnet4 = nucleus::parse_subnet(a.value("--subnet4"), nucleus::IpFamily::kV4, "--subnet4");
  if (a.flag("--subnet6")) request.subnet6 = nucleus::parse_subnet(a.value("--subnet6"), nucleus::IpFamily::kV6, "--subnet6");
  request.hostname = a.value("--hostname", "nucleus");
  nt::check_network_request(request, a.value("--state-dir"));
  nucleus::UniqueFd netns = nucleus::sys::open(a.value("--netns"), O_RDONLY | O_CLOEXEC, "open the container's netns");
  nt::AttachOptions options;
  options.state_dir = a.value("--state-dir");
  options.helper = a.value("--helper");
  options.resident = !a.flag("--no-resident");
  nucleus::UniqueFd container;
  if (std::string pid = a.value("--container-pid"); !pid.empty()) {
    container = nucleus::sys::pidfd_open(static_cast<pid_t>(std::stol(pid)), "open the container's pidfd");
    options.container_pidfd = container.get();
  }
  if (a.flag("--prepare-only")) {  // a container that is never made: prepared, never entered
    nt::ContainerNetwork prepared = nt::ContainerNetwork::prepare(request, a.value("--id"), options);
    std::cout << "attached - - - 0 0us" << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
      if (line == "release") {
        prepared.release();
        std::cout << "released" << std::endl;
        return 0;
      }
    }
    return 0;
  }
  auto start = std::chrono::steady_clock::now();
  nt::ContainerNetwork network = nt::ContainerNetwork::attach(request, netns.get(), a.value("--id"), options);
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  if (!a.value("--etc-dir").empty()) network.write_etc_files(a.value("--etc-dir"));
  std::cout << "attached " << network.address4().to_string() << " " << network.address6().to_string() << " "
            << network.nameserver().to_string() << " " << network.helper_pid() << " " << took.count() << "us" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "release") {
      network.release();
      std::cout << "released" << std::endl;
      return 0;
    }
    if (line == "detach") {
      network.detach();
      std::cout << "detached" << std::endl;
      return 0;
    }
  }
  return 0;
}

// pasta for the container whose init is --pid: prints "attached PASTA_PID", then as attach.
int user_attach(const Args& a) {
  nucleus::NetworkRequest request;
  for (const std::string& p : a.values("--publish")) request.publish.push_back(nucleus::parse_publish(p, "--publish"));
  for (const std::string& e : a.values("--egress")) request.egress.push_back(nucleus::parse_egress_rule(e, "--egress-allow"));
  nt::UserModeOptions options;
  options.state_dir = a.value("--state-dir");
  options.caller_is_root = a.flag("--root");
  nt::UserModeNetwork network =
      nt::UserModeNetwork::attach(request, static_cast<pid_t>(std::stol(a.value("--pid"))), a.value("--id"), options);
  std::cout << "attached " << network.pasta_pid() << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    if (line == "release") {
      network.release();
      std::cout << "released" << std::endl;
      return 0;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a{std::vector<std::string>(argv + 1, argv + argc)};
  try {
    if (a.items.empty()) throw Error("network_driver", "no command");
    const std::string& verb = a.items[0];
    if (verb == "attach") return attach(a);
    if (verb == "user-attach") return user_attach(a);
    if (verb == "cleanup") return nt::cleanup_container_network(a.value("--id"), a.value("--state-dir"), a.value("--helper")), 0;
    if (verb == "collect") return nt::collect_stale_networks(a.value("--state-dir"), a.value("--remove-idle-bridge"), a.value("--helper")), 0;
    if (verb == "servers") {
      for (const nt::LeaseOwner& server : nt::running_servers(a.value("--state-dir"))) std::cout << server.pid << "\n";
      return 0;
    }
    if (verb == "stop-servers") return nt::stop_network_servers(a.value("--state-dir")), 0;
    if (verb == "echo-server") return echo_server(a);
    if (verb == "hold-socket") return hold_socket(a);
    if (verb == "probe") return probe(a);
    if (verb == "resolve") return resolve(a);
    throw Error("network_driver", "unknown command " + verb);
  } catch (const Error& e) {
    std::cerr << "nucleus: " << e.what() << "\n";
    return (a.items[0] == "probe" || a.items[0] == "resolve") ? 1 : e.exit_code();
  }
}
