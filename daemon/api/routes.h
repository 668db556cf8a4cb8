#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/awaitable.hpp>
#include <map>
#include <string>

#include "daemon/http/router.h"
#include "daemon/http/server.h"
#include "daemon/pool/pool.h"
#include "daemon/sandbox/manager.h"

// The API's routes (docs/api.md, docs/openapi.yaml): the route table and one handler per
// route, over the sandbox manager and the pools.
namespace nucleus::daemon {

// The table alone, for the server and its unit test.
Router api_router();

class Api {
 public:
  Api(SandboxManager& manager, Pools& pools, const std::map<std::string, Template>& templates);
  boost::asio::awaitable<void> handle(const Request& request, Responder& responder);

 private:
  boost::asio::awaitable<void> create(const Request& request, Responder& responder);
  boost::asio::awaitable<void> remove(SandboxPtr s, const Request& request, Responder& responder);
  boost::asio::awaitable<void> put_files(SandboxPtr s, const Request& request, Responder& responder);
  boost::asio::awaitable<void> get_files(SandboxPtr s, const Request& request, Responder& responder);
  boost::asio::awaitable<void> pause(SandboxPtr s, bool paused, Responder& responder);

  SandboxManager& manager_;
  Pools& pools_;
  const std::map<std::string, Template>& templates_;
  Router router_;
};

}  // namespace nucleus::daemon
