// `run -d`: the service's record, its monitor forked, and the caller's wait for "started"
// (or "ready") on a pipe.
#include "frontend/service_launch.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "config/spec_json.h"
#include "core/container/container_record.h"
#include "core/container/notify_socket.h"
#include "core/service/events.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/service_monitor.h"

namespace nucleus::frontend {
namespace {

std::vector<SecretContent> read_secrets(const ServiceSpec& service) {
  std::vector<SecretContent> out;
  for (const SecretSpec& s : service.secrets) {
    out.push_back({s.name, sys::read_file(s.source, kMaxSecretBytes, "--secret " + s.source)});
  }
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd || sys::write_all(fd.get(), text.data(), text.size()) != 0) throw_errno("write the service record", path);
}

// The secrets' directory is bound read-only at /run/secrets; its content exists only in the
// monitor's mount namespace.
void add_secrets_mount(ContainerSpec& spec, const std::string& dir) {
  spec.mounts.push_back({"/run/secrets", "bind", dir + "/secrets", {"rbind", "ro", "nosuid", "nodev", "noexec"}});
}

// The monitor's answer: "OK" once started (or ready), "ERR code message" when the first
// start failed; EOF: it died.
int wait_for_monitor(int fd, pid_t monitor) {
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    answer.append(buf, static_cast<size_t>(n));
    if (answer.find('\n') != std::string::npos) break;
  }
  if (answer.rfind("OK", 0) == 0) return 0;
  if (answer.rfind("ERR ", 0) == 0) {
    size_t space = answer.find(' ', 4);
    int code = std::atoi(answer.substr(4, space - 4).c_str());
    std::string message = space == std::string::npos ? "" : answer.substr(space + 1);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    // The monitor has cleaned up; wait until it is gone, so nothing outlives the error.
    int status;
    ::waitpid(monitor, &status, 0);
    throw Error(message, "", 0, code == 0 ? 125 : code);
  }
  ::waitpid(monitor, nullptr, WNOHANG);
  throw Error("start the service's monitor", "it ended before the container started");
}

// Forks the monitor (the caller's child until the caller exits; then init's).
void launch(MonitorContext context) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("create a pipe");
  UniqueFd reader(pipe_fds[0]);
  context.report.reset(pipe_fds[1]);
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork the service's monitor");
  if (pid == 0) {
    reader.reset();
    monitor_service(std::move(context));
  }
  context.report.reset();
  context.lock.reset();  // the monitor's copy holds the lock now
  wait_for_monitor(reader.get(), pid);
}

}  // namespace

void add_service_options(LazyOptions& add, ServiceFlags& f) {
  add.flag("-d,--detach", f.detach, "Run in the background under a monitor; print the id");
  add.option("--restart", f.restart, "no (default), on-failure[:N], always or unless-stopped (-d)");
  add.option("--log-max-size", f.log_max_size, "Rotate the log at this size (default 10m; -d)");
  add.option("--log-max-files", f.log_max_files, "Log files kept, the current one included (default 3; -d)");
  add.option("--health-cmd", f.health_cmd, "Health check, run with /bin/sh -c inside the container (-d)");
  add.option("--health-interval", f.health_interval, "Time between checks (default 30s)");
  add.option("--health-timeout", f.health_timeout, "A check running longer fails (default 30s)");
  add.option("--health-retries", f.health_retries, "Failures in a row that make it unhealthy (default 3)");
  add.option("--health-start-period", f.health_start_period, "Failures before this do not count (default 0s)");
  add.option("--health-on-failure", f.health_on_failure, "none (default), kill or restart, once unhealthy");
  add.option("--sdnotify", f.sdnotify, "container, healthy or ignore (default): when READY=1 goes to NOTIFY_SOCKET");
  add.many("--secret", f.secrets, "SRC[:NAME]: the file at /run/secrets/NAME (repeatable; -d)");
}

ContainerSpec service_container_spec(ContainerSpec spec, const ServiceSpec& service, const std::string& dir) {
  if (!service.secrets.empty()) add_secrets_mount(spec, dir);
  return spec;
}

int run_detached(const std::string& root, const WorkloadSpec& request, ContainerSpec spec, bool print_id) {
  // Checked before anything exists, as --sd-notify's (core/container/notify_socket.h).
  const char* notify_socket = ::getenv("NOTIFY_SOCKET");
  if (request.service.sdnotify != SdNotifyMode::kIgnore && notify_socket != nullptr) validate_notify_socket(notify_socket);
  MonitorContext context;
  context.root = root;
  context.id = request.name.empty() ? generate_container_id() : request.name;
  context.service = request.service;
  context.secrets = read_secrets(request.service);
  context.dir = service::claim_service_dir(root, context.id);
  try {
    if (!context.service.secrets.empty() && ::mkdir((context.dir + "/secrets").c_str(), 0700) != 0) {
      throw_errno("create the secrets directory", context.dir);
    }
    spec = service_container_spec(std::move(spec), context.service, context.dir);
    write_text(context.dir + "/service.json", service_spec_to_json(context.service));
    write_spec_file(context.dir, spec);
    service::ServiceState state;
    state.created = rfc3339_now();
    service::write_state(context.dir, state);
    context.lock = service::take_monitor_lock(context.dir);
    context.spec = std::move(spec);
  } catch (...) {
    service::remove_service_dir(root, context.id);
    throw;
  }
  std::string id = context.id;
  try {
    launch(std::move(context));
  } catch (const Error&) {
    service::remove_service_dir(root, id);  // nothing started: nothing stays
    throw;
  }
  if (print_id) std::cout << id << std::endl;
  return 0;
}

void relaunch_service(const std::string& root, const std::string& id) {
  MonitorContext context;
  context.root = root;
  context.id = id;
  context.dir = service::service_dir(root, id);
  context.service = service_spec_from_json(sys::read_file(context.dir + "/service.json", 1u << 20, "read the service record"));
  // A secret is read again from its source at each start of a monitor, never kept.
  for (SecretSpec& s : context.service.secrets) s = parse_secret(s.source + ":" + s.name, "/", "--secret");
  context.secrets = read_secrets(context.service);
  context.spec = read_spec_file(context.dir);
  // What a monitor killed between two runs left of its cgroup (none is running: stopped).
  service::remove_dead_monitor_cgroup(context.dir, std::chrono::seconds(2));
  service::ServiceState state = service::read_state(context.dir);
  state.status = "created";
  service::write_state(context.dir, state);
  ::unlink((context.dir + "/stop").c_str());
  context.lock = service::take_monitor_lock(context.dir);
  launch(std::move(context));
}

}  // namespace nucleus::frontend
