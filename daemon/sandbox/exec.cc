#include "daemon/sandbox/exec.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <set>

#include "core/container/container_record.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "daemon/http/api_error.h"
#include "daemon/sandbox/agent_exec.h"
#include "daemon/sandbox/process.h"

namespace nucleus::daemon {

namespace asio = boost::asio;
using asio::use_awaitable;
using nlohmann::json;

namespace {

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

std::string base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

// What the streaming loop waits on: output to send, the streams' ends, the exit.
struct ExecState {
  explicit ExecState(asio::io_context& io) : wake(io, asio::steady_timer::time_point::max()) {}
  asio::steady_timer wake;
  std::deque<std::string> frames;
  int open_streams = 2;
  std::optional<int> status;
  bool timed_out = false;
  bool hung_up = false;  // the client closed its end
  void notify() { wake.cancel(); }
};

asio::awaitable<void> pump(asio::io_context& io, UniqueFd fd, const char* name, std::shared_ptr<ExecState> st,
                           std::shared_ptr<asio::posix::stream_descriptor>* handle) {
  auto stream = std::make_shared<asio::posix::stream_descriptor>(io, fd.release());
  *handle = stream;
  char buf[65536];
  for (;;) {
    boost::system::error_code ec;
    size_t n = co_await stream->async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted) {
      // Cut off after the command's exit (run_exec): what the pipe holds now was written
      // before the cut, and is sent; the daemon may have been too busy to read it in time.
      stream->non_blocking(true, ec);
      for (int round = 0; round < 8 && (n = stream->read_some(asio::buffer(buf), ec)) > 0 && !ec; ++round) {
        st->frames.push_back(output_frame(name, std::string_view(buf, n)));
      }
      break;
    }
    if (ec) break;
    st->frames.push_back(output_frame(name, std::string_view(buf, n)));
    st->notify();
  }
  --st->open_streams;
  st->notify();
}

asio::awaitable<void> feed(asio::io_context& io, UniqueFd fd, std::string data) {
  asio::posix::stream_descriptor stream(io, fd.release());
  boost::system::error_code ec;
  co_await asio::async_write(stream, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
}

asio::awaitable<void> watch(asio::io_context& io, int pidfd, pid_t pid, std::shared_ptr<ExecState> st) {
  st->status = co_await wait_exit(io, pidfd, pid, true);
  st->notify();
}

struct ProcInfo {
  pid_t ppid = 0;
  pid_t sid = 0;
};

std::optional<ProcInfo> proc_info(pid_t pid) {
  std::string stat;
  try {
    stat = sys::read_file("/proc/" + std::to_string(pid) + "/stat", 4096, "read stat");
  } catch (const std::exception&) {
    return std::nullopt;
  }
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  ProcInfo info;
  char state;
  int pgrp;
  if (std::sscanf(stat.c_str() + close + 1, " %c %d %d %d", &state, &info.ppid, &pgrp, &info.sid) != 4) return std::nullopt;
  return info;
}

ino_t pid_namespace(pid_t pid) {
  struct stat st {};
  return ::stat(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), &st) == 0 ? st.st_ino : 0;
}

bool has_marker(pid_t pid, const std::string& marker) {
  std::string env;
  try {
    env = sys::read_file("/proc/" + std::to_string(pid) + "/environ", 1 << 20, "read environ");
  } catch (const std::exception&) {
    return false;
  }
  return env.compare(0, marker.size() + 1, marker + '\0') == 0 || env.find('\0' + marker + '\0') != std::string::npos;
}

// The host pids of an exec's tree, in the sandbox's pid namespace (that of `init`, its
// PID 1): the exec'd process (`root`, 0 if unknown), its descendants, its session, and
// every process still carrying the exec's marker in its environment (a daemon it started
// with setsid and a double fork, reparented to PID 1, keeps it unless it cleared it).
std::set<pid_t> exec_tree(pid_t root, pid_t init, const std::string& marker) {
  const ino_t ns = pid_namespace(init);
  std::map<pid_t, ProcInfo> all;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
      if (pid <= 0) continue;
      if (auto info = proc_info(pid)) all[pid] = *info;
    }
    ::closedir(d);
  }
  std::set<pid_t> tree;
  if (ns == 0) return tree;
  if (root > 0 && all.count(root) && pid_namespace(root) == ns) tree.insert(root);
  for (const auto& [pid, info] : all)
    if (pid != init && pid_namespace(pid) == ns && has_marker(pid, marker)) tree.insert(pid);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, info] : all) {
      if (tree.count(pid)) continue;
      if (tree.count(info.ppid) || (root > 0 && info.sid == root)) {
        if (pid_namespace(pid) != ns) continue;
        tree.insert(pid);
        grew = true;
      }
    }
  }
  return tree;
}

pid_t read_pid_file(const std::string& path) {
  try {
    return static_cast<pid_t>(std::stol(sys::read_file(path, 64, "read the exec's pid file")));
  } catch (const std::exception&) {
    return 0;
  }
}

// The same walk inside a gVisor sandbox, whose processes the host does not see (`runsc
// exec`'s pid file names the sandbox's own pid): a shell of the sandbox's reads its /proc.
const char* const kKillTreeScript = R"(m=$1
for round in 1 2 3 4 5; do
  tree=" "
  for d in /proc/[0-9]*; do
    [ "${d#/proc/}" = 1 ] && continue
    tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -qxF "$m" && tree="$tree${d#/proc/} "
  done
  changed=1
  while [ -n "$changed" ]; do
    changed=
    for d in /proc/[0-9]*; do
      p=${d#/proc/}
      case "$tree" in *" $p "*) continue;; esac
      read -r line < "$d/stat" 2>/dev/null || continue
      set -- ${line##*) }
      case "$tree" in *" $2 "*) tree="$tree$p "; changed=1; continue;; esac
      case "$tree" in *" $4 "*) tree="$tree$p "; changed=1;; esac
    done
  done
  found=
  for p in $tree; do kill -9 "$p" 2>/dev/null && found=1; done
  [ -z "$found" ] && break
done
exit 0)";

asio::awaitable<unsigned> kill_tree_inside(SandboxManager& manager, const Sandbox& sandbox, std::string marker) {
  std::vector<std::string> argv =
      manager.nucleus_argv(std::vector<std::string>{"exec", sandbox.id, "/bin/sh", "-c", kKillTreeScript, "sh", marker});
  Collected c = co_await run_collect(manager.io(), argv);
  co_return c.status == 0 ? 1u : 0u;
}

}  // namespace

void arm_exec_timeout(asio::steady_timer& timer, std::optional<double> seconds, std::function<void()> expired) {
  if (!seconds) return;
  timer.expires_after(std::chrono::microseconds(static_cast<int64_t>(*seconds * 1e6)));
  timer.async_wait([expired = std::move(expired)](boost::system::error_code ec) {
    if (!ec) expired();
  });
}

std::string output_frame(const char* stream, std::string_view data) {
  json j{{"stream", stream}};
  if (valid_utf8(data)) {
    j["data"] = std::string(data);
  } else {
    j["data_b64"] = base64(data);
  }
  return j.dump() + "\n";
}

asio::awaitable<unsigned> kill_exec_tree(SandboxManager& manager, const Sandbox& sandbox, pid_t pid, std::string marker) {
  if (sandbox.backend == "gvisor") co_return co_await kill_tree_inside(manager, sandbox, marker);
  pid_t init = 0;
  try {
    init = read_container(manager.config().root, sandbox.id).pid;
  } catch (const Error&) {
  }
  unsigned killed = 0;
  bool frozen = false;
  try {
    co_await manager.nucleus_verb("pause", sandbox.id);
    frozen = true;
  } catch (const ApiError&) {
  }
  for (int round = 0; round < 20; ++round) {
    std::set<pid_t> tree = exec_tree(pid, init, marker);
    if (tree.empty()) break;
    for (pid_t p : tree) killed += ::kill(p, SIGKILL) == 0;
    if (frozen) {
      co_await manager.nucleus_verb("resume", sandbox.id);
      frozen = false;
    }
    asio::steady_timer settle(manager.io(), std::chrono::milliseconds(10));
    co_await settle.async_wait(use_awaitable);
  }
  if (frozen) co_await manager.nucleus_verb("resume", sandbox.id);
  co_return killed;
}

// A client gone (or the time out) while `nucleus exec` runs. It may leave before the command
// exists: nucleus exec writes its pid file once it does (both backends), so until then (up
// to 30 s) nothing is frozen or scanned; then the command's tree is killed until nucleus exec
// ends with it (2 s at most). nucleus exec itself is killed only then, and once it is gone,
// when nothing new can start, the command is looked for by its marker one last time.
asio::awaitable<void> kill_exec(SandboxManager& manager, const Sandbox& sandbox, const std::string& pid_file,
                                const std::string& marker, int exec_pidfd, ExecState& st) {
  asio::steady_timer again(manager.io());
  auto pause = [&]() -> asio::awaitable<void> {
    again.expires_after(std::chrono::milliseconds(20));
    co_await again.async_wait(use_awaitable);
  };
  using Clock = std::chrono::steady_clock;
  auto give_up = Clock::now() + std::chrono::seconds(30);
  bool found = false;
  while (!st.status && Clock::now() < give_up) {
    if (pid_t pid = read_pid_file(pid_file); pid > 0) {
      if (!found) give_up = Clock::now() + std::chrono::seconds(2);
      found = true;
      co_await kill_exec_tree(manager, sandbox, pid, marker);
      if (st.status) break;
    }
    co_await pause();
  }
  if (st.status) co_return;
  sys::raw_pidfd_send_signal(exec_pidfd, SIGKILL);
  for (int i = 0; i < 50 && !st.status; ++i) co_await pause();
  co_await kill_exec_tree(manager, sandbox, 0, marker);
}

asio::awaitable<void> end_exec(SandboxManager& manager, Responder& responder, ExecEnd end) {
  int code = end.timed_out ? 124 : end.code;
  if (end.timed_out) ++manager.metrics().counter("nucleus_exec_timeouts_total");
  // The runtime's or the agent's own refusals (125 and a message on stderr) count as failures.
  if (code == 125 || code == 126 || code == 127) ++manager.metrics().counter("nucleus_exec_failures_total");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - end.started).count();
  manager.metrics().observe_exec(seconds);
  json last{{"exit_code", code}, {"timed_out", end.timed_out}, {"duration_ms", seconds * 1000}, {"agent", end.via_agent}};
  if (!end.client_gone) {
    co_await responder.write_chunk(last.dump() + "\n");
    co_await responder.end_stream();
  }
}

asio::awaitable<void> run_exec(SandboxManager& manager, SandboxPtr sandbox, ExecRequest request, Responder& responder) {
  if (sandbox->paused) throw ApiError(409, "paused", "sandbox '" + sandbox->id + "' is paused");
  SandboxManager::Activity activity(manager);
  asio::io_context& io = manager.io();
  const auto started = std::chrono::steady_clock::now();
  static uint64_t serial = 0;
  const std::string pid_file = manager.config().state + "/exec-" + std::to_string(::getpid()) + "-" + std::to_string(++serial) + ".pid";
  std::map<std::string, std::string> env = sandbox->env;
  const std::string marker_value = std::to_string(::getpid()) + "-" + std::to_string(serial);
  for (const auto& [k, v] : request.env) env[k] = v;
  env[kExecMarker] = marker_value;
  if (co_await run_agent_exec(manager, sandbox, request, env, responder, started)) co_return;

  std::vector<std::string> args = {"exec", "--pid-file", pid_file};
  if (!request.cwd.empty()) args.insert(args.end(), {"--cwd", request.cwd});
  for (const auto& [k, v] : env) args.insert(args.end(), {"--env", k + "=" + v});
  if (!request.user.empty()) args.insert(args.end(), {"--user", request.user});
  args.push_back(sandbox->id);
  args.insert(args.end(), request.argv.begin(), request.argv.end());

  co_await responder.begin_stream(200, "application/x-ndjson");
  auto [out_r, out_w] = make_pipe();
  auto [err_r, err_w] = make_pipe();
  UniqueFd in_r, in_w;
  if (request.stdin_data) std::tie(in_r, in_w) = make_pipe();
  Spawned child = spawn_process(manager.nucleus_argv(args), request.stdin_data ? in_r.get() : -1, out_w.get(), err_w.get());
  out_w.reset();
  err_w.reset();
  in_r.reset();
  ++sandbox->active_execs;
  ++manager.metrics().counter("nucleus_execs_total");
  struct Done {
    Sandbox& s;
    std::string pid_file;
    ~Done() {
      --s.active_execs;
      s.last_active = now_seconds();
      ::unlink(pid_file.c_str());
    }
  } done{*sandbox, pid_file};

  auto st = std::make_shared<ExecState>(io);
  std::shared_ptr<asio::posix::stream_descriptor> out_handle, err_handle;
  if (request.stdin_data) asio::co_spawn(io, feed(io, std::move(in_w), std::move(*request.stdin_data)), asio::detached);
  asio::co_spawn(io, pump(io, std::move(out_r), "stdout", st, &out_handle), asio::detached);
  asio::co_spawn(io, pump(io, std::move(err_r), "stderr", st, &err_handle), asio::detached);
  asio::co_spawn(io, watch(io, child.pidfd.get(), child.pid, st), asio::detached);
  asio::steady_timer timeout(io, asio::steady_timer::time_point::max());
  arm_exec_timeout(timeout, request.timeout, [st] {
    st->timed_out = true;
    st->notify();
  });
  // A client gone while the command is silent: killed now, not at its next output.
  responder.watch_hangup([st] {
    st->hung_up = true;
    st->notify();
  });

  bool client_gone = false;
  bool killed = false;
  std::optional<std::chrono::steady_clock::time_point> exited_at;
  for (;;) {
    while (!st->frames.empty()) {
      std::string frame = std::move(st->frames.front());
      st->frames.pop_front();
      if (!client_gone && !co_await responder.write_chunk(std::move(frame))) client_gone = true;
    }
    client_gone = client_gone || st->hung_up;
    if ((st->timed_out || client_gone) && !killed) {
      killed = true;
      co_await kill_exec(manager, *sandbox, pid_file, std::string(kExecMarker) + "=" + marker_value, child.pidfd.get(), *st);
      continue;
    }
    if (st->status && st->open_streams == 0) break;
    // Once the command has exited, its background children may hold the pipes: what they
    // wrote in the next moment is sent, then the answer ends.
    if (st->status && !exited_at) exited_at = std::chrono::steady_clock::now();
    if (exited_at && std::chrono::steady_clock::now() - *exited_at > std::chrono::milliseconds(200)) {
      if (out_handle) out_handle->cancel();
      if (err_handle) err_handle->cancel();
    }
    st->wake.expires_after(exited_at ? std::chrono::milliseconds(50) : std::chrono::hours(24 * 365));
    boost::system::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  timeout.cancel();
  responder.stop_watching();
  co_await end_exec(manager, responder, ExecEnd{st->status.value_or(-1), st->timed_out, client_gone, false, started});
}

}  // namespace nucleus::daemon
