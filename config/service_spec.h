#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/service/log_writer.h"
#include "core/service/restart_policy.h"

// What makes a workload a service (`run -d`, YAML `detach: true`, a stack's services): its
// restart policy, health check, readiness, log bounds and secrets, as typed by flags and
// YAML and parsed once here. The monitor (frontend/service_monitor.cc) reads nothing else.
namespace nucleus {

enum class HealthOnFailure { kNone, kKill, kRestart };
enum class SdNotifyMode { kIgnore, kContainer, kHealthy };
enum class DependsCondition { kStarted, kHealthy };

struct HealthSpec {
  std::vector<std::string> command;  // argv; a string is {"/bin/sh", "-c", TEXT}
  int64_t interval_ms = 30'000;
  int64_t timeout_ms = 30'000;
  int64_t start_period_ms = 0;
  uint32_t retries = 3;
  HealthOnFailure on_failure = HealthOnFailure::kNone;
};

// A secret's file on the host, read once when the service starts; `name` is its file under
// /run/secrets. Only these paths are ever stored, never the content.
struct SecretSpec {
  std::string source;  // absolute
  std::string name;
};

struct ServiceSpec {
  bool detach = false;
  service::RestartPolicy restart;
  std::optional<HealthSpec> health;
  service::LogLimits log;
  SdNotifyMode sdnotify = SdNotifyMode::kIgnore;
  std::vector<SecretSpec> secrets;
  std::map<std::string, DependsCondition> depends_on;  // a stack's service only

  bool wants_monitor() const { return detach; }
};

inline constexpr size_t kMaxSecretBytes = 1u << 20;
inline constexpr uint64_t kMinLogSize = 64u << 10;

// Field parsers shared by flags and YAML; each throws Error(what, ...) on bad input.
service::RestartPolicy parse_restart(std::string_view text, const std::string& what);
int64_t parse_duration(std::string_view text, const std::string& what);
uint32_t parse_retries(std::string_view text, const std::string& what);
HealthOnFailure parse_on_failure(std::string_view text, const std::string& what);
SdNotifyMode parse_sdnotify(std::string_view text, const std::string& what);
DependsCondition parse_depends_condition(std::string_view text, const std::string& what);
uint64_t parse_log_size(std::string_view text, const std::string& what);
uint32_t parse_log_files(std::string_view text, const std::string& what);
// SRC[:NAME]: SRC must be a readable regular file (relative to base_dir), NAME a plain
// file name (default: SRC's).
SecretSpec parse_secret(std::string_view text, const std::string& base_dir, const std::string& what);

const char* to_string(HealthOnFailure value);
const char* to_string(SdNotifyMode value);
const char* to_string(DependsCondition value);

// service.json in a service's record (core/service/service_state.h), and back.
std::string service_spec_to_json(const ServiceSpec& spec);
ServiceSpec service_spec_from_json(const std::string& text);  // throws Error

}  // namespace nucleus
