// nucleusd: the sandbox daemon (docs/api.md). One thread, one Boost.Asio io_context: the
// HTTP server, the sandboxes' holders and execs (child processes watched through pidfds),
// the pools' refills and the TTL sweep are all coroutines on it.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <filesystem>
#include <spdlog/spdlog.h>

#include "core/container/container_record.h"
#include "core/sys/error.h"
#include "core/sys/log.h"
#include "core/sys/sys.h"
#include "daemon/api/routes.h"
#include "daemon/http/server.h"
#include "daemon/pool/pool.h"
#include "daemon/sandbox/manager.h"
#include "daemon/sandbox/templates.h"

namespace asio = boost::asio;
using namespace nucleus;
using namespace nucleus::daemon;

namespace {

struct Flags {
  std::string socket = "/run/nucleus/nucleusd.sock";
  std::string templates;
  std::string root = kStateRoot;
  std::string nucleus;
  std::string agent;
  std::string group = "nucleus";
  std::string listen;  // ADDRESS:PORT
  std::string token_file;
  uint64_t max_body = 64ull << 20;
  unsigned max_requests = 256;
  std::vector<std::string> workspace_roots;
  std::string log_level = "info";
};

std::string next_to_self(const std::string& name) {
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path() / name).string();
}

// On SIGTERM or SIGINT: pooled sandboxes are deleted (they are cheap to make again);
// claimed ones keep running and a restarted daemon re-attaches to them.
asio::awaitable<void> shut_down(asio::io_context& io, SandboxManager& manager) {
  manager.after_forget = nullptr;  // no refill now: a sandbox started on the way out would be left behind
  std::vector<SandboxPtr> pooled;
  for (const auto& [id, s] : manager.all())
    if (s->pooled) pooled.push_back(s);
  for (SandboxPtr& s : pooled) co_await manager.destroy(s);
  io.stop();
}

// One daemon per state root and per socket: a second would take the first's socket and
// re-attach (then, on its way out, delete) the first's sandboxes. Held for the daemon's life
// (flock: gone with the process, whatever kills it); its pid inside, for the refusal.
UniqueFd hold_daemon_lock(const std::string& path, const std::string& flag, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_errno("lock " + what, path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) throw_errno("lock " + what, path);
    char pid[32] = {};
    ssize_t n = ::pread(fd.get(), pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "?";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw Error(flag + " " + what, "another nucleusd (pid " + holder + ") serves it; stop that one first");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) throw_errno("lock " + what, path);
  return fd;
}

// Holders that outlived the last daemon first, then the socket, the pools, the sweep.
asio::awaitable<void> start_up(const Flags& f, SandboxManager& manager, Pools& pools, Server& server, std::string token) {
  for (SandboxPtr& s : co_await manager.reattach())
    if (s->pooled) pools.adopt(s);
  server.listen_unix(f.socket, f.group);
  if (!f.listen.empty()) {
    size_t colon = f.listen.rfind(':');
    if (colon == std::string::npos) throw Error("--listen", "ADDRESS:PORT");
    server.listen_tcp(f.listen.substr(0, colon), static_cast<uint16_t>(std::stoul(f.listen.substr(colon + 1))), token);
    spdlog::info("listening on {}:{}", f.listen.substr(0, colon), server.tcp_port());
  }
  spdlog::info("nucleusd listening on {}", f.socket);
  pools.start();
  co_await manager.sweep_forever();
}

int serve(const Flags& f) {
  if (::geteuid() != 0) throw Error("nucleusd", "runs as root (it makes containers for its clients)");
  ::signal(SIGPIPE, SIG_IGN);
  std::map<std::string, Template> templates =
      f.templates.empty() ? default_templates()
                          : parse_templates(sys::read_file(f.templates, 1 << 20, "read " + f.templates), f.templates);
  DaemonConfig config;
  config.nucleus = f.nucleus.empty() ? next_to_self("nucleus") : f.nucleus;
  config.root = f.root;
  config.state = f.root + "/.nucleusd";
  config.workspace_roots = f.workspace_roots;
  if (::access(config.nucleus.c_str(), X_OK) != 0) throw_errno("--nucleus " + config.nucleus);
  // The exec agent every new sandbox runs (docs/api.md "Exec through the agent"); "none":
  // execs go through `nucleus exec` alone.
  if (f.agent != "none") {
    config.agent = f.agent.empty() ? next_to_self("nucleus-agent") : f.agent;
    if (::access(config.agent.c_str(), X_OK) != 0) throw_errno("--agent " + config.agent);
  }
  std::filesystem::create_directories(f.root);
  std::filesystem::create_directories(std::filesystem::path(f.socket).parent_path());
  UniqueFd root_lock = hold_daemon_lock(f.root + "/.nucleusd.lock", "--root", f.root);
  UniqueFd socket_lock = hold_daemon_lock(f.socket + ".lock", "--socket", f.socket);

  asio::io_context io;
  Metrics metrics;
  SandboxManager manager(io, config, metrics);
  Pools pools(manager, templates);
  Api api(manager, pools, templates);
  Server server(io, [&api](const Request& r, Responder& w) { return api.handle(r, w); },
                ServerLimits{f.max_body, f.max_requests});
  std::string token;
  if (!f.listen.empty()) {
    token = sys::read_file(f.token_file, 4096, "read --token-file");
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
  }
  asio::co_spawn(io, start_up(f, manager, pools, server, token), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  asio::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) asio::co_spawn(io, shut_down(io, manager), asio::detached);
  });
  io.run();
  ::unlink(f.socket.c_str());
  // <socket>.lock stays: unlinked while held, a daemon that opened it could lock it after
  // us while a third made a new one, and both would serve the socket.
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nucleusd: agent sandboxes over HTTP/JSON (docs/api.md)", "nucleusd"};
  Flags f;
  app.add_option("--socket", f.socket, "The unix socket (0660, group --group)");
  app.add_option("-f,--templates", f.templates, "Sandbox templates (YAML)");
  app.add_option("--root", f.root, "The state root of the sandboxes' containers");
  app.add_option("--nucleus", f.nucleus, "The nucleus binary (default: beside nucleusd)");
  app.add_option("--agent", f.agent, "The exec agent bound into each sandbox (default: beside nucleusd; none: no agent)");
  app.add_option("--group", f.group, "The group the socket opens to");
  app.add_option("--listen", f.listen, "Also serve TCP on ADDRESS:PORT (needs --token-file)");
  app.add_option("--token-file", f.token_file, "The bearer token TCP clients must send");
  app.add_option("--max-body", f.max_body, "Largest request body, bytes");
  app.add_option("--max-requests", f.max_requests, "Requests served at once");
  app.add_option("--workspace-root", f.workspace_roots, "A host directory workspaces may come from (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--log-level", f.log_level, "trace, debug, info, warning, error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    log::init(f.log_level, log::Format::kText);
    return serve(f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nucleusd: %s\n", e.what());
    return 125;
  }
}
