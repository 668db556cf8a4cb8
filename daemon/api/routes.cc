#include "daemon/api/routes.h"

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <optional>

#include "daemon/files/files.h"
#include "daemon/files/tar_check.h"
#include "daemon/http/api_error.h"
#include "daemon/sandbox/exec.h"

namespace nucleus::daemon {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

json view(const Sandbox& s) {
  json j{{"id", s.id},
         {"template", s.template_name},
         {"backend", s.backend},
         {"status", s.paused ? "paused" : "running"},
         {"created", s.created},
         {"expires_at", s.expires_at},
         {"idle_timeout", s.idle_timeout},
         {"active_execs", s.active_execs}};
  if (s.workspace) j["workspace"] = {{"path", s.workspace->path}, {"mode", s.workspace->mode}, {"target", s.workspace->target}};
  return j;
}

asio::awaitable<void> send_json(Responder& r, int status, const json& body) {
  co_await r.send(status, "application/json", body.dump() + "\n");
}

std::string query_path(const Request& request) {
  auto it = request.query.find("path");
  if (it == request.query.end()) throw ApiError(400, "invalid_field", "path: the query parameter ?path= is required");
  return check_sandbox_path(it->second, "path");
}

}  // namespace

Router api_router() {
  Router r;
  r.add("GET", "/v1/health", "health");
  r.add("GET", "/metrics", "metrics");
  r.add("GET", "/v1/templates", "templates");
  r.add("POST", "/v1/sandboxes", "create");
  r.add("GET", "/v1/sandboxes", "list");
  r.add("GET", "/v1/sandboxes/{id}", "get");
  r.add("DELETE", "/v1/sandboxes/{id}", "delete");
  r.add("POST", "/v1/sandboxes/{id}/exec", "exec");
  r.add("PUT", "/v1/sandboxes/{id}/files", "put_files");
  r.add("GET", "/v1/sandboxes/{id}/files", "get_files");
  r.add("POST", "/v1/sandboxes/{id}/pause", "pause");
  r.add("POST", "/v1/sandboxes/{id}/resume", "resume");
  return r;
}

Api::Api(SandboxManager& manager, Pools& pools, const std::map<std::string, Template>& templates)
    : manager_(manager), pools_(pools), templates_(templates), router_(api_router()) {
  // An expired sandbox goes whatever its copy out does: a TTL is a bound, and a sweep that
  // kept a sandbox whose copy fails would retry it every second for ever.
  manager_.before_destroy = [this](SandboxPtr s) -> asio::awaitable<void> {
    if (!s->workspace || !s->workspace->copy_out) co_return;
    try {
      co_await copy_workspace_out(manager_, *s, *s->workspace);
    } catch (const std::exception& e) {
      ++manager_.metrics().counter("nucleus_workspace_copy_out_failures_total");
      spdlog::warn("sandbox {}: expired; its workspace's copy out failed: {}", s->id, e.what());
    }
  };
}

asio::awaitable<void> Api::handle(const Request& request, Responder& responder) {
  RouteMatch m = router_.match(request.method, request.path);
  if (m.kind == RouteMatch::Kind::kNotFound) throw ApiError(404, "no_route", "no route " + request.path);
  if (m.kind == RouteMatch::Kind::kMethodNotAllowed) {
    std::string allowed;
    for (const std::string& a : m.allowed) allowed += (allowed.empty() ? "" : ", ") + a;
    throw ApiError(405, "method_not_allowed", request.method + " " + request.path + ": takes " + allowed);
  }
  const std::string& name = m.name;
  if (name == "health") {
    json body{{"status", "ok"}, {"version", NUCLEUS_VERSION}};
    co_return co_await send_json(responder, 200, body);
  }
  if (name == "metrics") {
    std::map<std::string, unsigned> counts{{"running", 0}, {"paused", 0}, {"pooled", 0}};
    for (const auto& [id, s] : manager_.all()) ++counts[s->pooled ? "pooled" : s->paused ? "paused" : "running"];
    co_return co_await responder.send(200, "text/plain; version=0.0.4",
                                      manager_.metrics().render(counts, pools_.gauges()));
  }
  if (name == "templates") {
    json out = json::array();
    for (const auto& [n, t] : templates_)
      out.push_back({{"name", n}, {"isolation", t.isolation.empty() ? "standard" : t.isolation}, {"pool", t.pool},
                     {"max_sandboxes", t.max_sandboxes}, {"ttl", t.ttl}, {"idle_timeout", t.idle_timeout}});
    json body{{"templates", out}};
    co_return co_await send_json(responder, 200, body);
  }
  if (name == "create") co_return co_await create(request, responder);
  if (name == "list") {
    json out = json::array();
    for (const auto& [id, s] : manager_.all())
      if (!s->pooled && !s->ending) out.push_back(view(*s));
    json body{{"sandboxes", out}};
    co_return co_await send_json(responder, 200, body);
  }
  SandboxPtr s = manager_.find(m.params.at("id"));
  if (name == "get") co_return co_await send_json(responder, 200, view(*s));
  if (name == "delete") co_return co_await remove(s, request, responder);
  if (name == "exec") co_return co_await run_exec(manager_, s, parse_exec_request(request.body), responder);
  if (name == "put_files") co_return co_await put_files(s, request, responder);
  if (name == "get_files") co_return co_await get_files(s, request, responder);
  if (name == "pause" || name == "resume") co_return co_await pause(s, name == "pause", responder);
  throw ApiError(500, "internal", "route " + name + " has no handler");
}

asio::awaitable<void> Api::create(const Request& request, Responder& responder) {
  SandboxManager::Activity activity(manager_);
  CreateRequest req = parse_create_request(request.body);
  const std::string tname = req.template_name.empty() ? "default" : req.template_name;
  auto it = templates_.find(tname);
  if (it == templates_.end()) throw ApiError(400, "unknown_template", "template: no template '" + tname + "'");
  Template t = it->second;
  std::vector<std::string> extra;
  bool cold_only = false;
  if (!req.isolation.empty() && req.isolation != (t.isolation.empty() ? "standard" : t.isolation)) {
    t.isolation = req.isolation;
    t.backend.clear();
    cold_only = true;
  }
  if (req.workspace) {
    check_workspace_path(manager_.config(), req.workspace->path);
    if (req.workspace->mode != "copy") {  // a bind is made with the container: cold
      extra = {"--volume", req.workspace->path + ":" + req.workspace->target + ":" + req.workspace->mode};
      cold_only = true;
    }
  }
  bool warm = false;
  SandboxPtr s;
  if (cold_only) {
    if (manager_.live_of(t.name) >= t.max_sandboxes)
      throw ApiError(429, "too_many_sandboxes", "template '" + t.name + "' is at its max_sandboxes");
    s = co_await manager_.start_sandbox(t, extra);
  } else {
    s = co_await pools_.claim(t, &warm);
  }
  // What the claim binds: the sandbox's own from now on.
  s->env = req.env;
  const uint32_t ttl = req.ttl.value_or(t.ttl);
  s->expires_at = ttl ? now_seconds() + ttl : 0;
  s->idle_timeout = req.idle_timeout.value_or(t.idle_timeout);
  s->last_active = now_seconds();
  s->workspace = req.workspace;
  manager_.persist(*s);
  try {
    std::map<std::string, std::string> files = t.files;
    for (const auto& [path, content] : req.files) files[path] = content;
    if (!files.empty()) co_await put_archive(manager_, *s, "/", make_tar(files));
    if (req.workspace && req.workspace->mode == "copy") co_await copy_workspace_in(manager_, *s, *req.workspace);
  } catch (...) {
    asio::co_spawn(manager_.io(), manager_.destroy(s), asio::detached);
    throw;
  }
  ++manager_.metrics().counter("nucleus_sandbox_creates_total", warm ? "source=\"pool\"" : "source=\"cold\"");
  json body = view(*s);
  body["warm"] = warm;
  co_await send_json(responder, 201, body);
}

// A workspace's copy out that fails (the sandbox's code made its content something that may
// not leave: a link out of it, a directory it cannot read) keeps the sandbox, with the
// reason, unless ?force=true: then it goes without the copy (`sandbox rm --force`).
asio::awaitable<void> Api::remove(SandboxPtr s, const Request& request, Responder& responder) {
  auto force = request.query.find("force");
  if (force != request.query.end() && force->second != "true" && force->second != "false") {
    throw ApiError(400, "invalid_field", "force: true or false");
  }
  const bool forced = force != request.query.end() && force->second == "true";
  std::optional<ApiError> failed;
  if (s->workspace && s->workspace->copy_out) {
    try {
      co_await copy_workspace_out(manager_, *s, *s->workspace);
    } catch (const ApiError& e) {
      failed.emplace(e.status, e.code, e.what());
    } catch (const std::exception& e) {
      failed.emplace(500, "workspace_failed", e.what());
    }
  }
  if (failed && !forced) {
    throw ApiError(failed->status, failed->code,
                   std::string(failed->what()) + "; DELETE ?force=true (sandbox rm --force) deletes it without the copy");
  }
  if (failed) {
    ++manager_.metrics().counter("nucleus_workspace_copy_out_failures_total");
    spdlog::warn("sandbox {}: deleted without its workspace's copy out: {}", s->id, failed->what());
  }
  co_await manager_.destroy(s);
  co_await responder.send(204, "application/json", "");
}

asio::awaitable<void> Api::put_files(SandboxPtr s, const Request& request, Responder& responder) {
  const std::string dir = query_path(request);
  co_await put_archive(manager_, *s, dir, request.body);
  s->last_active = now_seconds();
  co_await responder.send(204, "application/json", "");
}

asio::awaitable<void> Api::get_files(SandboxPtr s, const Request& request, Responder& responder) {
  const std::string path = query_path(request);
  std::string archive = co_await get_archive(manager_, *s, path);
  s->last_active = now_seconds();
  co_await responder.send(200, "application/x-tar", std::move(archive));
}

asio::awaitable<void> Api::pause(SandboxPtr s, bool paused, Responder& responder) {
  if (s->paused == paused) throw ApiError(409, paused ? "paused" : "not_paused",
                                          "sandbox '" + s->id + "' is " + (paused ? "paused already" : "not paused"));
  if (s->active_execs > 0 && paused) throw ApiError(409, "busy", "sandbox '" + s->id + "' has execs running");
  co_await manager_.nucleus_verb(paused ? "pause" : "resume", s->id);
  s->paused = paused;
  s->last_active = now_seconds();
  manager_.persist(*s);
  co_await send_json(responder, 200, view(*s));
}

}  // namespace nucleus::daemon
