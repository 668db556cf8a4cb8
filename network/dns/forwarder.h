#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/ip_address.h"
#include "network/dns/dns_message.h"
#include "network/dns/name_policy.h"

// A container's DNS forwarder (UDP and TCP, one port, on the bridge's gateway address; the
// container's queries to the gateway's port 53 are redirected to it). It answers only the
// names its policy allows (others NXDOMAIN), asks the upstream resolvers over UDP, and,
// before the answer leaves, hands its A/AAAA records to `grant` (which puts them in the
// container's nftables sets): when grant fails the container gets SERVFAIL, never an
// address its firewall would not let it reach. Runs on the caller's io_context, one thread.
namespace nucleus::net::dns {

class Forwarder {
 public:
  using Grant = std::function<bool(const std::vector<AddressRecord>&, const NameGrant&)>;

  // Binds UDP listen:0 and TCP on the same port; throws Error when it cannot. With `port`,
  // that port first (a forwarder taking over from another on the same port: the rules
  // redirecting to it stay as they are), another when it is taken.
  Forwarder(boost::asio::io_context& io, const IpAddress& listen, NamePolicy policy, std::vector<IpAddress> upstreams,
            Grant grant, uint16_t port = 0);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  uint16_t port() const;
  // Before start(): where allowed questions go (a standby prepared with the host's
  // resolvers, handed a container that names its own).
  void set_upstreams(std::vector<IpAddress> upstreams);
  // Before start(): the names it answers (a standby prepared open, handed a container with
  // an egress policy).
  void set_policy(NamePolicy policy);
  void start();
  // Whether anything came since start(): a datagram or a connection, handled or still
  // waiting. One that took nothing holds nothing of its container's (no question in
  // flight, no answer to grant), and may serve the next container as it is.
  bool received_anything() const;
  // Stops serving until the next start(): what was waited for is cancelled.
  void pause();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace nucleus::net::dns
