// Recycled namespaces (docs/networking.md, "Recycled namespaces"): a standby's namespace
// that served a container serves the next one once the first has ended, instead of being
// destroyed while another is made; never while anything of the first is left in it, and with
// nothing of what the first was given. Observed through the real CLI in the lab's
// namespaces: the namespace the next container sees (its inode), what it can reach, the
// host's published ports, and the server's log of a namespace it would not reuse.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/integration/network_prepared_fixture.h"

namespace nucleus::test {
namespace {

class NetworkRecycled : public NetworkPrepared {
 protected:
  void SetUp() override {
    ::setenv("NUCLEUS_NETWORK_POOL", "1", 1);  // one standby: the next start takes the one that came back
    NetworkPrepared::SetUp();
    if (!lab_) return;
    // An image's root with the (static) driver in it: a container with the host's files, or
    // a bind mount of them, is never recycled (it could pass a file of its namespace out).
    image_ = std::filesystem::path(lab_->nucleus_root()).parent_path() / "image";
    ASSERT_EQ(lab_->run_in(lab_->host(), {"cp", "-a", kRootfs, image_}).status, 0);
    ASSERT_EQ(lab_->run_in(lab_->host(), {"cp", NetworkLab::driver(), image_ + kDriverInside}).status, 0);
    root_flags_ = {"--rootfs", image_};
  }
  void TearDown() override {
    for (pid_t pid : holders_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    NetworkPrepared::TearDown();
    ::unsetenv("NUCLEUS_NETWORK_RECYCLE");
  }

  // The namespace a short container of `name` ran in.
  std::string run_reading_netns(const std::string& name, const std::vector<std::string>& flags = {}) {
    CommandResult r = in_host(run_args(name, {"/bin/sh", "-c", "readlink /proc/self/ns/net"}, flags));
    EXPECT_EQ(r.status, 0) << r.output;
    return r.output;
  }
  // What became of the standby that served an ended container (its lease's origin): "back"
  // once it offers its namespace again, "gone" once its network is torn down.
  std::string fate(const std::string& standby) {
    for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
      if (lease_of(standby).find("\"standby_ready\":true") != std::string::npos) return "back";
      bool leased = false;
      for (const std::string& lease : lab_->leases()) leased |= lease.find("\"origin\":\"" + standby + "\"") != std::string::npos;
      if (!leased) return "gone";
      std::this_thread::sleep_for(10ms);
    }
    return "neither in 10 s";
  }
  bool comes_back(const std::string& standby) { return fate(standby) == "back"; }
  // Whether the server's log says so, within 10 s.
  bool logged(const std::string& line) {
    for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
      if (server_log().find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  // Ends a container started with start() (its nucleus forwards the TERM).
  void end(const std::string& name) {
    ASSERT_FALSE(background_.empty());
    NetworkLab::end_in_host(background_.back());
    background_.pop_back();
    for (int i = 0; i < 300 && !lease_of(name).empty(); ++i) std::this_thread::sleep_for(20ms);
  }
  std::string server_log() {
    std::ifstream in(lab_->nucleus_root() + "/.network/netd-server.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // An OCI bundle (nucleus spec's, on the image) whose process joins the network namespace
  // at `netns` by path; its directory.
  std::string member_bundle(const std::string& name, const std::string& netns, const std::vector<std::string>& args) {
    const std::string bundle = std::filesystem::path(lab_->nucleus_root()).parent_path() / ("bundle-" + name);
    ::mkdir(bundle.c_str(), 0755);
    EXPECT_EQ(in_host(nucleus({"spec", "--bundle", bundle})).status, 0);
    nlohmann::json config = nlohmann::json::parse(std::ifstream(bundle + "/config.json"));
    config["root"]["path"] = image_;
    config["process"]["terminal"] = false;
    config["process"]["args"] = args;
    bool joined = false;
    for (nlohmann::json& n : config["linux"]["namespaces"]) {
      if (n["type"] == "network") n["path"] = netns, joined = true;
    }
    EXPECT_TRUE(joined) << config.dump();
    std::ofstream(bundle + "/config.json") << config.dump();
    return bundle;
  }

  std::vector<pid_t> holders_;
  std::string image_;
};

// The same namespace, again and again, under the same name too: the ended container's lease
// is renamed at once, so a start of its name does not wait for its netd (which lives on).
TEST_F(NetworkRecycled, AnEndedContainersNamespaceServesTheNextOne) {
  prepare_standbys(1);
  start("tenant");
  const std::string first = netns_of("tenant"), standby = prepared_by("tenant");
  ASSERT_NE(standby, "") << lease_of("tenant");
  end("tenant");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(comes_back(standby)) << "round " << i << "; server log:\n" << server_log();
    EXPECT_EQ(run_reading_netns("tenant"), first + "\n") << "round " << i << "; server log:\n" << server_log();
  }
  EXPECT_EQ(server_log().find("serves no other container"), std::string::npos) << server_log();
}

// A steady stream of short containers keeps its standby: each comes back before the next
// start, so none is prepared in its place while the starts go on (the refill once came a
// second into such a stream and prepared one, torn down as one too many when the first came
// back). Runs one after the other for 5 s, each once the standby is back; the server logs
// each standby it prepares, and why.
TEST_F(NetworkRecycled, ASteadyStreamOfShortContainersKeepsItsStandby) {
  prepare_standbys(1);
  auto refills = [this] {
    size_t n = 0;
    const std::string log = server_log();
    for (size_t at = 0; (at = log.find(", refill)", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  const size_t before = refills();
  // One shell in the host's namespace runs them back to back: each start's order comes
  // well within the refill's 50 ms of quiet after the previous one's. A refill that ignored
  // what comes back would find the standby handed at most moments (a second after a
  // hand-out, every second): five chances.
  std::string run;
  for (const std::string& word : run_args("stream", {"/bin/true"})) run += "'" + word + "' ";
  const std::string leases = lab_->nucleus_root() + "/.network/leases";
  const std::string back = "i=0; until grep -qs '\"standby_ready\":true' '" + leases + "'/*.json; do i=$((i + 1)); "
                           "[ $i -lt 20000 ] || exit 2; done; ";
  CommandResult r = in_host({"/bin/sh", "-c", "end=$(( $(date +%s%N) + 5000000000 )); while [ $(date +%s%N) -lt $end ]; do " +
                                                  back + run + ">/dev/null || exit 1; done"});
  ASSERT_EQ(r.status, 0) << r.output << server_log();
  EXPECT_EQ(refills(), before) << "server log:\n" << server_log();
  EXPECT_EQ(server_log().find("serves no other container"), std::string::npos) << server_log();
}

// What the first was given goes with it: its published port, its egress policy and the
// addresses its allowed names were granted (the sets go, not only the rules naming them).
TEST_F(NetworkRecycled, WhatAContainerWasGivenIsGoneForTheNext) {
  prepare_standbys(1);
  const std::string echo = std::to_string(kEchoPort);
  const std::string d = kDriverInside;
  // Its checks over UDP: a TCP connection it closed first would keep its namespace from the
  // next for a minute (TIME_WAIT).
  start("first", {"--egress-allow", "allowed.test", "--egress-allow", std::string(Upstream::kAllowed) + "/32", "-p", "8085:8007/udp"},
        {"/bin/sh", "-c", d + " resolve allowed.test $(sed -n 's/^nameserver //p' /etc/resolv.conf); " + d + " echo-server 8007"});
  const std::string first_ns = netns_of("first"), standby = prepared_by("first");
  ASSERT_NE(standby, "") << lease_of("first");
  CommandResult named = in_host(nucleus({"exec", "first", d, "probe", "udp", Upstream::kNamed, echo}));
  ASSERT_EQ(named.status, 0) << "the control: allowed.test's address granted to the first: " << named.output;
  bool published = false;
  for (auto until = std::chrono::steady_clock::now() + 10s; !published && std::chrono::steady_clock::now() < until;) {
    published = lab_->driver_in(lab_->host(), {"probe", "udp", "127.0.0.1", "8085"}).status == 0;
    if (!published) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(published) << "the control: the first's published port";
  end("first");
  ASSERT_TRUE(comes_back(standby)) << server_log();

  // The next one: a policy allowing only an address nothing answers at, its own echo server.
  start("next", {"--egress-allow", "192.0.2.1/32"}, {d, "echo-server", "8007"});
  ASSERT_EQ(netns_of("next"), first_ns) << "not the recycled namespace; server log:\n" << server_log();
  for (const char* transport : {"udp", "tcp"}) {
    for (const char* address : {Upstream::kNamed, Upstream::kAllowed}) {
      CommandResult r = in_host(nucleus({"exec", "next", d, "probe", transport, address, echo, "--wait-ms", "1000"}));
      EXPECT_NE(r.status, 0) << transport << " " << address << " reachable by the next container: " << r.output;
    }
  }
  EXPECT_NE(lab_->driver_in(lab_->host(), {"probe", "udp", "127.0.0.1", "8085", "--wait-ms", "1000"}).status, 0)
      << "the first's published port reaches the next container";
}

// A socket of the namespace held outside the container (one passed out over a unix socket),
// a TCP connection of it in TIME_WAIT, or a process that joined the namespace from outside
// the container's pid namespace, keeps the namespace from any other container: it is torn
// down, the next one gets another.
// A process that a tool other than nucleus put in the namespace (nsenter) is not looked for
// (docs/networking.md, "Recycled namespaces": host root's own choice); one holding a socket
// of it is seen through the socket.
TEST_F(NetworkRecycled, ASocketOrATimeWaitLeftInTheNamespaceKeepsItFromTheNext) {
  prepare_standbys(1);
  for (const std::string way : {"socket", "time-wait"}) {
    SCOPED_TRACE(way);
    const std::string name = "leaves-a-" + way;
    if (way == "time-wait") {
      // A TCP connection over its loopback: whichever end closes first, its TIME_WAIT is in
      // the namespace, with the addresses and ports in /proc/net/tcp for a minute.
      const std::string d = kDriverInside;
      start(name, {}, {"/bin/sh", "-c", d + " echo-server 8007 & sleep 0.3; " + d + " probe tcp 127.0.0.1 8007; sleep 600"});
    } else {
      start(name);
    }
    const std::string pid = pid_of(name), ns = netns_of(name);
    ASSERT_NE(ns, "");
    const std::string path = "/proc/" + pid + "/ns/net";
    if (way == "socket") {
      const std::string ready = lab_->nucleus_root() + "/held";
      ::unlink(ready.c_str());
      holders_.push_back(lab_->start_in_host({lab_->driver(), "hold-socket", path, ready}));
      for (int i = 0; i < 500 && ::access(ready.c_str(), F_OK) != 0; ++i) std::this_thread::sleep_for(10ms);
      ASSERT_EQ(::access(ready.c_str(), F_OK), 0) << "the socket was never held";
    } else {
      auto time_wait = [&] {
        std::ifstream in("/proc/" + pid + "/net/sockstat");
        std::stringstream text;
        text << in.rdbuf();
        return text.str().find(" tw 1 ") != std::string::npos;
      };
      for (int i = 0; i < 500 && !time_wait(); ++i) std::this_thread::sleep_for(10ms);
      ASSERT_TRUE(time_wait()) << "the connection never closed";
    }
    end(name);
    const std::string why = way == "socket" ? "1 socket(s) of the container left in its namespace"
                                            : "1 TCP connection(s) of the container in TIME_WAIT";
    EXPECT_TRUE(logged("the namespace of " + name + " serves no other container: " + why)) << server_log();
    EXPECT_NE(run_reading_netns("after-" + way), ns + "\n") << server_log();
  }
}

// A pod's member: a container whose config joins another's network namespace by path (an
// OCI bundle with a pid namespace of its own, holding no socket), whose end the namespace's
// own container's does not bring. nucleus marks the namespace before the member's process
// exists (network/ipam/recycle_marks.h), and it serves no other container: it is torn down
// at its container's end instead (the member loses the network, as it would with runc once
// the pod's sandbox ends). Whether the member is still there then (stop 32's scan of /proc
// saw only that) or ended first (it may have changed the namespace meanwhile).
TEST_F(NetworkRecycled, AContainerThatJoinedTheNamespaceKeepsItFromTheNext) {
  prepare_standbys(1);
  for (const std::string way : {"still-there", "ended-first"}) {
    SCOPED_TRACE(way);
    const std::string head = "pod-head-" + way, member = "pod-member-" + way;
    start(head);
    const std::string ns = netns_of(head);
    ASSERT_NE(ns, "");
    ASSERT_NE(prepared_by(head), "") << "not in a standby's namespace: nothing to recycle";
    const std::string path = "/proc/" + pid_of(head) + "/ns/net";
    pid_t running = -1;
    if (way == "still-there") {
      running = lab_->start_in_host(nucleus({"run", "--bundle", member_bundle(member, path, {"/bin/sleep", "600"}), member}));
      std::string member_ns;
      for (int i = 0; i < 300 && (member_ns = netns_of(member)) != ns; ++i) std::this_thread::sleep_for(20ms);
      EXPECT_EQ(member_ns, ns) << "the member never joined";
    } else {
      CommandResult ran = in_host(nucleus({"run", "--bundle", member_bundle(member, path, {"/bin/true"}), member}));
      ASSERT_EQ(ran.status, 0) << ran.output;
    }
    end(head);
    EXPECT_TRUE(logged("the namespace of " + head + " serves no other container: container " + member + " joined it by path"))
        << server_log();
    EXPECT_NE(run_reading_netns("after-" + way), ns + "\n") << server_log();
    if (running > 0) NetworkLab::end_in_host(running);
  }
}

// A namespace no container holds (a standby's, ready for the next start) is never joined:
// what joined it would be in the next container's network. Its path here is the standby's
// own descriptor of it (/proc/PID/fd/N of its netd), as a bind mount of it would be.
TEST_F(NetworkRecycled, NoContainerJoinsAStandbysNamespace) {
  prepare_standbys(1);
  std::string path;
  for (const std::string& lease : lab_->leases()) {
    if (lease.find("\"standby_ready\":true") == std::string::npos) continue;
    const std::string netd = "/proc/" + std::to_string(nlohmann::json::parse(lease)["owner_pid"].get<int>()) + "/fd";
    for (const auto& fd : std::filesystem::directory_iterator(netd)) {
      std::error_code ec;
      if (std::filesystem::read_symlink(fd.path(), ec).string().rfind("net:[", 0) == 0) path = fd.path().string();
    }
  }
  ASSERT_NE(path, "") << "no standby's namespace found";
  CommandResult refused = in_host(nucleus({"run", "--bundle", member_bundle("stray", path, {"/bin/true"}), "stray"}));
  EXPECT_EQ(refused.status, 125) << refused.output;
  EXPECT_NE(refused.output.find("join the network namespace " + path +
                                ": it is a namespace nucleus-netd prepared ahead, which no container holds"),
            std::string::npos)
      << refused.output;
  EXPECT_NE(in_host(nucleus({"state", "stray"})).status, 0) << "the refused container was left behind";
  // The standby still serves the next start.
  EXPECT_EQ(in_host(run_args("after-stray", {"/bin/true"})).status, 0);
}

// `nucleus exec` of a process that could change the namespace (NET_ADMIN here, an address
// added to lo): the namespace serves no later container, which would find the address.
// The container had no such capability and no user namespace of its own (`trusted` as
// root, NET_RAW dropped), so its namespace was recyclable and the exec'd process's
// capability counts over it. (In a user namespace of the container's own, as `standard`
// makes, NET_ADMIN does not reach the prepared namespace, which the host's owns.)
TEST_F(NetworkRecycled, AnExecGivenNetAdminKeepsTheNamespaceFromTheNext) {
  prepare_standbys(1);
  start("exec-admin", {"--isolation", "trusted", "--cap-drop", "NET_RAW"});
  const std::string ns = netns_of("exec-admin");
  ASSERT_NE(ns, "");
  ASSERT_NE(prepared_by("exec-admin"), "") << "not in a standby's namespace: nothing to recycle";
  CommandResult added =
      in_host(nucleus({"exec", "--cap", "CAP_NET_ADMIN", "exec-admin", "/bin/ip", "addr", "add", "192.0.2.99/32", "dev", "lo"}));
  ASSERT_EQ(added.status, 0) << added.output;
  end("exec-admin");
  EXPECT_TRUE(logged("the namespace of exec-admin serves no other container: a process was exec'd into it with NET_ADMIN, "
                     "NET_RAW or SYS_ADMIN"))
      << server_log();
  CommandResult next = in_host(run_args("after-admin", {"/bin/sh", "-c", "readlink /proc/self/ns/net; ip addr show dev lo"}));
  EXPECT_EQ(next.status, 0) << next.output;
  EXPECT_EQ(next.output.find(ns + "\n"), std::string::npos) << next.output;
  EXPECT_EQ(next.output.find("192.0.2.99"), std::string::npos) << next.output;
}

// The host's connection tracking entries of an ended container's address go before the
// address serves another container, recycled or torn down: the next one would inherit its
// flows past its own policy otherwise (a UDP flow's entry lives for two minutes).
TEST_F(NetworkRecycled, AnEndedContainersTrackedFlowsGoWithIt) {
  prepare_standbys(1);
  for (bool recycled : {true, false}) {
    SCOPED_TRACE(recycled ? "recycled" : "torn down");
    std::vector<std::string> flags;
    if (!recycled) flags = {"--cap-add", "SYS_ADMIN"};
    start("flows", flags,
          {"/bin/sh", "-c", kDriverInside + " probe udp " + Upstream::kAllowed + " " + std::to_string(kEchoPort) + "; sleep 600"});
    const std::string lease = lease_of("flows"), standby = prepared_by("flows");
    ASSERT_NE(standby, "") << lease;
    const size_t at = lease.find("\"address4\":\"");
    ASSERT_NE(at, std::string::npos) << lease;
    const std::string address = lease.substr(at + 12, lease.find('"', at + 12) - at - 12);
    auto tracked = [&] { return in_host({"cat", "/proc/net/nf_conntrack"}).output.find("src=" + address + " ") != std::string::npos; };
    bool seen = false;
    for (int i = 0; i < 300 && !(seen = tracked()); ++i) std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(seen) << "the control: the container's UDP flow is tracked";
    end("flows");
    EXPECT_EQ(fate(standby), recycled ? "back" : "gone") << server_log();
    EXPECT_FALSE(tracked()) << in_host({"cat", "/proc/net/nf_conntrack"}).output;
    for (int i = 0; i < 300 && lab_->standbys() < 1; ++i) std::this_thread::sleep_for(20ms);
  }
}

// A container that sees host files (the host's view, a bind mount: a unix socket there can
// take a file of its namespace out, read-only or not) is never recycled: an open
// /proc/net file of the namespace held outside would show the next container's sockets.
TEST_F(NetworkRecycled, AContainerSeeingTheHostsFilesEndsItsNamespace) {
  prepare_standbys(1);
  const std::vector<std::vector<std::string>> roots = {
      {"-v", NetworkLab::driver() + ":" + kDriverInside + ":ro"},                             // the host's view
      {"--rootfs", image_, "-v", lab_->nucleus_root() + ":/mnt:ro"},                           // a bind mount
      {"--rootfs", image_}};                                                                   // the control
  for (size_t i = 0; i < roots.size(); ++i) {
    SCOPED_TRACE(i);
    root_flags_ = roots[i];
    start("sees");
    const std::string standby = prepared_by("sees");
    ASSERT_NE(standby, "") << lease_of("sees");
    end("sees");
    EXPECT_EQ(fate(standby), i + 1 == roots.size() ? "back" : "gone") << server_log();
    for (int n = 0; n < 300 && lab_->standbys() < 1; ++n) std::this_thread::sleep_for(20ms);
  }
}

// Recycling off (NUCLEUS_NETWORK_RECYCLE=0 for the server): each namespace serves one
// container, as before.
TEST_F(NetworkRecycled, OffEachNamespaceServesOneContainer) {
  ::setenv("NUCLEUS_NETWORK_RECYCLE", "0", 1);
  prepare_standbys(1);
  start("once");
  const std::string first = netns_of("once"), standby = prepared_by("once");
  ASSERT_NE(standby, "") << lease_of("once");
  end("once");
  EXPECT_EQ(fate(standby), "gone") << server_log();
  EXPECT_NE(run_reading_netns("once"), first + "\n");
}

// A container that could change the namespace itself is never handed one again: granted
// NET_ADMIN or NET_RAW in a user namespace of its own it takes no standby at all
// (NetworkPrepared.AContainerGrantedNetworkCapabilitiesMakesItsOwnNamespace); granted
// SYS_ADMIN it takes one, whose namespace then goes with it.
TEST_F(NetworkRecycled, AContainerThatCouldChangeTheNamespaceEndsIt) {
  prepare_standbys(1);
  for (const std::vector<std::string>& flags : std::vector<std::vector<std::string>>{
           {"--cap-add", "SYS_ADMIN"}, {"--cap-add", "NET_BIND_SERVICE"}}) {
    SCOPED_TRACE(flags[1]);
    start("could-change", flags);
    const std::string standby = prepared_by("could-change");
    ASSERT_NE(standby, "") << lease_of("could-change");
    end("could-change");
    // The control: a capability that changes nothing of the namespace leaves it to the next.
    EXPECT_EQ(fate(standby), flags[1] == "NET_BIND_SERVICE" ? "back" : "gone") << server_log();
    for (int i = 0; i < 300 && lab_->standbys() < 1; ++i) std::this_thread::sleep_for(20ms);
  }
}

}  // namespace
}  // namespace nucleus::test
