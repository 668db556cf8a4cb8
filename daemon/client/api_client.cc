#include "daemon/client/api_client.h"

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/sys/error.h"

namespace nucleus::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Socket = asio::local::stream_protocol::socket;

std::string resolve_socket(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("NUCLEUS_SOCKET"); env && *env) return env;
  return "/run/nucleus/nucleusd.sock";
}

namespace {

Socket connect(asio::io_context& io, const std::string& path) {
  Socket socket(io);
  boost::system::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) throw Error("connect to nucleusd at " + path, ec.message() + " (is nucleusd running? --socket or NUCLEUS_SOCKET)");
  return socket;
}

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::string& body, const std::string& content_type) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "nucleusd");
  req.set(http::field::user_agent, "nucleus");
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  return req;
}

}  // namespace

ApiResponse ApiClient::call(const std::string& method, const std::string& target, const std::string& body,
                            const std::string& content_type) {
  asio::io_context io;
  Socket socket = connect(io, socket_);
  boost::system::error_code ec;
  http::write(socket, make_request(method, target, body, content_type), ec);
  // The daemon may answer (413) and close before the whole body is sent: its answer is read.
  if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) throw Error("send to nucleusd", ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read(socket, buffer, parser, ec);
  if (ec) throw Error("read nucleusd's answer", ec.message());
  return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

int ApiClient::stream(const std::string& method, const std::string& target, const std::string& body,
                      const std::function<void(std::string_view)>& on_data) {
  asio::io_context io;
  Socket socket = connect(io, socket_);
  boost::system::error_code ec;
  http::write(socket, make_request(method, target, body, "application/json"), ec);
  if (ec) throw Error("send to nucleusd", ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read_header(socket, buffer, parser, ec);
  if (ec) throw Error("read nucleusd's answer", ec.message());
  if (parser.get().result_int() != 200) {  // a refusal: a JSON body, whole
    http::response_parser<http::string_body> whole(std::move(parser));
    whole.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read(socket, buffer, whole, ec);
    if (ec) throw Error("read nucleusd's answer", ec.message());
    on_data(whole.get().body());
    return static_cast<int>(whole.get().result_int());
  }
  while (!parser.is_done()) {
    char chunk[65536];
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // read_some: back as soon as the parser has taken some bytes. read() would wait for
    // the whole 64 KiB or the end, holding a streamed exec's output until it finished.
    http::read_some(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw Error("read nucleusd's answer", ec.message());
    on_data(std::string_view(chunk, sizeof chunk - parser.get().body().size));
  }
  return static_cast<int>(parser.get().result_int());
}

std::string error_message(const ApiResponse& response) {
  auto j = nlohmann::json::parse(response.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object())
    return j["error"].value("message", response.body);
  return "HTTP " + std::to_string(response.status) + ": " + response.body;
}

std::string url_encode(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace nucleus::daemon
