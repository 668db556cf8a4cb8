// The service flags of `run` (-d, --restart, --health-*, --sdnotify, --secret, --log-max-*)
// laid over the YAML's, parsed once into the ServiceSpec (config/service_spec.h).
#include <unistd.h>

#include "config/service_spec.h"
#include "core/sys/error.h"
#include "frontend/overrides.h"

namespace nucleus::frontend {
namespace {

HealthSpec& health_of(ServiceSpec& spec) {
  if (!spec.health) spec.health.emplace();
  return *spec.health;
}

}  // namespace

void apply_service_flags(const ServiceFlags& f, ServiceSpec& spec) {
  if (f.detach) spec.detach = true;
  if (f.restart) spec.restart = parse_restart(*f.restart, "--restart");
  if (f.log_max_size) spec.log.max_size = parse_log_size(*f.log_max_size, "--log-max-size");
  if (f.log_max_files) spec.log.max_files = parse_log_files(*f.log_max_files, "--log-max-files");
  if (f.sdnotify) spec.sdnotify = parse_sdnotify(*f.sdnotify, "--sdnotify");
  if (f.health_cmd) {
    if (f.health_cmd->empty()) throw Error("--health-cmd", "is empty");
    health_of(spec).command = {"/bin/sh", "-c", *f.health_cmd};
  }
  if (f.health_interval) health_of(spec).interval_ms = parse_duration(*f.health_interval, "--health-interval");
  if (f.health_timeout) health_of(spec).timeout_ms = parse_duration(*f.health_timeout, "--health-timeout");
  if (f.health_start_period) health_of(spec).start_period_ms = parse_duration(*f.health_start_period, "--health-start-period");
  if (f.health_retries) health_of(spec).retries = parse_retries(*f.health_retries, "--health-retries");
  if (f.health_on_failure) health_of(spec).on_failure = parse_on_failure(*f.health_on_failure, "--health-on-failure");
  const std::string cwd = current_dir();
  for (const std::string& s : f.secrets) {
    SecretSpec secret = parse_secret(s, cwd, "--secret");
    for (const SecretSpec& other : spec.secrets) {
      if (other.name == secret.name) throw Error("--secret", "two secrets named '" + secret.name + "'");
    }
    spec.secrets.push_back(secret);
  }
}

void validate_service(const ServiceSpec& spec) {
  if (spec.health) {
    if (spec.health->command.empty()) throw Error("--health-cmd", "missing: the --health-* options need a command");
    if (spec.health->interval_ms <= 0) throw Error("--health-interval", "must be longer than 0");
    if (spec.health->timeout_ms <= 0) throw Error("--health-timeout", "must be longer than 0");
  }
  if (spec.sdnotify == SdNotifyMode::kHealthy && !spec.health) {
    throw Error("--sdnotify", "healthy needs a health check (--health-cmd)");
  }
  if (spec.detach) return;
  if (spec.restart.kind != service::RestartKind::kNo) throw Error("--restart", "applies to a detached container (run -d)");
  if (spec.health) throw Error("--health-cmd", "applies to a detached container (run -d)");
  if (!spec.secrets.empty()) throw Error("--secret", "applies to a detached container (run -d)");
  if (spec.sdnotify != SdNotifyMode::kIgnore) throw Error("--sdnotify", "applies to a detached container (run -d)");
}

}  // namespace nucleus::frontend
