// `nucleus sandbox create|exec|cp|ls|pause|resume|rm`: the client of nucleusd's API
// (docs/api.md) over its unix socket (--socket, NUCLEUS_SOCKET). Every verb is one
// request; a refusal prints the daemon's reason and exits 125; `exec` streams the
// command's output as it comes and exits with its status (124 after --timeout).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "core/sys/error.h"
#include "daemon/client/api_client.h"
#include "frontend/cli.h"
#include "frontend/verbs/sandbox_cp.h"

namespace nucleus::frontend {
namespace {

using daemon::ApiClient;
using daemon::ApiResponse;
using nlohmann::json;

struct SandboxFlags {
  std::string socket;
  std::string template_name, isolation, workspace, workspace_mode = "copy", workspace_target = "/workspace";
  std::vector<std::string> env, exclude;
  std::optional<uint32_t> ttl, idle_timeout;
  bool copy_out = false;
  std::optional<double> timeout;
  std::string cwd, user;
  bool stdin_input = false;
  bool force = false;  // rm: delete even when the workspace's copy out fails
  std::vector<std::string> args;
};

ApiResponse expect(ApiResponse r, const std::string& what) {
  if (r.status < 200 || r.status > 299) throw Error(what, daemon::error_message(r));
  return r;
}

std::map<std::string, std::string> env_map(const std::vector<std::string>& env) {
  std::map<std::string, std::string> out;
  for (const std::string& e : env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--env", "'" + e + "' is not KEY=VALUE");
    out[e.substr(0, eq)] = e.substr(eq + 1);
  }
  return out;
}

int create(const SandboxFlags& f) {
  json body = json::object();
  if (!f.template_name.empty()) body["template"] = f.template_name;
  if (!f.isolation.empty()) body["isolation"] = f.isolation;
  if (!f.env.empty()) body["env"] = env_map(f.env);
  if (f.ttl) body["ttl"] = *f.ttl;
  if (f.idle_timeout) body["idle_timeout"] = *f.idle_timeout;
  if (!f.workspace.empty()) {
    char* real = ::realpath(f.workspace.c_str(), nullptr);
    if (!real) throw_errno("--workspace " + f.workspace);
    body["workspace"] = {{"path", std::string(real)}, {"mode", f.workspace_mode}, {"target", f.workspace_target},
                         {"exclude", f.exclude}, {"copy_out", f.copy_out}};
    ::free(real);
  }
  ApiResponse r = expect(ApiClient(daemon::resolve_socket(f.socket)).call("POST", "/v1/sandboxes", body.dump()), "sandbox create");
  std::cout << json::parse(r.body).value("id", "") << "\n";
  return 0;
}

// Writes the frames of exec's NDJSON stream as they come; the last one has the status.
class ExecOutput {
 public:
  void feed(std::string_view data) {
    pending_.append(data);
    size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      line(pending_.substr(0, nl));
      pending_.erase(0, nl + 1);
    }
  }
  std::optional<int> status;

 private:
  void line(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return;
    if (j.contains("exit_code")) {
      status = j["exit_code"].get<int>();
      return;
    }
    const int fd = j.value("stream", "") == "stderr" ? 2 : 1;
    std::string data = j.contains("data") ? j["data"].get<std::string>() : decode64(j.value("data_b64", ""));
    (void)!::write(fd, data.data(), data.size());
  }
  static std::string decode64(const std::string& in) {
    std::string out;
    int val = 0, bits = -8;
    for (unsigned char c : in) {
      const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const char* p = std::strchr(table, c);
      if (c == '=' || !p || !c) break;
      val = (val << 6) + static_cast<int>(p - table);
      bits += 6;
      if (bits >= 0) {
        out.push_back(static_cast<char>((val >> bits) & 0xFF));
        bits -= 8;
      }
    }
    return out;
  }
  std::string pending_;
};

int exec(const SandboxFlags& f) {
  if (f.args.size() < 2) throw Error("sandbox exec", "usage: nucleus sandbox exec [OPTIONS] ID -- COMMAND...");
  json body{{"argv", std::vector<std::string>(f.args.begin() + 1, f.args.end())}};
  if (!f.env.empty()) body["env"] = env_map(f.env);
  if (!f.cwd.empty()) body["cwd"] = f.cwd;
  if (!f.user.empty()) body["user"] = f.user;
  if (f.timeout) body["timeout"] = *f.timeout;
  if (f.stdin_input) body["stdin"] = std::string(std::istreambuf_iterator<char>(std::cin), {});
  ExecOutput out;
  std::string error_body;
  int status = ApiClient(daemon::resolve_socket(f.socket))
                   .stream("POST", "/v1/sandboxes/" + f.args[0] + "/exec", body.dump(), [&](std::string_view d) {
                     error_body.append(d.substr(0, 65536 - std::min<size_t>(65536, error_body.size())));
                     out.feed(d);
                   });
  if (status != 200) throw Error("sandbox exec", daemon::error_message({status, error_body}));
  if (!out.status) throw Error("sandbox exec", "the daemon's answer ended before the exit status");
  return *out.status;
}

int list(const SandboxFlags& f) {
  ApiResponse r = expect(ApiClient(daemon::resolve_socket(f.socket)).call("GET", "/v1/sandboxes"), "sandbox ls");
  std::printf("%-14s %-12s %-8s %-8s %s\n", "ID", "TEMPLATE", "BACKEND", "STATUS", "EXPIRES");
  const json all = json::parse(r.body);
  for (const json& s : all["sandboxes"]) {
    int64_t expires = s.value("expires_at", int64_t{0});
    std::string in = expires ? std::to_string(std::max<int64_t>(0, expires - ::time(nullptr))) + "s" : "-";
    std::printf("%-14s %-12s %-8s %-8s %s\n", s.value("id", "").c_str(), s.value("template", "").c_str(),
                s.value("backend", "").c_str(), s.value("status", "").c_str(), in.c_str());
  }
  return 0;
}

// Every id, as `docker rm a b` does: one line for each that failed, 125 when any did.
int each(const SandboxFlags& f, const char* method, const char* suffix, const std::string& what) {
  if (f.args.empty()) throw Error(what, "no sandbox id given");
  ApiClient client(daemon::resolve_socket(f.socket));
  int status = 0;
  for (const std::string& id : f.args) {
    try {
      expect(client.call(method, "/v1/sandboxes/" + id + suffix), what + " " + id);
    } catch (const Error& e) {
      std::cerr << "nucleus: " << e.what() << "\n";
      status = 125;
    }
  }
  return status;
}

}  // namespace

void add_sandbox_command(CLI::App& app, Globals&, Action& action, const std::vector<std::string>& command) {
  CLI::App* sandbox = app.add_subcommand("sandbox", "Agent sandboxes through nucleusd (docs/api.md)");
  sandbox->require_subcommand(1);
  auto f = std::make_shared<SandboxFlags>();
  sandbox->add_option("--socket", f->socket, "nucleusd's socket (default: $NUCLEUS_SOCKET, /run/nucleus/nucleusd.sock)");
  // One value per occurrence: a vector option otherwise takes the positional ID after it too.
  auto many = [](CLI::Option* o) {
    return o->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };

  CLI::App* create_cmd = sandbox->add_subcommand("create", "Create a sandbox (from a warm pool when one is ready); prints its id");
  create_cmd->add_option("--template", f->template_name, "The template (default: default)");
  create_cmd->add_option("--isolation", f->isolation, "trusted, standard or untrusted (a cold create unless the template's)");
  many(create_cmd->add_option("-e,--env", f->env, "KEY=VALUE every exec gets (repeatable)"));
  create_cmd->add_option("--ttl", f->ttl, "Delete it after SECONDS");
  create_cmd->add_option("--idle-timeout", f->idle_timeout, "Delete it after SECONDS without an exec");
  create_cmd->add_option("--workspace", f->workspace, "A host directory to copy in (or bind, --workspace-mode)");
  create_cmd->add_option("--workspace-mode", f->workspace_mode, "copy (default), ro or rw");
  create_cmd->add_option("--workspace-target", f->workspace_target, "Where it appears (default /workspace)");
  many(create_cmd->add_option("--exclude", f->exclude, "A pattern not copied in (repeatable; .git, .env*, keys always)"));
  create_cmd->add_flag("--copy-out", f->copy_out, "Copy the workspace back out when the sandbox is deleted");
  create_cmd->callback([f, &action] { action = [f] { return create(*f); }; });

  CLI::App* exec_cmd = sandbox->add_subcommand("exec", "Run a command in a sandbox: ID -- COMMAND...");
  exec_cmd->add_option("--timeout", f->timeout, "Kill its whole process tree after SECONDS; exit 124");
  many(exec_cmd->add_option("-e,--env", f->env, "KEY=VALUE (repeatable)"));
  exec_cmd->add_option("-w,--cwd", f->cwd, "Working directory");
  exec_cmd->add_option("-u,--user", f->user, "UID[:GID]");
  exec_cmd->add_flag("-i,--stdin", f->stdin_input, "Send this stdin to the command");
  exec_cmd->add_option("id", f->args, "ID -- COMMAND...");
  exec_cmd->callback([f, &action, &command] {
    action = [f, &command] {
      f->args.insert(f->args.end(), command.begin(), command.end());
      return exec(*f);
    };
  });

  CLI::App* cp_cmd = sandbox->add_subcommand("cp", "Copy SRC ID:DIR (into the sandbox) or ID:PATH DIR (out of it)");
  cp_cmd->add_option("args", f->args, "SRC DST")->expected(2);
  cp_cmd->callback([f, &action] {
    action = [f] { return sandbox_copy(daemon::resolve_socket(f->socket), f->args.at(0), f->args.at(1)); };
  });

  sandbox->add_subcommand("ls", "List the sandboxes")->callback([f, &action] { action = [f] { return list(*f); }; });
  for (auto [name, help] : {std::pair{"pause", "Freeze sandboxes"}, std::pair{"resume", "Thaw sandboxes"},
                            std::pair{"rm", "Delete sandboxes"}}) {
    CLI::App* cmd = sandbox->add_subcommand(name, help);
    cmd->add_option("ids", f->args, "ID...")->required();
    std::string verb = name;
    if (verb == "rm") cmd->add_flag("-f,--force", f->force, "Delete even when the workspace's copy out fails");
    cmd->callback([f, verb, &action] {
      action = [f, verb] {
        if (verb == "rm") return each(*f, "DELETE", f->force ? "?force=true" : "", "sandbox rm");
        return each(*f, "POST", verb == "pause" ? "/pause" : "/resume", "sandbox " + verb);
      };
    });
  }
}

}  // namespace nucleus::frontend
