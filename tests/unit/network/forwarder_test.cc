#include "network/dns/forwarder.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <boost/asio/io_context.hpp>

#include "core/sys/unique_fd.h"

// What a recycled namespace's reset asks of its forwarder (network/daemon/attach.cc,
// reset_to_standby): whether anything came from the container, which decides whether the
// same forwarder may serve the next one. On 127.0.0.1, with no upstream.
namespace nucleus::net::dns {
namespace {

class ForwarderReuse : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  Forwarder forwarder{io, *parse_ip("127.0.0.1"), NamePolicy::open(), {}, [](const auto&, const auto&) { return true; }};

  sockaddr_in address() const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(forwarder.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return to;
  }
  void send_datagram() {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in to = address();
    ASSERT_EQ(::sendto(s.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
  }
  // Whether it says so within a second: loopback delivers in a softirq, which a busy host
  // may run a little later than the send returns.
  bool says_received() {
    for (int i = 0; i < 1000 && !forwarder.received_anything(); ++i) ::usleep(1000);
    return forwarder.received_anything();
  }
  // One handler run, at most a second waited for.
  void run_one() { io.run_one_for(std::chrono::seconds(1)); }
  UniqueFd connect_tcp() {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in to = address();
    EXPECT_EQ(::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    return s;
  }
};

TEST_F(ForwarderReuse, OneThatTookNothingMayServeTheNext) {
  forwarder.start();
  io.poll();
  EXPECT_FALSE(forwarder.received_anything());
  forwarder.pause();
  io.poll();  // the cancelled waits end
  forwarder.start();
  send_datagram();
  run_one();
  EXPECT_TRUE(forwarder.received_anything());
}

TEST_F(ForwarderReuse, ADatagramWaitingCounts) {
  forwarder.start();
  send_datagram();  // not read yet: the loop has not run
  EXPECT_TRUE(says_received());
}

TEST_F(ForwarderReuse, AConnectionWaitingCounts) {
  forwarder.start();
  UniqueFd client = connect_tcp();  // in the listen queue, not accepted yet
  EXPECT_TRUE(says_received());
}

TEST_F(ForwarderReuse, ADatagramHandledCounts) {
  forwarder.start();
  send_datagram();
  run_one();  // handled (not a query: no answer)
  EXPECT_TRUE(forwarder.received_anything());
}

}  // namespace
}  // namespace nucleus::net::dns
