#include "network/dns/forwarder.h"

#include <poll.h>
#include <sys/random.h>

#include <array>
#include <cstring>
#include <deque>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "config/network_spec.h"
#include "core/sys/error.h"

namespace nucleus::net::dns {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

constexpr size_t kMaxMessage = 65535;
constexpr size_t kMaxInFlight = 256;        // queries waiting for an upstream at once
constexpr size_t kMaxTcpConnections = 64;   // a container cannot exhaust the helper's fds
constexpr auto kUpstreamTimeout = std::chrono::seconds(2);

asio::ip::address to_asio(const IpAddress& ip) {
  if (ip.family == IpFamily::kV4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), ip.bytes.data(), 4);
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), ip.bytes.data(), 16);
  return asio::ip::address_v6(b);
}

uint16_t random_id() {
  uint16_t id = 0;
  if (::getrandom(&id, sizeof id, 0) != sizeof id) id = static_cast<uint16_t>(std::rand());
  return id;
}

using Reply = std::function<void(std::vector<uint8_t>)>;

}  // namespace

struct Forwarder::State : std::enable_shared_from_this<Forwarder::State> {
  State(asio::io_context& io_, NamePolicy p, std::vector<IpAddress> u, Grant g)
      : io(io_), udp_socket(io_), acceptor(io_), policy(std::move(p)), upstreams(std::move(u)), grant(std::move(g)) {}

  asio::io_context& io;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  NamePolicy policy;
  std::vector<IpAddress> upstreams;
  Grant grant;
  std::array<uint8_t, kMaxMessage> udp_buffer{};
  udp::endpoint udp_peer;
  size_t in_flight = 0;
  bool received = false;
  size_t tcp_open = 0;
  // Set when the Forwarder goes: an upstream's answer still on its way then grants nothing.
  // The same chains and sets may serve another container by then (a recycled namespace):
  // a late answer to the previous one's question must not add to what the next may reach.
  bool closed = false;

  // Held by every step of one TCP connection: the count drops when the last one ends.
  struct TcpSlot {
    State* state;
    ~TcpSlot() { --state->tcp_open; }
  };

  void receive_udp() {
    udp_socket.async_receive_from(asio::buffer(udp_buffer), udp_peer, [self = shared_from_this()](auto ec, size_t n) {
      // Closed (the Forwarder gone): no re-arm on a socket that fails at once, for ever.
      if (ec == asio::error::operation_aborted || self->closed) return;
      self->received = true;
      if (!ec) {
        udp::endpoint peer = self->udp_peer;
        self->handle(std::vector<uint8_t>(self->udp_buffer.begin(), self->udp_buffer.begin() + static_cast<long>(n)),
                     [self, peer](std::vector<uint8_t> reply) {
                       boost::system::error_code ignored;
                       self->udp_socket.send_to(asio::buffer(reply), peer, 0, ignored);
                     });
      }
      self->receive_udp();
    });
  }

  void accept_tcp() {
    acceptor.async_accept([self = shared_from_this()](auto ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || self->closed) return;
      self->received = true;
      if (!ec && self->tcp_open < kMaxTcpConnections) {
        ++self->tcp_open;
        self->serve_tcp(std::make_shared<tcp::socket>(std::move(socket)), std::make_shared<TcpSlot>(TcpSlot{self.get()}));
      }
      self->accept_tcp();
    });
  }

  // One length-prefixed query after another (RFC 7766), each answered in turn.
  void serve_tcp(std::shared_ptr<tcp::socket> socket, std::shared_ptr<TcpSlot> slot) {
    auto length = std::make_shared<std::array<uint8_t, 2>>();
    asio::async_read(*socket, asio::buffer(*length), [self = shared_from_this(), socket, length, slot](auto ec, size_t) {
      if (ec) return;
      auto query = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>((*length)[0] << 8 | (*length)[1]));
      asio::async_read(*socket, asio::buffer(*query), [self, socket, query, slot](auto ec2, size_t) {
        if (ec2) return;
        self->handle(*query, [self, socket, slot](std::vector<uint8_t> reply) {
          auto framed = std::make_shared<std::vector<uint8_t>>(reply.size() + 2);
          (*framed)[0] = static_cast<uint8_t>(reply.size() >> 8);
          (*framed)[1] = static_cast<uint8_t>(reply.size());
          std::copy(reply.begin(), reply.end(), framed->begin() + 2);
          asio::async_write(*socket, asio::buffer(*framed), [self, socket, framed, slot](auto ec3, size_t) {
            if (!ec3) self->serve_tcp(socket, slot);
          });
        });
      });
    });
  }

  void handle(std::vector<uint8_t> query, Reply reply) {
    std::optional<Question> q = parse_query(query);
    if (!q) return;  // not a query: no answer, as a server that cannot read it
    std::optional<NameGrant> allowed;
    if (policy.is_open()) {
      allowed = NameGrant{};
    } else if (std::optional<std::string> name = normalize_dns_name(q->name)) {
      allowed = policy.lookup(*name);
    }
    if (!allowed) return reply(make_error_response(query, kRcodeNxDomain));
    if (in_flight >= kMaxInFlight || upstreams.empty()) return reply(make_error_response(query, kRcodeServFail));
    ++in_flight;
    ask_upstream(std::make_shared<std::vector<uint8_t>>(std::move(query)), *allowed, 0, std::move(reply));
  }

  // Asks upstreams[index] with a fresh id; a timeout or an unreadable answer moves on to
  // the next one, and after the last the container gets SERVFAIL.
  void ask_upstream(std::shared_ptr<std::vector<uint8_t>> query, NameGrant allowed, size_t index, Reply reply) {
    if (closed) return;
    if (index >= upstreams.size()) {
      --in_flight;
      return reply(make_error_response(*query, kRcodeServFail));
    }
    auto socket = std::make_shared<udp::socket>(io);
    auto timer = std::make_shared<asio::steady_timer>(io, kUpstreamTimeout);
    auto answer = std::make_shared<std::vector<uint8_t>>(kMaxMessage);
    boost::system::error_code ec;
    udp::endpoint server(to_asio(upstreams[index]), 53);
    socket->open(server.protocol(), ec);
    if (!ec) socket->connect(server, ec);
    std::vector<uint8_t> outgoing = *query;
    uint16_t id = random_id();
    outgoing[0] = static_cast<uint8_t>(id >> 8);
    outgoing[1] = static_cast<uint8_t>(id);
    if (!ec) socket->send(asio::buffer(outgoing), 0, ec);
    if (ec) return ask_upstream(query, allowed, index + 1, std::move(reply));
    timer->async_wait([socket](auto e) {
      if (!e) socket->close();
    });
    receive_answer(query, allowed, index, std::move(reply), socket, timer, answer, id);
  }

  void receive_answer(std::shared_ptr<std::vector<uint8_t>> query, NameGrant allowed, size_t index, Reply reply,
                      std::shared_ptr<udp::socket> socket, std::shared_ptr<asio::steady_timer> timer,
                      std::shared_ptr<std::vector<uint8_t>> answer, uint16_t id) {
    socket->async_receive(asio::buffer(*answer), [=, self = shared_from_this()](auto ec, size_t n) mutable {
      if (self->closed) return;
      if (ec) return self->ask_upstream(query, allowed, index + 1, std::move(reply));
      answer->resize(n);
      std::optional<Answer> parsed = parse_answer(*answer);
      std::optional<Question> asked = parse_query(*query);
      if (!parsed || parsed->id != id || !asked || parsed->question.name != asked->name ||
          parsed->question.type != asked->type) {
        answer->resize(kMaxMessage);  // not our answer (spoofed or late): keep waiting
        return self->receive_answer(query, allowed, index, std::move(reply), socket, timer, answer, id);
      }
      timer->cancel();
      --self->in_flight;
      if (!self->policy.is_open() && !parsed->addresses.empty() && !self->grant(parsed->addresses, allowed)) {
        return reply(make_error_response(*query, kRcodeServFail));
      }
      (*answer)[0] = (*query)[0];
      (*answer)[1] = (*query)[1];
      reply(std::move(*answer));
    });
  }
};

Forwarder::Forwarder(asio::io_context& io, const IpAddress& listen, NamePolicy policy, std::vector<IpAddress> upstreams,
                     Grant grant, uint16_t wanted)
    : state_(std::make_shared<State>(io, std::move(policy), std::move(upstreams), std::move(grant))) {
  asio::ip::address address = to_asio(listen);
  // The TCP port must be the UDP one; another program may hold it for TCP: try a few.
  for (int attempt = 0; attempt < 16; ++attempt) {
    boost::system::error_code ec;
    if (state_->udp_socket.is_open()) state_->udp_socket.close();
    if (state_->acceptor.is_open()) state_->acceptor.close();
    const bool given = attempt == 0 && wanted != 0;
    state_->udp_socket.open(address.is_v4() ? udp::v4() : udp::v6(), ec);
    if (!ec) state_->udp_socket.bind(udp::endpoint(address, given ? wanted : 0), ec);
    if (ec && given) continue;
    if (ec) throw Error("bind the DNS forwarder to " + listen.to_string(), ec.message());
    uint16_t port = state_->udp_socket.local_endpoint().port();
    state_->acceptor.open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
    // The previous forwarder's connections may linger on the port (TIME_WAIT).
    if (!ec && given) state_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) state_->acceptor.bind(tcp::endpoint(address, port), ec);
    if (!ec) state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return;
    if (given) continue;
    if (ec != asio::error::address_in_use) throw Error("bind the DNS forwarder's TCP port", ec.message());
  }
  throw Error("bind the DNS forwarder", "no port free for both UDP and TCP");
}

Forwarder::~Forwarder() {
  state_->closed = true;
  boost::system::error_code ignored;
  state_->udp_socket.close(ignored);
  state_->acceptor.close(ignored);
}

uint16_t Forwarder::port() const { return state_->udp_socket.local_endpoint().port(); }

void Forwarder::set_upstreams(std::vector<IpAddress> upstreams) { state_->upstreams = std::move(upstreams); }

void Forwarder::set_policy(NamePolicy policy) { state_->policy = std::move(policy); }

void Forwarder::start() {
  state_->receive_udp();
  state_->accept_tcp();
}

bool Forwarder::received_anything() const {
  if (state_->received) return true;  // set by every datagram and connection taken
  boost::system::error_code ec;
  if (state_->udp_socket.available(ec) > 0 || ec) return true;
  // A connection waiting in the listen queue: the acceptor reads as readable.
  pollfd p{state_->acceptor.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

void Forwarder::pause() {
  boost::system::error_code ignored;
  state_->udp_socket.cancel(ignored);
  state_->acceptor.cancel(ignored);
}

}  // namespace nucleus::net::dns
