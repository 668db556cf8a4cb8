// Prepared network namespaces (docs/networking.md, "Prepared namespaces"): the resident
// netd keeps standbys, each a namespace with eth0 on the bridge made before any container
// asked; a native bridge container is cloned into one. Observed through the real CLI in the
// lab's namespaces (network_lab.h): a standby handed out (the container's lease is the
// standby's, its sysfs shows its own devices, its traffic flows), never one namespace for two
// live containers, an empty pool falling back to the container's own namespace, and nothing
// left after kill -9 of nucleus (TearDown checks every test the same way; leftovers() ends
// the standbys first, so their own teardown is checked too).
#include <signal.h>

#include "tests/integration/network_prepared_fixture.h"

namespace nucleus::test {
namespace {

TEST_F(NetworkPrepared, AStandbyIsHandedOutAndTheContainerSeesOnlyItsOwnDevices) {
  prepare_standbys(1);
  start("prepared");
  EXPECT_NE(prepared_by("prepared"), "") << lease_of("prepared");
  // Its own user namespace could not have mounted this sysfs: nucleus made it in the
  // prepared namespace. The host's devices (the bridge, the uplink) are not in it.
  CommandResult devices = in_host(nucleus({"exec", "prepared", "/bin/ls", "/sys/class/net"}));
  EXPECT_EQ(devices.status, 0) << devices.output;
  EXPECT_EQ(devices.output, "eth0\nlo\n");
  CommandResult reach = in_host(nucleus({"exec", "prepared", kDriverInside, "probe", "tcp", Upstream::kAllowed,
                                         std::to_string(kEchoPort)}));
  EXPECT_EQ(reach.status, 0) << reach.output;
  EXPECT_NE(reach.output.find(std::string(Upstream::kAllowed) + " ping"), std::string::npos) << reach.output;
}

TEST_F(NetworkPrepared, AStandbyTakesTheContainersPolicyAndPortsAtTheHandOver) {
  prepare_standbys(1);
  const std::string echo = std::to_string(kEchoPort);
  start("policed", {"--egress-allow", std::string(Upstream::kAllowed) + "/32", "-p", "8082:8007"},
        {kDriverInside, "echo-server", "8007"});
  ASSERT_NE(prepared_by("policed"), "") << lease_of("policed");
  EXPECT_NE(lease_of("policed").find("\"policy\":true"), std::string::npos) << lease_of("policed");
  CommandResult allowed = in_host(nucleus({"exec", "policed", kDriverInside, "probe", "tcp", Upstream::kAllowed, echo}));
  EXPECT_EQ(allowed.status, 0) << allowed.output;
  CommandResult denied = in_host(nucleus({"exec", "policed", kDriverInside, "probe", "tcp", Upstream::kDenied, echo}));
  EXPECT_NE(denied.status, 0) << denied.output;
  CommandResult metadata = in_host(nucleus({"exec", "policed", kDriverInside, "probe", "tcp", Upstream::kMetadata, "80"}));
  EXPECT_NE(metadata.status, 0) << metadata.output;
  bool up = false;
  for (auto end = std::chrono::steady_clock::now() + 30s; !up && std::chrono::steady_clock::now() < end;) {
    up = lab_->driver_in(lab_->host(), {"probe", "tcp", "127.0.0.1", "8082"}).status == 0;
    if (!up) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(up) << "the published port never answered on the host's loopback";
}

// Standbys join the bridge while containers run: a bridge taking the lowest MAC of its
// ports would change the gateway's address under their neighbour caches (their routed
// traffic then stalls until those expire: seen as a flaky egress test). Its own, set.
TEST_F(NetworkPrepared, TheBridgeKeepsAnAddressOfItsOwnWhilePortsJoin) {
  prepare_standbys(2);
  // 3: NET_ADDR_SET (`ip netns exec` mounts a sysfs of the lab's host namespace).
  CommandResult type = in_host({"cat", "/sys/class/net/nucleus0/addr_assign_type"});
  EXPECT_EQ(type.output, "3\n") << type.output;
}

TEST_F(NetworkPrepared, TwoLiveContainersNeverShareANamespace) {
  prepare_standbys(2);
  start("first");
  start("second");
  std::string a = prepared_by("first"), b = prepared_by("second");
  EXPECT_NE(a, "");
  EXPECT_NE(b, "");
  EXPECT_NE(a, b);
  std::string ns_a = netns_of("first"), ns_b = netns_of("second");
  ASSERT_NE(ns_a, "");
  ASSERT_NE(ns_b, "");
  EXPECT_NE(ns_a, ns_b);
  // Nor one a standby still holds: what is left ready is another namespace again.
  for (int i = 0; i < 3; ++i) {
    const std::string name = "next-" + std::to_string(i);
    CommandResult r = in_host(run_args(name, {"/bin/sh", "-c", "readlink /proc/self/ns/net"}));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find(ns_a), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(ns_b), std::string::npos) << r.output;
  }
}

// A prepared namespace belongs to the host's user namespace, where a container's NET_RAW or
// NET_ADMIN counts for nothing: a container granted one makes its own, standby or not.
TEST_F(NetworkPrepared, AContainerGrantedNetworkCapabilitiesMakesItsOwnNamespace) {
  prepare_standbys(1);
  start("netcaps", {"--cap-add", "NET_RAW"});
  EXPECT_NE(lease_of("netcaps"), "");
  EXPECT_EQ(prepared_by("netcaps"), "") << lease_of("netcaps");
  start("plain");
  EXPECT_NE(prepared_by("plain"), "") << "control: the standby was there to take";
}

TEST_F(NetworkPrepared, AnEmptyPoolFallsBackToTheContainersOwnNamespace) {
  ::setenv("NUCLEUS_NETWORK_POOL", "0", 1);  // the server this lab's first attach starts keeps none
  CommandResult first = in_host(run_args("warm-up", {"/bin/true"}));
  ASSERT_EQ(first.status, 0) << first.output;
  start("own");
  EXPECT_EQ(lab_->standbys(), 0u);
  EXPECT_NE(lease_of("own"), "");
  EXPECT_EQ(prepared_by("own"), "") << lease_of("own");
  CommandResult devices = in_host(nucleus({"exec", "own", "/bin/ls", "/sys/class/net"}));
  EXPECT_EQ(devices.output, "eth0\nlo\n");
  CommandResult reach = in_host(nucleus({"exec", "own", kDriverInside, "probe", "tcp", Upstream::kAllowed,
                                         std::to_string(kEchoPort)}));
  EXPECT_EQ(reach.status, 0) << reach.output;
}

// A twin of a running container's name is refused (125, the name's message) before any
// network is ordered for it (TearDown: nothing left), and the running container keeps its
// own network.
TEST_F(NetworkPrepared, ATwinsNameIsRefusedAndLeavesTheHoldersNetworkAlone) {
  prepare_standbys(2);
  start("held");
  const std::string lease = lease_of("held");
  CommandResult twin = in_host(run_args("held", {"/bin/true"}));
  EXPECT_EQ(twin.status, 125) << twin.output;
  EXPECT_NE(twin.output.find("--name: 'held' is already in use by a running container"), std::string::npos) << twin.output;
  EXPECT_EQ(lease_of("held"), lease);
  CommandResult reach = in_host(nucleus({"exec", "held", kDriverInside, "probe", "tcp", Upstream::kAllowed,
                                         std::to_string(kEchoPort)}));
  EXPECT_EQ(reach.status, 0) << reach.output;
}

// Starts that find no standby at all grow the pool by one each (up to 16): after a burst of
// three at once, with a pool of one, the quiet refills it to more than one (one more per
// start that took the fresh path with none left, at most).
TEST_F(NetworkPrepared, ABurstLargerThanThePoolGrowsIt) {
  ::setenv("NUCLEUS_NETWORK_POOL", "1", 1);
  prepare_standbys(1);
  const std::vector<std::string> burst = {"burst-1", "burst-2", "burst-3"};
  for (const std::string& name : burst) background_.push_back(lab_->start_in_host(run_args(name, {"/bin/sleep", "600"})));
  size_t fresh = 0;
  for (const std::string& name : burst) {
    for (int i = 0; i < 300 && lease_of(name).empty(); ++i) std::this_thread::sleep_for(100ms);
    ASSERT_NE(lease_of(name), "") << name << " never attached";
    fresh += prepared_by(name).empty();
  }
  ASSERT_GE(fresh, 1u) << "every start of the burst found a standby: they did not come together";
  for (auto end = std::chrono::steady_clock::now() + 60s; lab_->standbys() < 2 && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(500ms);  // a refill's last standbys
  EXPECT_GE(lab_->standbys(), 2u) << fresh << " of the burst found the pool of one empty";
  EXPECT_LE(lab_->standbys(), 1 + fresh);
}

// kill -9 of a standby: its namespace (and the veth in it) goes with the server's copy once
// the server hears it gone; its lease and rules are collected by the next standby the
// server prepares (any attach collects leases whose owner died).
// A prepared namespace belongs to the host's user namespace, where no capability of the
// container's counts: its root could not bind :80 there, and could in a namespace of its
// own. Any port is bindable in either (ip_unprivileged_port_start=0, as Docker sets it),
// a non-root user's too.
TEST_F(NetworkPrepared, LowPortsBindTheSameInAPreparedNamespaceAndAFreshOne) {
  prepare_standbys(1);
  const std::string serve_and_probe = kDriverInside + " echo-server 80 & sleep 0.5; " + kDriverInside +
                                      " probe tcp 127.0.0.1 80; kill %1";
  for (bool fresh : {false, true}) {
    for (bool root : {true, false}) {
      std::vector<std::string> flags;
      if (!root) flags = {"--user", "1000"};
      // A container granted NET_ADMIN makes its own namespace (the fresh path).
      if (fresh) flags.insert(flags.end(), {"--cap-add", "NET_ADMIN"});
      const std::string name = std::string(fresh ? "fresh-" : "prepared-") + (root ? "root" : "user");
      CommandResult r = in_host(run_args(name, {"/bin/sh", "-c", serve_and_probe}, flags));
      EXPECT_NE(r.output.find("127.0.0.1 ping"), std::string::npos) << name << ": " << r.output;
    }
  }
}

// The server's idle standbys hold leases of the prepared configuration; they are its own,
// not a network in use: a start with other subnets is served (and a plain one after it),
// where the standbys used to refuse it, and the refused configuration's standbys the
// next. A container in use still refuses the change, and leaves no log of the attempt.
TEST_F(NetworkPrepared, IdleStandbysNeverRefuseAnotherConfiguration) {
  prepare_standbys(1);
  for (int round = 0; round < 2; ++round) {
    CommandResult other = in_host(run_args("other-" + std::to_string(round), {"/bin/true"}, {"--subnet", "10.232.0.0/24"}));
    EXPECT_EQ(other.status, 0) << other.output;
    CommandResult plain = in_host(run_args("plain-" + std::to_string(round), {"/bin/true"}));
    EXPECT_EQ(plain.status, 0) << plain.output;
  }
  start("holder");
  const std::string before = lab_->leftovers();
  CommandResult refused = in_host(run_args("refused", {"/bin/true"}, {"--subnet", "10.232.0.0/24"}));
  EXPECT_EQ(refused.status, 125) << refused.output;
  EXPECT_NE(refused.output.find("one bridge configuration at a time"), std::string::npos) << refused.output;
  EXPECT_EQ(lab_->leftovers(), before);  // the holder's network, and nothing of the refused one: not its log
}

TEST_F(NetworkPrepared, AStandbyKilledIsCollected) {
  prepare_standbys(2);
  std::string victim;
  for (const std::string& lease : lab_->leases()) {
    if (lease.find("\"standby_ready\":true") == std::string::npos) continue;
    size_t at = lease.find("\"owner_pid\":");
    if (at != std::string::npos) victim = std::to_string(std::atoi(lease.c_str() + at + 12));
    break;
  }
  ASSERT_NE(victim, "");
  ASSERT_EQ(::kill(std::stoi(victim), SIGKILL), 0);
  CommandResult r = in_host(run_args("after-kill", {"/bin/true"}));  // takes the other one; a refill follows
  EXPECT_EQ(r.status, 0) << r.output;
  auto victim_leased = [&] {
    for (const std::string& lease : lab_->leases()) {
      if (lease.find("\"owner_pid\":" + victim + ",") != std::string::npos) return true;
    }
    return false;
  };
  for (auto end = std::chrono::steady_clock::now() + 30s; victim_leased() && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(victim_leased()) << "the killed standby's lease was never collected";
}

TEST_F(NetworkPrepared, KillNineOfNucleusInAPreparedNamespaceLeavesNothing) {
  prepare_standbys(1);
  start("killed");
  ASSERT_NE(prepared_by("killed"), "") << lease_of("killed");
  pid_t nucleus_pid = background_.back();  // ip netns exec execs nucleus itself
  background_.pop_back();
  EXPECT_EQ(lab_->leftovers_after_killing(nucleus_pid), "");
  CommandResult again = in_host(run_args("killed", {"/bin/true"}));
  EXPECT_EQ(again.status, 0) << again.output;
}

}  // namespace
}  // namespace nucleus::test
