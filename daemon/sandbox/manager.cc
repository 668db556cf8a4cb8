#include "daemon/sandbox/manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/container/container_record.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "daemon/http/api_error.h"
#include "daemon/sandbox/process.h"

namespace nucleus::daemon {

namespace asio = boost::asio;
using asio::use_awaitable;
using nlohmann::json;

namespace {

// The placeholder PID 1 waits for: it says it runs, then sleeps until the sandbox ends.
const std::vector<std::string> kPlaceholder = {"/bin/sh", "-c", "echo ready; exec sleep 2147483647"};
constexpr auto kStartDeadline = std::chrono::seconds(120);
constexpr auto kStopDeadline = std::chrono::seconds(10);
// Where the agent is bound in each sandbox, read-only (daemon/agent/agent_main.cc).
const std::string kAgentPath = "/.nucleus-agent";
// The agent says hello right after "ready"; one that does not is not used.
constexpr auto kHelloDeadline = std::chrono::milliseconds(2000);

int send_signal(const Sandbox& s, int sig) {
  return sys::raw_pidfd_send_signal(s.holder_pidfd.get(), sig);
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

json to_json(const Sandbox& s) {
  json j{{"id", s.id},           {"template", s.template_name}, {"backend", s.backend},
         {"holder", s.holder},   {"holder_start", s.holder_start}, {"created", s.created},
         {"expires_at", s.expires_at}, {"idle_timeout", s.idle_timeout}, {"env", s.env},
         {"pooled", s.pooled},   {"paused", s.paused}};
  if (s.workspace)
    j["workspace"] = {{"path", s.workspace->path}, {"mode", s.workspace->mode}, {"target", s.workspace->target},
                      {"copy_out", s.workspace->copy_out}};
  return j;
}

SandboxPtr from_json(const json& j) {
  auto s = std::make_shared<Sandbox>();
  s->id = j.at("id").get<std::string>();
  s->template_name = j.at("template").get<std::string>();
  s->backend = j.value("backend", "");
  s->holder = j.at("holder").get<pid_t>();
  s->holder_start = j.at("holder_start").get<uint64_t>();
  s->created = j.value("created", int64_t{0});
  s->expires_at = j.value("expires_at", int64_t{0});
  s->idle_timeout = j.value("idle_timeout", 0u);
  s->env = j.value("env", std::map<std::string, std::string>{});
  s->pooled = j.value("pooled", false);
  s->paused = j.value("paused", false);
  if (j.contains("workspace")) {
    WorkspaceRequest w;
    w.path = j["workspace"].value("path", "");
    w.mode = j["workspace"].value("mode", "copy");
    w.target = j["workspace"].value("target", "/workspace");
    w.copy_out = j["workspace"].value("copy_out", false);
    s->workspace = w;
  }
  return s;
}

}  // namespace

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

SandboxManager::SandboxManager(asio::io_context& io, DaemonConfig config, Metrics& metrics)
    : io_(io), config_(std::move(config)), metrics_(metrics) {
  std::filesystem::create_directories(config_.state + "/sandboxes");
  ::chmod(config_.state.c_str(), 0700);
}

std::vector<std::string> SandboxManager::nucleus_argv(std::vector<std::string> args) const {
  args.insert(args.begin(), {config_.nucleus, "--root", config_.root});
  return args;
}

asio::awaitable<void> SandboxManager::nucleus_verb(std::string verb, std::string id) {
  std::vector<std::string> argv = nucleus_argv(std::vector<std::string>{verb, id});
  Collected c = co_await run_collect(io_, argv);
  if (c.status != 0) throw ApiError(500, "runtime_error", last_line(c.err.empty() ? "nucleus " + verb + " failed" : c.err));
}

// A sandbox's file is rewritten at its claim, pause and resume: written whole into its
// ".json.tmp" twin, then the two names swapped (RENAME_EXCHANGE), so that ID.json is whole
// at every moment (a daemon killed mid-write leaves the old one) and, after the first
// write, no inode is created or freed per write: on ext4 a new inode scans the recently
// deleted ones, which was about 60% of the daemon's CPU per claim (perf). The twin is
// written over, not truncated first: ext4 flushes a file truncated to zero when it is
// closed (23 against 5 us of CPU per write, and waits). The first write has nothing to
// swap with: a rename.
void SandboxManager::persist(const Sandbox& s) const {
  const std::string path = config_.state + "/sandboxes/" + s.id + ".json";
  const std::string twin = path + ".tmp";
  const std::string step = "save sandbox " + s.id;
  sys::overwrite_file(twin, to_json(s).dump() + "\n", 0600, step);
  if (::renameat2(AT_FDCWD, twin.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != ENOENT && errno != EINVAL) throw_errno(step, path);
  if (::rename(twin.c_str(), path.c_str()) != 0) throw_errno(step, path);
}

void SandboxManager::forget(const Sandbox& s) {
  ::unlink((config_.state + "/sandboxes/" + s.id + ".json").c_str());
  ::unlink((config_.state + "/sandboxes/" + s.id + ".json.tmp").c_str());
  ::unlink((config_.state + "/sandboxes/" + s.id + ".log").c_str());
  auto it = sandboxes_.find(s.id);
  if (it == sandboxes_.end() || it->second.get() != &s) return;
  const std::string template_name = s.template_name;  // s may be the map's last reference
  sandboxes_.erase(it);
  if (after_forget) after_forget(template_name);
}

SandboxPtr SandboxManager::find(const std::string& id) const {
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end() || it->second->pooled || it->second->ending)
    throw ApiError(404, "not_found", "no sandbox '" + id + "'");
  return it->second;
}

unsigned SandboxManager::live_of(const std::string& template_name) const {
  unsigned n = 0;
  for (const auto& [id, s] : sandboxes_) n += s->template_name == template_name;
  auto it = starting_.find(template_name);
  return n + (it == starting_.end() ? 0 : it->second);
}

asio::awaitable<SandboxPtr> SandboxManager::start_sandbox(const Template& t, std::vector<std::string> extra) {
  auto s = std::make_shared<Sandbox>();
  s->id = generate_container_id();
  s->template_name = t.name;
  s->created = s->last_active = now_seconds();
  const std::string log = config_.state + "/sandboxes/" + s->id + ".log";
  std::vector<std::string> args = {"run", "--name", s->id};
  for (const std::string& f : run_flags(t)) args.push_back(f);
  for (const std::string& f : extra) args.push_back(f);
  // The sandbox's workload: the agent, its stdin and stdout the exec channel; or the
  // placeholder. Either says "ready" once it runs.
  UniqueFd agent_in_r, agent_in_w;
  if (!config_.agent.empty()) {
    std::tie(agent_in_r, agent_in_w) = make_pipe();
    args.insert(args.end(), {"--volume", config_.agent + ":" + kAgentPath + ":ro", "--", kAgentPath});
  } else {
    args.push_back("--");
    args.insert(args.end(), kPlaceholder.begin(), kPlaceholder.end());
  }
  auto [out_r, out_w] = make_pipe();
  UniqueFd err = sys::open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, "open " + log, 0600);
  ++starting_[t.name];
  Spawned holder;
  try {
    holder = spawn_process(nucleus_argv(args), agent_in_r ? agent_in_r.get() : -1, out_w.get(), err.get());
  } catch (...) {
    --starting_[t.name];
    throw;
  }
  out_w.reset();
  agent_in_r.reset();
  s->holder = holder.pid;
  s->holder_pidfd = std::move(holder.pidfd);
  if (auto st = sys::process_stat(s->holder)) s->holder_start = st->start_time;
  persist(*s);  // from now on a restarted daemon finds it, whatever happens here

  asio::posix::stream_descriptor out(io_, out_r.release());
  std::string line;
  asio::steady_timer deadline(io_, kStartDeadline);
  deadline.async_wait([&out](boost::system::error_code ec) {
    if (!ec) out.cancel();
  });
  boost::system::error_code ec;
  co_await asio::async_read_until(out, asio::dynamic_buffer(line), '\n', asio::redirect_error(use_awaitable, ec));
  deadline.cancel();
  --starting_[t.name];
  ++metrics_.counter("nucleus_sandbox_starts_total");
  // What came after the line is the agent's first frames.
  std::string after_ready;
  if (!ec && line.size() > line.find('\n') + 1) {
    after_ready = line.substr(line.find('\n') + 1);
    line.resize(line.find('\n') + 1);
  }
  if (ec || line != "ready\n") {
    send_signal(*s, SIGKILL);
    co_await wait_exit(io_, s->holder_pidfd.get(), s->holder, true);
    std::string why = last_line(sys::read_file(log, 1 << 16, "read " + log));
    forget(*s);
    ++metrics_.counter("nucleus_sandbox_start_failures_total");
    throw ApiError(500, "create_failed", "the sandbox did not start: " + (why.empty() ? ec.message() : why));
  }
  // The placeholder speaks once it runs; the holder's `start` records "running" a moment
  // later, and `nucleus exec` reads the record: the sandbox is handed out after that.
  for (int i = 0; i < 5000; ++i) {
    try {
      ContainerRecord r = read_container(config_.root, s->id);
      s->backend = r.backend;
      if (r.status == "running") break;
    } catch (const Error&) {
    }
    asio::steady_timer tick(io_, std::chrono::milliseconds(1));
    co_await tick.async_wait(use_awaitable);
  }
  if (agent_in_w) {
    s->agent = std::make_shared<AgentChannel>(io_, std::move(agent_in_w), UniqueFd(out.release()), std::move(after_ready));
    s->agent->start();
    if (!co_await s->agent->wait_hello(kHelloDeadline)) spdlog::warn("sandbox {}: no agent: execs go through nucleus exec", s->id);
  }
  persist(*s);
  sandboxes_[s->id] = s;
  asio::co_spawn(io_, watch_holder(s), asio::detached);
  co_return s;
}

asio::awaitable<void> SandboxManager::watch_holder(SandboxPtr s) {
  co_await wait_exit(io_, s->holder_pidfd.get(), s->holder, s->holder_is_child);
  if (!s->ending) {
    spdlog::warn("sandbox {} ended by itself", s->id);
    ++metrics_.counter("nucleus_sandbox_lost_total");
    s->ending = true;
    forget(*s);
  }
  s->holder = 0;
}

asio::awaitable<void> SandboxManager::destroy(SandboxPtr s) {
  if (s->ending && s->holder == 0) co_return;
  s->ending = true;
  if (s->agent) s->agent->fail("the sandbox is deleted", false);
  if (s->paused) {
    try {
      co_await nucleus_verb("resume", s->id);
    } catch (const ApiError&) {
    }
  }
  // The holder forwards SIGTERM to PID 1; the placeholder ends, and with it the
  // container's every process; the holder removes the container and exits.
  if (s->holder != 0) {
    send_signal(*s, SIGTERM);
    asio::steady_timer deadline(io_, kStopDeadline);
    deadline.async_wait([s](boost::system::error_code ec) {
      if (!ec && s->holder != 0) send_signal(*s, SIGKILL);  // its keeper cleans up
    });
    while (s->holder != 0) {
      asio::steady_timer tick(io_, std::chrono::milliseconds(5));
      co_await tick.async_wait(use_awaitable);
    }
    deadline.cancel();
  }
  forget(*s);
  ++metrics_.counter("nucleus_sandbox_deletes_total");
}

asio::awaitable<std::vector<SandboxPtr>> SandboxManager::reattach() {
  std::vector<SandboxPtr> adopted;
  const std::string dir = config_.state + "/sandboxes";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SandboxPtr s;
    try {
      s = from_json(json::parse(sys::read_file(entry.path(), 1 << 20, "read " + entry.path().string())));
    } catch (const std::exception& e) {
      spdlog::warn("{}: {}: removed", entry.path().string(), e.what());
      std::filesystem::remove(entry.path());
      continue;
    }
    auto st = sys::process_stat(s->holder);
    bool alive = st && st->state != 'Z' && st->start_time == s->holder_start &&
                 std::filesystem::exists(config_.root + "/" + s->id);
    if (alive) {
      s->holder_pidfd = UniqueFd(sys::raw_pidfd_open(s->holder));
      alive = s->holder_pidfd.get() >= 0;
    }
    if (!alive) {
      spdlog::info("sandbox {}: its holder is gone: deleted", s->id);
      if (std::filesystem::exists(config_.root + "/" + s->id)) {
        std::vector<std::string> argv = nucleus_argv(std::vector<std::string>{"delete", "--force", s->id});
        Collected c = co_await run_collect(io_, argv);
        (void)c;
      }
      forget(*s);
      continue;
    }
    s->holder_is_child = false;
    s->last_active = now_seconds();
    sandboxes_[s->id] = s;
    asio::co_spawn(io_, watch_holder(s), asio::detached);
    adopted.push_back(s);
    ++metrics_.counter("nucleus_sandbox_reattached_total");
  }
  co_return adopted;
}

asio::awaitable<void> SandboxManager::sweep_forever() {
  for (;;) {
    asio::steady_timer tick(io_, std::chrono::seconds(1));
    co_await tick.async_wait(use_awaitable);
    const int64_t now = now_seconds();
    std::vector<SandboxPtr> due;
    for (const auto& [id, s] : sandboxes_) {
      if (s->pooled || s->ending) continue;
      bool expired = s->expires_at != 0 && now >= s->expires_at;
      bool idle = s->idle_timeout != 0 && s->active_execs == 0 && !s->paused && now - s->last_active >= s->idle_timeout;
      if (expired || idle) due.push_back(s);
    }
    for (SandboxPtr& s : due) {
      spdlog::info("sandbox {}: {}", s->id, s->expires_at != 0 && now >= s->expires_at ? "TTL expired" : "idle timeout");
      ++metrics_.counter("nucleus_sandbox_expired_total");
      try {
        if (before_destroy) co_await before_destroy(s);
        co_await destroy(s);
      } catch (const std::exception& e) {
        spdlog::warn("sandbox {}: {}", s->id, e.what());
      }
    }
  }
}

}  // namespace nucleus::daemon
