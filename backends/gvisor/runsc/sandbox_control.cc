#include "backends/gvisor/runsc/sandbox_control.h"

#include <linux/capability.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/policy/capabilities.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxReply = 1 << 20;
constexpr int kAnswerSeconds = 10;
constexpr std::string_view kStateSuffix = ".state";

// Each call on a connection of its own: the server answers one call at a time per
// connection, and WaitPID holds its connection until the process exits.
void send_call(int fd, const std::string& method, const json& arg, const int* fds, size_t count) {
  const std::string text = json{{"method", method}, {"arg", arg}}.dump();
  // A blocking unix stream socket takes the whole message in one sendmsg (no signal can
  // cut it short: nucleus receives its signals through a signalfd).
  if (int err = sys::send_with_fds(fd, text.data(), text.size(), fds, count)) {
    throw Error("runsc's control socket: send " + method, "", err);
  }
}

json read_reply(int fd, const std::string& method) {
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("runsc's control socket: read the answer to " + method, "", errno);
    if (n == 0) throw Error("runsc's control socket: " + method, "the sandbox closed the connection");
    reply.append(buf, static_cast<size_t>(n));
    if (json::accept(reply)) break;
    if (reply.size() > kMaxReply) throw Error("runsc's control socket: " + method, "an answer over 1 MiB");
  }
  json r = json::parse(reply);
  if (!r.is_object() || !r.contains("success") || !r["success"].is_boolean()) {
    throw Error("runsc's control socket: " + method, "an answer of unknown form: " + capped(reply));
  }
  return r;
}

std::string remote_error(const json& reply) {
  return reply.contains("err") && reply["err"].is_string() ? reply["err"].get<std::string>() : "(no message)";
}

}  // namespace

std::optional<SandboxControl> SandboxControl::find(const std::string& runsc_root, const std::string& id) {
  const std::string prefix = id + "_sandbox:";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(runsc_root, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !name.ends_with(kStateSuffix)) continue;
    // The sandbox's id, and the process that listens for it (the only peer to trust).
    json state = json::parse(sys::read_file(e.path().string(), kMaxReply, "read runsc's state"), nullptr, false);
    const json* sandbox = state.is_object() && state.contains("sandbox") ? &state["sandbox"] : nullptr;
    if (sandbox == nullptr || !sandbox->is_object() || !sandbox->contains("id") || !(*sandbox)["id"].is_string() ||
        !sandbox->contains("pid") || !(*sandbox)["pid"].is_number_integer()) {
      return std::nullopt;  // a form this nucleus does not know: runsc exec reads it
    }
    std::string recorded = state.contains("status") && state["status"].is_string() ? state["status"].get<std::string>() : "";
    return SandboxControl(id, (*sandbox)["id"].get<std::string>(), (*sandbox)["pid"].get<pid_t>(), std::move(recorded));
  }
  return std::nullopt;
}

UniqueFd SandboxControl::connect(int* err) const {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("runsc's control socket: socket");
  // Abstract, and with the NUL Go's net package counts into the address's length.
  const std::string name = "runsc-sandbox." + sandbox_;
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (name.size() + 2 > sizeof addr.sun_path) throw Error("runsc's control socket", "sandbox id too long: " + capped(sandbox_));
  std::copy(name.begin(), name.end(), addr.sun_path + 1);
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 2);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    *err = errno;
    return UniqueFd();
  }
  // An abstract name has no owner: once the sandbox is gone, any process of the host's
  // network namespace could bind it and be handed the caller's stdio. The listener must be
  // the sandbox process runsc recorded.
  ucred peer = {};
  socklen_t peer_len = sizeof peer;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0) throw_errno("runsc's control socket: SO_PEERCRED");
  // A stalled Sentry answers nothing: no call waits on it longer than runsc's own short
  // commands are given (the wait for an exec'd process reads only once its answer is there).
  timeval limit = {kAnswerSeconds, 0};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0) throw_errno("runsc's control socket: SO_RCVTIMEO");
  if (peer.pid != sandbox_pid_) {
    throw Error("runsc's control socket", "runsc-sandbox." + capped(sandbox_) + " is held by pid " +
                                              std::to_string(peer.pid) + ", not by the sandbox (pid " +
                                              std::to_string(sandbox_pid_) + ")");
  }
  return fd;
}

std::optional<pid_t> SandboxControl::execute(const SandboxProcess& p, const std::array<int, 3>& stdio) const {
  int err = 0;
  UniqueFd fd = connect(&err);
  if (!fd) return std::nullopt;
  const CapSet raw = CapSet{1} << CAP_NET_RAW;
  const CapabilitySets& c = p.capabilities;
  json arg = {{"argv", p.argv},
              {"envv", p.env},
              {"wd", p.cwd},
              {"KUID", p.uid},
              {"KGID", p.gid},
              {"ExtraKGIDs", p.additional_gids},
              {"containerID", container_},
              {"capabilities",
               {{"PermittedCaps", c.permitted & ~raw},
                {"InheritableCaps", c.inheritable & ~raw},
                {"EffectiveCaps", c.effective & ~raw},
                {"BoundingCaps", c.bounding & ~raw},
                {"AmbientCaps", c.ambient & ~raw}}}};
  send_call(fd.get(), "containerManager.ExecuteAsync", arg, stdio.data(), stdio.size());
  json r = read_reply(fd.get(), "containerManager.ExecuteAsync");
  if (!r["success"].get<bool>()) {
    std::string message = remote_error(r);
    if (message == "unknown method") return std::nullopt;
    // Go's message ends in the errno's text (or its PATH search's); the Sentry resolved the
    // command as execve does.
    int code = exit_code::kRuntimeError;
    if (message.ends_with("no such file or directory") || message.ends_with("not found in $PATH")) {
      code = exit_code::kNotFound;
    }
    if (message.ends_with("permission denied")) code = exit_code::kCannotExecute;
    throw Error("exec " + capped(p.argv.empty() ? "" : p.argv[0]), "runsc: " + capped(message), 0, code);
  }
  if (!r.contains("result") || !r["result"].is_number_integer()) {
    throw Error("runsc's control socket: containerManager.ExecuteAsync", "no pid in the answer");
  }
  return r["result"].get<pid_t>();
}

UniqueFd SandboxControl::request_wait(pid_t pid) const {
  int err = 0;
  UniqueFd fd = connect(&err);
  if (!fd) throw Error("runsc's control socket: connect to wait for the process", "", err);
  send_call(fd.get(), "containerManager.WaitPID", {{"PID", pid}, {"CID", container_}}, nullptr, 0);
  return fd;
}

int SandboxControl::read_wait_status(int connection) {
  json r = read_reply(connection, "containerManager.WaitPID");
  if (!r["success"].get<bool>()) throw Error("wait for the exec'd process", "runsc: " + capped(remote_error(r)));
  if (!r.contains("result") || !r["result"].is_number_unsigned()) {
    throw Error("runsc's control socket: containerManager.WaitPID", "no wait status in the answer");
  }
  return static_cast<int>(r["result"].get<uint32_t>());
}

bool SandboxControl::signal(pid_t pid, int signo, bool all) const {
  int err = 0;
  UniqueFd fd = connect(&err);
  if (!fd) return false;
  // Mode 0: the process itself (runsc's DeliverToProcess); 1: every process of the
  // container (DeliverToAllProcesses, whose pid must be 0).
  send_call(fd.get(), "containerManager.Signal",
            {{"CID", container_}, {"Signo", signo}, {"PID", all ? 0 : pid}, {"Mode", all ? 1 : 0}}, nullptr, 0);
  return read_reply(fd.get(), "containerManager.Signal")["success"].get<bool>();
}

std::optional<std::vector<pid_t>> SandboxControl::processes() const {
  int err = 0;
  UniqueFd fd = connect(&err);
  if (!fd) return std::nullopt;
  send_call(fd.get(), "containerManager.Processes", container_, nullptr, 0);
  json r = read_reply(fd.get(), "containerManager.Processes");
  if (!r["success"].get<bool>() || !r.contains("result") || !r["result"].is_array()) return std::nullopt;
  std::vector<pid_t> pids;
  for (const json& p : r["result"]) {
    if (!p.is_object() || !p.contains("pid") || !p["pid"].is_number_integer()) return std::nullopt;
    pids.push_back(p["pid"].get<pid_t>());
  }
  return pids;
}

std::optional<size_t> SandboxControl::process_count() const {
  std::optional<std::vector<pid_t>> pids = processes();
  if (!pids) return std::nullopt;
  return pids->size();
}

std::optional<std::string> SandboxControl::status() const {
  // runsc's Load: paused and stopped as recorded, a running container's PID 1 asked, a
  // created one's sandbox looked for.
  if (recorded_ == "stopped" || recorded_ == "paused") return recorded_;
  if (recorded_ == "running") return signal(0, 0) ? "running" : "stopped";
  if (recorded_ == "created") {
    int err = 0;
    return connect(&err) ? recorded_ : "stopped";
  }
  return std::nullopt;
}

}  // namespace nucleus::gvisor
