// Bridge networking through the API the backends call (docs/networking.md), driven in the
// lab's own namespaces (network_lab.h): what a container with an egress policy reaches and
// what it does not, with a container without one beside it as the control; published
// ports; nothing left after release, after kill -9 of the owner, after the cleanup.
#include <gtest/gtest.h>

#include <regex>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/integration/network_lab.h"
#include "tests/support/slurp.h"

namespace nucleus::test {
namespace {

class NetworkBridge : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network tests make namespaces, veths and nftables tables: root only";
    lab_ = std::make_unique<NetworkLab>();
  }
  void TearDown() override { lab_.reset(); }

  // An echo from address (the server answers with the address it was reached at).
  void expect_reached(const std::string& ns, const std::string& proto, const std::string& address,
                      const std::string& answered_by = "") {
    CommandResult r = lab_->driver_in(ns, {"probe", proto, address, kEcho});
    std::string expected = proto == "icmp" ? "reply from " + address : (answered_by.empty() ? address : answered_by) + " ping";
    EXPECT_EQ(r.status, 0) << proto << " to " << address << " from " << ns << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
  }
  // A refusal is a drop: waited for 1 s, where an answer takes milliseconds in the lab.
  void expect_refused(const std::string& ns, const std::string& proto, const std::string& address) {
    CommandResult r = lab_->driver_in(ns, {"probe", proto, address, kEcho, "--wait-ms", "1000"});
    EXPECT_NE(r.status, 0) << proto << " to " << address << " from " << ns << " was answered: " << r.output;
    // Dropped (no answer in time) or refused by the network, not a probe that could not run.
    static const std::regex kRefusal("(connect|receive|receive echo reply): (timed out|Connection refused|No route to host|Permission denied)|no echo reply");
    EXPECT_TRUE(std::regex_search(r.output, kRefusal)) << proto << " to " << address << ": " << r.output;
  }
  CommandResult resolve(const std::string& ns, const std::string& name, const std::string& server,
                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"resolve", name, server};
    args.insert(args.end(), extra.begin(), extra.end());
    return lab_->driver_in(ns, args);
  }

  std::unique_ptr<NetworkLab> lab_;
};

const std::vector<std::string> kPolicy = {
    "--egress", Upstream::kAllowed, "--egress", "allowed.test", "--egress", "*.wild.test",
    "--egress", "2001:db8:10::/64", "--resolver", Upstream::kDns};

TEST_F(NetworkBridge, EgressPolicyReachesOnlyWhatItAllows) {
  std::string a = lab_->add_container(), b = lab_->add_container();
  NetworkLab::Attached policed = lab_->attach(a, "policed", kPolicy);
  ASSERT_GT(policed.driver, 0);
  NetworkLab::Attached open = lab_->attach(b, "open", {"--resolver", Upstream::kDns});
  ASSERT_GT(open.driver, 0);
  lab_->start_echo_server(b);

  // The container's files name its forwarder and its own addresses.
  EXPECT_NE(slurp(policed.etc_dir + "/resolv.conf").find("nameserver " + policed.nameserver + "\n"), std::string::npos);
  EXPECT_NE(slurp(policed.etc_dir + "/hosts").find(policed.address4 + "\tnucleus"), std::string::npos);

  // Allowed: a CIDR over TCP, UDP and ICMP, through NAT; an IPv6 CIDR.
  expect_reached(a, "tcp", Upstream::kAllowed);
  expect_reached(a, "udp", Upstream::kAllowed);
  expect_reached(a, "icmp", Upstream::kAllowed);
  expect_reached(a, "tcp", Upstream::kAllowed6);

  // A name: unreachable by address until the forwarder answered it, then reachable.
  expect_refused(a, "tcp", Upstream::kNamed);
  CommandResult named = resolve(a, "allowed.test", policed.nameserver);
  EXPECT_NE(named.output.find("rcode 0\n" + std::string(Upstream::kNamed)), std::string::npos) << named.output;
  expect_reached(a, "tcp", Upstream::kNamed);
  CommandResult named6 = resolve(a, "allowed.test", policed.nameserver, {"aaaa", "tcp"});
  EXPECT_NE(named6.output.find("rcode 0\n2001:db8:10::12"), std::string::npos) << named6.output;
  // A wildcard covers subdomains, not the name itself.
  CommandResult wild = resolve(a, "x.wild.test", policed.nameserver);
  EXPECT_NE(wild.output.find("rcode 0\n" + std::string(Upstream::kWildcard)), std::string::npos) << wild.output;
  expect_reached(a, "tcp", Upstream::kWildcard);
  EXPECT_NE(resolve(a, "wild.test", policed.nameserver).output.find("rcode 3"), std::string::npos);

  // Refused: a denied host over TCP, UDP, ICMP and IPv6; a denied name; any other DNS
  // server (the upstream itself included); the metadata address; the host's addresses;
  // the neighbour container.
  expect_refused(a, "tcp", Upstream::kDenied);
  expect_refused(a, "udp", Upstream::kDenied);
  expect_refused(a, "icmp", Upstream::kDenied);
  expect_refused(a, "tcp", Upstream::kDenied6);
  EXPECT_NE(resolve(a, "denied.test", policed.nameserver).output.find("rcode 3"), std::string::npos);
  EXPECT_NE(resolve(a, "allowed.test", Upstream::kOtherDns, {"--wait-ms", "1000"}).status, 0);
  EXPECT_NE(resolve(a, "allowed.test", Upstream::kDns, {"--wait-ms", "1000"}).status, 0);
  EXPECT_NE(resolve(a, "allowed.test", Upstream::kDns, {"tcp", "--wait-ms", "1000"}).status, 0);
  expect_refused(a, "tcp", Upstream::kMetadata);
  expect_refused(a, "tcp", Upstream::kHostUplink);
  expect_refused(a, "tcp", policed.nameserver);
  expect_refused(a, "tcp", open.address4);
  expect_refused(a, "tcp", open.address6);
  std::string link_local = lab_->bridge_link_local();
  ASSERT_FALSE(link_local.empty());
  expect_refused(a, "tcp", link_local + "%eth0");

  // The control: the same destinations from the container without a policy.
  expect_reached(b, "tcp", Upstream::kDenied);
  expect_reached(b, "udp", Upstream::kDenied);
  expect_reached(b, "icmp", Upstream::kDenied);
  expect_reached(b, "tcp", Upstream::kDenied6);
  expect_reached(b, "tcp", Upstream::kMetadata);
  expect_reached(b, "tcp", Upstream::kHostUplink);
  expect_reached(b, "tcp", link_local + "%eth0", link_local);
  EXPECT_NE(resolve(b, "denied.test", Upstream::kOtherDns).output.find("rcode 0"), std::string::npos);
  EXPECT_NE(resolve(b, "denied.test", open.nameserver).output.find("rcode 0"), std::string::npos);
  expect_reached(lab_->host(), "tcp", open.address4);

  // untrusted's default deny, without a rule: nothing at all, no name answered.
  std::string d = lab_->add_container();
  NetworkLab::Attached denied = lab_->attach(d, "denied", {"--default-deny", "--resolver", Upstream::kDns});
  ASSERT_GT(denied.driver, 0);
  expect_refused(d, "tcp", Upstream::kAllowed);
  expect_refused(d, "udp", Upstream::kAllowed);
  expect_refused(d, "tcp", Upstream::kHostUplink);
  EXPECT_NE(resolve(d, "allowed.test", denied.nameserver).output.find("rcode 3"), std::string::npos);
}

TEST_F(NetworkBridge, PublishedPortsAnswerOnTheHostsAddressesAndLoopback) {
  std::string c = lab_->add_container();
  NetworkLab::Attached served = lab_->attach(c, "served", {"--publish", "8080:" + kEcho, "--publish", "8081:" + kEcho + "/udp"});
  ASSERT_GT(served.driver, 0);
  lab_->start_echo_server(c);
  for (const char* address : {Upstream::kHostUplink, "127.0.0.1"}) {
    CommandResult r = lab_->driver_in(lab_->host(), {"probe", "tcp", address, "8080"});
    EXPECT_NE(r.output.find(served.address4 + " ping"), std::string::npos) << address << ": " << r.output;
  }
  CommandResult v6 = lab_->driver_in(lab_->host(), {"probe", "tcp", Upstream::kHostUplink6, "8080"});
  EXPECT_NE(v6.output.find(served.address6 + " ping"), std::string::npos) << v6.output;
  CommandResult udp = lab_->driver_in(lab_->host(), {"probe", "udp", Upstream::kHostUplink, "8081"});
  EXPECT_NE(udp.output.find(served.address4 + " ping"), std::string::npos) << udp.output;
  // From outside: the upstream namespace reaches the host's address.
  CommandResult outside = lab_->driver_in(lab_->upstream(), {"probe", "tcp", Upstream::kHostUplink, "8080"});
  EXPECT_NE(outside.output.find(served.address4 + " ping"), std::string::npos) << outside.output;

  // A port the host already uses (its echo server) is refused before anything is made.
  std::string before = lab_->leftovers();
  CommandResult failure;
  std::string d = lab_->add_container();
  NetworkLab::Attached taken = lab_->attach(d, "taken", {"--publish", kEcho + ":80"}, &failure);
  EXPECT_EQ(taken.driver, -1);
  EXPECT_EQ(failure.status, 125) << failure.output;
  EXPECT_EQ(failure.output, "nucleus: --publish 7/tcp: host port 7 is already in use\n");
  EXPECT_EQ(lab_->leftovers(), before);
}

TEST_F(NetworkBridge, FiveThousandRulesWithWildcardsStillDecideEachConnection) {
  // 5,000 rules: CIDRs with and without ports, names, wildcards; the lab's own names last.
  std::string rules_file = lab_->state_dir() + "/rules";
  {
    std::ofstream out(rules_file);
    for (int i = 0; i < 4997; ++i) {
      switch (i % 4) {
        case 0: out << "10." << (i / 256) << "." << (i % 256) << ".0/24\n"; break;
        case 1: out << "192.0.2." << (i % 250) + 1 << ":" << 1000 + i << "\n"; break;
        case 2: out << "host" << i << ".example\n"; break;
        default: out << "*.zone" << i << ".example:443\n"; break;
      }
    }
    out << Upstream::kAllowed << "\nallowed.test\n*.wild.test\n";
  }
  std::string c = lab_->add_container();
  CommandResult failure;
  NetworkLab::Attached many = lab_->attach(c, "many", {"--egress-file", rules_file, "--resolver", Upstream::kDns}, &failure);
  ASSERT_GT(many.driver, 0) << failure.output;
  expect_reached(c, "tcp", Upstream::kAllowed);
  expect_refused(c, "tcp", Upstream::kDenied);
  expect_refused(c, "tcp", Upstream::kWildcard);
  EXPECT_NE(resolve(c, "a.wild.test", many.nameserver).output.find("rcode 0"), std::string::npos);
  expect_reached(c, "tcp", Upstream::kWildcard);
  EXPECT_NE(resolve(c, "denied.test", many.nameserver).output.find("rcode 3"), std::string::npos);
  // The rules are set elements: the container's chain has as many rules as with one.
  std::string chain = lab_->run_in(lab_->host(), {"nft", "list", "ruleset"}).output;
  EXPECT_NE(chain.find("10.19.132.0/24"), std::string::npos);
}

TEST_F(NetworkBridge, OneBridgeConfigurationAtATime) {
  std::string a = lab_->add_container(), b = lab_->add_container();
  NetworkLab::Attached first = lab_->attach(a, "first", {"--subnet4", "10.77.0.0/24"});
  ASSERT_GT(first.driver, 0);
  EXPECT_EQ(first.address4, "10.77.0.2");
  // Other subnets while the bridge serves a container: refused, nothing made.
  std::string before = lab_->leftovers();
  CommandResult failure;
  EXPECT_EQ(lab_->attach(b, "second", {"--subnet4", "10.78.0.0/24"}, &failure).driver, -1);
  EXPECT_EQ(failure.status, 125);
  EXPECT_EQ(failure.output, "nucleus: bridge nucleus0: nucleus's bridge is in use as 'nucleus0 10.77.0.0/24 "
                            "fd6e:7563:6c65::/64': one bridge configuration at a time\n");
  EXPECT_EQ(lab_->leftovers(), before);
  // Once it serves none, the new configuration replaces it (a release's teardown, which
  // nucleus does not wait for, still uses it until its netd ends).
  ASSERT_TRUE(lab_->release(first));
  ASSERT_TRUE(lab_->wait_gone(first.helper));
  NetworkLab::Attached second = lab_->attach(b, "second", {"--subnet4", "10.78.0.0/24"});
  ASSERT_GT(second.driver, 0);
  EXPECT_EQ(second.address4, "10.78.0.2");
  expect_reached(b, "tcp", Upstream::kDenied);
  EXPECT_EQ(lab_->run_in(lab_->host(), {"nft", "list", "table", "inet", "nucleus"}).output.find("10.77.0.0"), std::string::npos);
}

TEST_F(NetworkBridge, ReleaseLeavesNothing) {
  std::string c = lab_->add_container();
  NetworkLab::Attached attached = lab_->attach(c, "released", kPolicy);
  ASSERT_GT(attached.driver, 0);
  EXPECT_NE(lab_->leftovers(), "");  // the check sees what an attach makes
  ASSERT_TRUE(lab_->release(attached));
  EXPECT_TRUE(lab_->wait_gone(attached.helper));
  EXPECT_EQ(lab_->leftovers(), "");
  EXPECT_EQ(lab_->driver_in(c, {"probe", "tcp", Upstream::kAllowed, kEcho}).status, 1);  // no network left inside
  lab_->driver_in(lab_->host(), {"collect", "--state-dir", lab_->state_dir(), "--helper", lab_->helper(),
                                 "--remove-idle-bridge", "nucleus0"});
  EXPECT_EQ(lab_->leftovers_with_base(), "");
}

TEST_F(NetworkBridge, ADetachedNetworkLivesUntilTheContainerEnds) {
  std::string c = lab_->add_container();
  pid_t container = lab_->start_echo_server(c);  // stands for the container's init
  NetworkLab::Attached attached =
      lab_->attach(c, "detached", {"--publish", "8080:" + kEcho, "--container-pid", std::to_string(container)});
  ASSERT_GT(attached.driver, 0);
  ASSERT_TRUE(lab_->detach(attached));  // the process that attached is gone
  expect_reached(c, "tcp", Upstream::kDenied);  // no policy: the upstream through NAT
  CommandResult published = lab_->driver_in(lab_->host(), {"probe", "tcp", Upstream::kHostUplink, "8080"});
  EXPECT_NE(published.output.find(attached.address4 + " ping"), std::string::npos) << published.output;
  EXPECT_NE(lab_->leftovers(), "");
  lab_->kill_hard(container);  // the container ends: its network goes with it
  EXPECT_TRUE(lab_->wait_gone(attached.helper));
  EXPECT_EQ(lab_->leftovers(), "");
}

TEST_F(NetworkBridge, KillNineOfTheOwnerLeavesNothing) {
  // nucleus killed: its helper sees the socket close and tears down by itself.
  std::string c = lab_->add_container();
  NetworkLab::Attached first = lab_->attach(c, "killed", kPolicy);
  ASSERT_GT(first.driver, 0);
  lab_->kill_hard(first.driver);
  EXPECT_TRUE(lab_->wait_gone(first.helper));
  EXPECT_EQ(lab_->leftovers(), "");

  // nucleus and its helper killed: the lease is left, and the cleanup entry point (what
  // the cleanup keeper runs) removes everything it names.
  NetworkLab::Attached second = lab_->attach(c, "killed", kPolicy);
  ASSERT_GT(second.driver, 0);
  lab_->kill_hard(second.helper);
  lab_->kill_hard(second.driver);
  EXPECT_TRUE(lab_->wait_gone(second.helper));
  EXPECT_NE(lab_->leftovers(), "");
  CommandResult cleanup = lab_->driver_in(lab_->host(), {"cleanup", "--id", "killed", "--state-dir", lab_->state_dir(),
                                                         "--helper", lab_->helper()});
  EXPECT_EQ(cleanup.status, 0) << cleanup.output;
  EXPECT_EQ(lab_->leftovers(), "");
  // Idempotent: a second cleanup finds nothing and succeeds.
  EXPECT_EQ(lab_->driver_in(lab_->host(), {"cleanup", "--id", "killed", "--state-dir", lab_->state_dir(), "--helper",
                                           lab_->helper()}).status, 0);
}

// The parent of a process, from /proc/PID/stat (after the command's closing parenthesis).
pid_t parent_of(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

TEST_F(NetworkBridge, AttachesAreForkedByTheResidentServerWhoseDeathEndsNoNetwork) {
  std::string a = lab_->add_container(), b = lab_->add_container();
  NetworkLab::Attached first = lab_->attach(a, "first", kPolicy);
  ASSERT_GT(first.driver, 0);
  pid_t server = lab_->server();
  ASSERT_GT(server, 0) << "the attach started no resident netd";
  EXPECT_EQ(parent_of(first.helper), server) << "the helper was not the server's child";

  // kill -9 of the server: the container's netd, its child, keeps its network and policy.
  lab_->kill_hard(server);
  ASSERT_TRUE(lab_->wait_gone(server));
  expect_reached(a, "tcp", Upstream::kAllowed);
  expect_refused(a, "tcp", Upstream::kDenied);

  // The next attach finds its socket dead and starts another server.
  NetworkLab::Attached second = lab_->attach(b, "second", {"--resolver", Upstream::kDns});
  ASSERT_GT(second.driver, 0);
  pid_t again = lab_->server();
  EXPECT_GT(again, 0);
  EXPECT_NE(again, server);
  EXPECT_EQ(parent_of(second.helper), again);
  expect_reached(b, "tcp", Upstream::kDenied);

  // Both release as before, whichever server forked them.
  ASSERT_TRUE(lab_->release(first));
  ASSERT_TRUE(lab_->release(second));
  EXPECT_TRUE(lab_->wait_gone(first.helper));
  EXPECT_TRUE(lab_->wait_gone(second.helper));
  EXPECT_EQ(lab_->leftovers(), "");
}

TEST_F(NetworkBridge, AnIdServedAgainRightAfterItsReleaseWaitsForTheTeardown) {
  // release() does not wait for the teardown; an attach of the same id (`run --name` twice
  // in a row) waits for the old netd instead of finding the lease and the veth still there.
  std::string c = lab_->add_container();
  for (int i = 0; i < 3; ++i) {
    NetworkLab::Attached attached = lab_->attach(c, "again", kPolicy);
    ASSERT_GT(attached.driver, 0) << "attach " << i;
    EXPECT_EQ(attached.address4, "10.231.0.2");
    expect_reached(c, "tcp", Upstream::kAllowed);
    ASSERT_TRUE(lab_->release(attached));
  }
  std::string left;
  for (int i = 0; i < 100 && !(left = lab_->leftovers()).empty(); ++i) ::usleep(100000);
  EXPECT_EQ(left, "");
}

TEST_F(NetworkBridge, ANetdOfTheCallersOwnStillWorks) {
  // --no-resident: the fork + exec path, also what an attach falls back to when the server
  // is out of reach.
  std::string c = lab_->add_container();
  NetworkLab::Attached own = lab_->attach(c, "own", {"--no-resident", "--resolver", Upstream::kDns});
  ASSERT_GT(own.driver, 0);
  EXPECT_EQ(lab_->server(), -1);
  EXPECT_EQ(parent_of(own.helper), own.driver);
  expect_reached(c, "tcp", Upstream::kDenied);
  lab_->kill_hard(own.driver);
  EXPECT_TRUE(lab_->wait_gone(own.helper));
  EXPECT_EQ(lab_->leftovers(), "");
}

TEST_F(NetworkBridge, AnIdleServerLeavesAndRemovesItsSocket) {
  std::string dir = lab_->state_dir() + "/idle";
  // Its stderr is not the lab's pipe, which would keep the command's output open.
  CommandResult started = lab_->run_in(lab_->host(), {"sh", "-c", lab_->helper() + " serve --state-dir " + dir +
                                                                      " --tag t --idle-ms 3000 2>/dev/null"});
  ASSERT_EQ(started.status, 0) << started.output;
  pid_t server = lab_->server(dir);
  ASSERT_GT(server, 0);
  EXPECT_EQ(::access((dir + "/netd-t.sock").c_str(), F_OK), 0);
  // A second start finds it serving and leaves at once.
  EXPECT_EQ(lab_->run_in(lab_->host(), {lab_->helper(), "serve", "--state-dir", dir, "--tag", "t"}).status, 0);  // returns at once
  EXPECT_EQ(lab_->server(dir), server);
  EXPECT_TRUE(lab_->wait_gone(server));
  EXPECT_NE(::access((dir + "/netd-t.sock").c_str(), F_OK), 0);
}

TEST_F(NetworkBridge, ANetworkPreparedForAContainerNeverMadeIsTornDown) {
  // nucleus orders the network before the container exists; if it then fails (or is
  // killed) before handing over the namespace, netd removes what it prepared.
  std::string c = lab_->add_container();
  auto wait_for_nothing_left = [&] {
    std::string left;
    for (int i = 0; i < 100 && !(left = lab_->leftovers()).empty(); ++i) ::usleep(100000);
    return left;
  };
  NetworkLab::Attached dropped = lab_->attach(c, "dropped", {"--prepare-only", "--egress", Upstream::kAllowed});
  ASSERT_GT(dropped.driver, 0);
  std::string prepared;
  // Until both show: leftovers() lists the leases before it runs `nft`, and a prepare
  // writes its lease before its rules, so one listing can see the rules and not the lease.
  for (int i = 0; i < 100; ++i) {
    prepared = lab_->leftovers();
    if (prepared.find("nft: ") != std::string::npos && prepared.find("lease ") != std::string::npos) break;
    ::usleep(100000);
  }
  EXPECT_NE(prepared.find("lease "), std::string::npos) << prepared;  // the check sees what a prepare makes
  EXPECT_NE(prepared.find("nft: "), std::string::npos) << prepared;
  EXPECT_EQ(prepared.find("link: "), std::string::npos) << "no veth before the namespace: " << prepared;
  ASSERT_TRUE(lab_->release(dropped));  // nucleus failed: the ContainerNetwork is dropped
  EXPECT_EQ(wait_for_nothing_left(), "");

  NetworkLab::Attached killed = lab_->attach(c, "killed", {"--prepare-only", "--egress", Upstream::kAllowed});
  ASSERT_GT(killed.driver, 0);
  for (int i = 0; i < 100 && lab_->leftovers().find("nft: ") == std::string::npos; ++i) ::usleep(100000);
  lab_->kill_hard(killed.driver);  // nucleus killed before the clone
  EXPECT_EQ(wait_for_nothing_left(), "");
}

}  // namespace
}  // namespace nucleus::test
