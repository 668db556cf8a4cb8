#pragma once

#include <utility>  // before Boost.Asio: its awaitable.hpp uses std::exchange (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

// nucleusd's HTTP/1.1 server (Boost.Beast on Boost.Asio, one thread, coroutines): a unix
// socket (0660, group `nucleus`) and optionally TCP with a bearer token. It reads a request
// within the limits, answers malformed and oversized ones itself with a JSON error, and
// hands the rest to one handler, which answers through a Responder: a whole body, or a
// chunked stream (exec's output, a tar). Beast is included by server.cc only.
namespace nucleus::daemon {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target before '?'
  std::map<std::string, std::string> query;
  std::string body;
  std::string content_type;
};

class Responder {
 public:
  virtual ~Responder() = default;
  virtual boost::asio::awaitable<void> send(int status, std::string content_type, std::string body) = 0;
  // A chunked answer: the status and headers now, then chunks, then the end.
  virtual boost::asio::awaitable<void> begin_stream(int status, std::string content_type) = 0;
  // False once the client is gone (the rest is dropped).
  virtual boost::asio::awaitable<bool> write_chunk(std::string data) = 0;
  virtual boost::asio::awaitable<void> end_stream() = 0;
  virtual bool streaming() const = 0;
  // While a stream waits on something that may never write (a silent command): gone() once
  // the client has closed its end. stop_watching() before the answer ends.
  virtual void watch_hangup(std::function<void()> gone) { (void)gone; }
  virtual void stop_watching() {}
};

using Handler = std::function<boost::asio::awaitable<void>(const Request&, Responder&)>;

struct ServerLimits {
  uint64_t max_body = 64ull << 20;  // bytes of a request body
  unsigned max_requests = 256;      // requests served at once; more answer 503
};

class Server {
 public:
  Server(boost::asio::io_context& io, Handler handler, ServerLimits limits);
  ~Server();
  // Binds PATH (a stale socket there is replaced), 0660, group `group` when it exists.
  void listen_unix(const std::string& path, const std::string& group);
  // Every request must carry "Authorization: Bearer TOKEN".
  void listen_tcp(const std::string& address, uint16_t port, std::string token);
  uint16_t tcp_port() const;
  unsigned requests_in_flight() const;

  struct Impl;  // server.cc's: the acceptors, the handler, the count of requests

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nucleus::daemon
