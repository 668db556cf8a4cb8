#pragma once

#include <functional>
#include <string>
#include <string_view>

// The client side of nucleusd's API, for the CLI (`nucleus sandbox ...`): one request per
// call over the daemon's unix socket (Boost.Beast, synchronous). Errors reaching the
// daemon are nucleus::Error; the daemon's own refusals come back as a status and a body.
namespace nucleus::daemon {

// --socket, else $NUCLEUS_SOCKET, else /run/nucleus/nucleusd.sock.
std::string resolve_socket(const std::string& flag);

struct ApiResponse {
  int status = 0;
  std::string body;
};

class ApiClient {
 public:
  explicit ApiClient(std::string socket) : socket_(std::move(socket)) {}
  ApiResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& content_type = "application/json");
  // A streamed answer: on_data gets the body as it comes; returns the status.
  int stream(const std::string& method, const std::string& target, const std::string& body,
             const std::function<void(std::string_view)>& on_data);

 private:
  std::string socket_;
};

// The message of an error body ({"error":{"message":...}}), or the body itself.
std::string error_message(const ApiResponse& response);

// Percent-encodes a query value.
std::string url_encode(std::string_view value);

}  // namespace nucleus::daemon
