#include "daemon/http/server.h"

#include <grp.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "core/sys/error.h"
#include "daemon/http/api_error.h"
#include "daemon/http/router.h"

namespace nucleus::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;

struct Server::Impl {
  asio::io_context& io;
  Handler handler;
  ServerLimits limits;
  unsigned in_flight = 0;
  uint16_t tcp_port = 0;
  std::vector<std::unique_ptr<asio::local::stream_protocol::acceptor>> unix_acceptors;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> tcp_acceptors;
};

namespace {

// One answer on one connection.
template <class Socket>
class BeastResponder : public Responder {
 public:
  BeastResponder(Socket& socket, bool keep_alive) : socket_(socket), keep_alive_(keep_alive) {}

  asio::awaitable<void> send(int status, std::string content_type, std::string body) override {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::server, "nucleusd");
    res.set(http::field::content_type, content_type);
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    sent_ = true;
    co_await http::async_write(socket_, res, use_awaitable);
  }

  asio::awaitable<void> begin_stream(int status, std::string content_type) override {
    header_ = std::make_unique<http::response<http::empty_body>>(static_cast<http::status>(status), 11);
    header_->set(http::field::server, "nucleusd");
    header_->set(http::field::content_type, content_type);
    header_->keep_alive(keep_alive_);
    header_->chunked(true);
    serializer_ = std::make_unique<http::response_serializer<http::empty_body>>(*header_);
    sent_ = true;
    co_await http::async_write_header(socket_, *serializer_, use_awaitable);
  }

  asio::awaitable<bool> write_chunk(std::string data) override {
    if (broken_ || data.empty()) co_return !broken_;
    boost::system::error_code ec;
    co_await asio::async_write(socket_, http::make_chunk(asio::buffer(data)), asio::redirect_error(use_awaitable, ec));
    if (ec) broken_ = true;
    co_return !broken_;
  }

  asio::awaitable<void> end_stream() override {
    if (broken_) co_return;
    boost::system::error_code ec;
    co_await asio::async_write(socket_, http::make_chunk_last(), asio::redirect_error(use_awaitable, ec));
    if (ec) broken_ = true;
  }

  bool streaming() const override { return header_ != nullptr; }
  bool sent() const { return sent_; }
  bool broken() const { return broken_; }

  // Readable with nothing to read is the client's end closed; readable with bytes (a next
  // request, pipelined) is a client still there: the watch ends either way.
  void watch_hangup(std::function<void()> gone) override {
    watching_ = std::make_shared<bool>(true);
    socket_.async_wait(Socket::wait_read, [watching = watching_, fd = socket_.native_handle(), gone = std::move(gone)](
                                              boost::system::error_code ec) {
      if (ec || !*watching) return;  // cancelled: the responder may be gone
      char byte;
      ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) gone();
    });
  }
  void stop_watching() override {
    if (!watching_ || !*watching_) return;
    *watching_ = false;
    boost::system::error_code ec;
    socket_.cancel(ec);  // the watch is the only operation pending on the socket now
  }

 private:
  Socket& socket_;
  bool keep_alive_;
  bool sent_ = false;
  bool broken_ = false;
  std::shared_ptr<bool> watching_;
  std::unique_ptr<http::response<http::empty_body>> header_;
  std::unique_ptr<http::response_serializer<http::empty_body>> serializer_;
};

template <class Socket>
asio::awaitable<void> answer_error(Socket& socket, int status, const std::string& code, const std::string& message) {
  BeastResponder<Socket> r(socket, false);
  boost::system::error_code ec;
  try {
    co_await r.send(status, "application/json", error_body(code, message));
  } catch (const std::exception&) {
  }
  socket.shutdown(Socket::shutdown_both, ec);
}

// Serves one connection: requests one after the other (keep-alive) until it closes.
template <class Socket>
asio::awaitable<void> serve_connection(Server::Impl& server, Socket socket, std::string token) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(server.limits.max_body);
    parser.header_limit(16 * 1024);
    boost::system::error_code ec;
    co_await http::async_read(socket, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset) co_return;
    if (ec == http::error::body_limit) {
      co_await answer_error(socket, 413, "body_too_large",
                            "the request body is over the limit of " + std::to_string(server.limits.max_body) + " bytes");
      co_return;
    }
    if (ec) {
      co_await answer_error(socket, 400, "bad_request", "malformed HTTP request: " + ec.message());
      co_return;
    }
    http::request<http::string_body> req = parser.release();
    if (!token.empty() && req[http::field::authorization] != "Bearer " + token) {
      co_await answer_error(socket, 401, "unauthorized", "a bearer token is required on TCP");
      co_return;
    }
    if (server.in_flight >= server.limits.max_requests) {
      co_await answer_error(socket, 503, "busy",
                            "too many requests at once (limit " + std::to_string(server.limits.max_requests) + ")");
      co_return;
    }
    Request request;
    request.method = std::string(req.method_string());
    std::string target(req.target());
    size_t q = target.find('?');
    request.path = target.substr(0, q);
    request.content_type = std::string(req[http::field::content_type]);
    request.body = std::move(req.body());
    bool keep_alive = req.keep_alive();
    BeastResponder<Socket> responder(socket, keep_alive);
    ++server.in_flight;
    std::optional<ApiError> failure;
    try {
      if (q != std::string::npos) request.query = parse_query(target.substr(q + 1));
      co_await server.handler(request, responder);
    } catch (const ApiError& e) {
      failure = e;
    } catch (const Error& e) {
      failure = ApiError(500, "internal", e.what());
    } catch (const boost::system::system_error& e) {
      failure = ApiError(500, "internal", e.what());
    } catch (const std::exception& e) {
      failure = ApiError(500, "internal", e.what());
    }
    --server.in_flight;
    if (failure) {
      if (!responder.sent()) {
        try {
          co_await responder.send(failure->status, "application/json", error_body(failure->code, failure->what()));
        } catch (const std::exception&) {
          co_return;
        }
      } else {
        spdlog::warn("{} {}: {}", request.method, request.path, failure->what());
        co_return;  // the answer is half sent: the connection cannot carry another
      }
    }
    if (responder.broken() || !keep_alive) {
      socket.shutdown(Socket::shutdown_both, ec);
      co_return;
    }
  }
}

template <class Acceptor>
asio::awaitable<void> accept_loop(Server::Impl& server, Acceptor& acceptor, std::string token) {
  for (;;) {
    boost::system::error_code ec;
    auto socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // EMFILE and the like: the client retries
    asio::co_spawn(server.io, serve_connection(server, std::move(socket), token), asio::detached);
  }
}

}  // namespace

Server::Server(asio::io_context& io, Handler handler, ServerLimits limits)
    : impl_(new Impl{io, std::move(handler), limits}) {}
Server::~Server() = default;

void Server::listen_unix(const std::string& path, const std::string& group) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw Error("--socket " + path, "exists and is not a socket");
    ::unlink(path.c_str());
  }
  auto acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(impl_->io);
  asio::local::stream_protocol::endpoint endpoint(path);
  acceptor->open(endpoint.protocol());
  // Bound with no permission for anyone else, then opened to the group.
  mode_t old = ::umask(0177);
  boost::system::error_code ec;
  acceptor->bind(endpoint, ec);
  ::umask(old);
  if (ec) throw Error("bind " + path, ec.message());
  acceptor->listen(asio::socket_base::max_listen_connections);
  if (struct group* g = ::getgrnam(group.c_str())) {
    if (::chown(path.c_str(), 0, g->gr_gid) != 0) throw_errno("chown " + path);
    if (::chmod(path.c_str(), 0660) != 0) throw_errno("chmod " + path);
  } else {
    spdlog::warn("no group '{}': {} is for root only (scripts/setup creates the group)", group, path);
  }
  asio::co_spawn(impl_->io, accept_loop(*impl_, *acceptor, ""), asio::detached);
  impl_->unix_acceptors.push_back(std::move(acceptor));
}

void Server::listen_tcp(const std::string& address, uint16_t port, std::string token) {
  if (token.empty()) throw Error("--listen", "TCP needs a bearer token (--token-file)");
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(impl_->io);
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address), port);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  acceptor->bind(endpoint);
  acceptor->listen(asio::socket_base::max_listen_connections);
  impl_->tcp_port = acceptor->local_endpoint().port();
  asio::co_spawn(impl_->io, accept_loop(*impl_, *acceptor, std::move(token)), asio::detached);
  impl_->tcp_acceptors.push_back(std::move(acceptor));
}

uint16_t Server::tcp_port() const { return impl_->tcp_port; }
unsigned Server::requests_in_flight() const { return impl_->in_flight; }

}  // namespace nucleus::daemon
