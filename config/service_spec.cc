#include "config/service_spec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "config/validate.h"
#include "core/service/duration.h"
#include "core/sys/error.h"
#include "core/sys/units.h"

namespace nucleus {
namespace {

using json = nlohmann::json;

template <typename T, size_t N>
T from_table(const std::pair<const char*, T> (&table)[N], std::string_view text, const std::string& what,
             const char* expected) {
  for (const auto& [name, value] : table) {
    if (text == name) return value;
  }
  throw Error(what, "'" + std::string(text) + "' is not one of " + expected);
}

template <typename T, size_t N>
const char* name_in(const std::pair<const char*, T> (&table)[N], T value) {
  for (const auto& [name, v] : table) {
    if (v == value) return name;
  }
  return table[0].first;
}

constexpr std::pair<const char*, HealthOnFailure> kOnFailure[] = {
    {"none", HealthOnFailure::kNone}, {"kill", HealthOnFailure::kKill}, {"restart", HealthOnFailure::kRestart}};
constexpr std::pair<const char*, SdNotifyMode> kSdNotify[] = {
    {"ignore", SdNotifyMode::kIgnore}, {"container", SdNotifyMode::kContainer}, {"healthy", SdNotifyMode::kHealthy}};
constexpr std::pair<const char*, DependsCondition> kConditions[] = {
    {"started", DependsCondition::kStarted}, {"healthy", DependsCondition::kHealthy}};

bool plain_number(std::string_view text, size_t max_digits) {
  return !text.empty() && text.size() <= max_digits && text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

service::RestartPolicy parse_restart(std::string_view text, const std::string& what) {
  auto policy = service::parse_restart_policy(text);
  if (!policy) throw Error(what, "'" + std::string(text) + "' is not a restart policy (no, on-failure[:N], always, unless-stopped)");
  return *policy;
}

int64_t parse_duration(std::string_view text, const std::string& what) {
  auto ms = service::parse_duration_ms(text);
  if (!ms) throw Error(what, "'" + std::string(text) + "' is not a duration (e.g. 500ms, 30s, 2m)");
  return *ms;
}

uint32_t parse_retries(std::string_view text, const std::string& what) {
  if (!plain_number(text, 6)) throw Error(what, "'" + std::string(text) + "' is not a count (0 or more)");
  return static_cast<uint32_t>(std::stoul(std::string(text)));
}

HealthOnFailure parse_on_failure(std::string_view text, const std::string& what) {
  return from_table(kOnFailure, text, what, "none, kill, restart");
}

SdNotifyMode parse_sdnotify(std::string_view text, const std::string& what) {
  return from_table(kSdNotify, text, what, "container, healthy, ignore");
}

DependsCondition parse_depends_condition(std::string_view text, const std::string& what) {
  return from_table(kConditions, text, what, "started, healthy");
}

uint64_t parse_log_size(std::string_view text, const std::string& what) {
  auto size = parse_size(text);
  if (!size) throw Error(what, "'" + std::string(text) + "' is not a size (an integer with K, M or G)");
  uint64_t bytes = *size;
  if (bytes < kMinLogSize) throw Error(what, "'" + std::string(text) + "' is below the minimum log size (64k)");
  return bytes;
}

uint32_t parse_log_files(std::string_view text, const std::string& what) {
  if (!plain_number(text, 4) || std::stoul(std::string(text)) == 0) {
    throw Error(what, "'" + std::string(text) + "' is not a file count (1 or more)");
  }
  return static_cast<uint32_t>(std::stoul(std::string(text)));
}

SecretSpec parse_secret(std::string_view text, const std::string& base_dir, const std::string& what) {
  size_t colon = text.find(':');
  std::string_view src = text.substr(0, colon);
  auto source = absolute_path(src, base_dir);
  if (src.empty() || !source) throw Error(what, "'" + std::string(text) + "': the secret's source must be a file path");
  SecretSpec secret{*source, colon == std::string_view::npos ? std::string() : std::string(text.substr(colon + 1))};
  if (secret.name.empty()) secret.name = secret.source.substr(secret.source.find_last_of('/') + 1);
  if (secret.name.empty() || secret.name == "." || secret.name == ".." || secret.name.find('/') != std::string::npos ||
      secret.name.find('\0') != std::string::npos) {
    throw Error(what, "'" + secret.name + "' is not a file name under /run/secrets");
  }
  struct stat st;
  if (::stat(secret.source.c_str(), &st) != 0) throw Error(what, "secret file " + secret.source, errno);
  if (!S_ISREG(st.st_mode)) throw Error(what, "secret " + secret.source + " is not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxSecretBytes) throw Error(what, "secret " + secret.source + " is over 1 MiB");
  if (::access(secret.source.c_str(), R_OK) != 0) throw Error(what, "secret file " + secret.source, errno);
  return secret;
}

const char* to_string(HealthOnFailure value) { return name_in(kOnFailure, value); }
const char* to_string(SdNotifyMode value) { return name_in(kSdNotify, value); }
const char* to_string(DependsCondition value) { return name_in(kConditions, value); }

std::string service_spec_to_json(const ServiceSpec& s) {
  json j = {{"detach", s.detach},
            {"restart", service::to_string(s.restart)},
            {"log_max_size", s.log.max_size},
            {"log_max_files", s.log.max_files},
            {"sdnotify", to_string(s.sdnotify)}};
  json secrets = json::array();
  for (const SecretSpec& secret : s.secrets) secrets.push_back({{"source", secret.source}, {"name", secret.name}});
  j["secrets"] = secrets;
  if (s.health) {
    j["health"] = {{"command", s.health->command},          {"interval_ms", s.health->interval_ms},
                   {"timeout_ms", s.health->timeout_ms},    {"start_period_ms", s.health->start_period_ms},
                   {"retries", s.health->retries},          {"on_failure", to_string(s.health->on_failure)}};
  }
  json depends = json::object();
  for (const auto& [name, condition] : s.depends_on) depends[name] = to_string(condition);
  j["depends_on"] = depends;
  return j.dump(2) + "\n";
}

ServiceSpec service_spec_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    ServiceSpec s;
    s.detach = j.at("detach").get<bool>();
    s.restart = parse_restart(j.at("restart").get<std::string>(), "service.json");
    s.log.max_size = j.at("log_max_size").get<uint64_t>();
    s.log.max_files = j.at("log_max_files").get<uint32_t>();
    s.sdnotify = parse_sdnotify(j.at("sdnotify").get<std::string>(), "service.json");
    for (const json& secret : j.at("secrets")) {
      s.secrets.push_back({secret.at("source").get<std::string>(), secret.at("name").get<std::string>()});
    }
    if (j.contains("health")) {
      const json& h = j["health"];
      HealthSpec health;
      health.command = h.at("command").get<std::vector<std::string>>();
      health.interval_ms = h.at("interval_ms").get<int64_t>();
      health.timeout_ms = h.at("timeout_ms").get<int64_t>();
      health.start_period_ms = h.at("start_period_ms").get<int64_t>();
      health.retries = h.at("retries").get<uint32_t>();
      health.on_failure = parse_on_failure(h.at("on_failure").get<std::string>(), "service.json");
      s.health = health;
    }
    const json depends = j.value("depends_on", json::object());
    for (const auto& [name, condition] : depends.items()) {
      s.depends_on[name] = parse_depends_condition(condition.get<std::string>(), "service.json");
    }
    return s;
  } catch (const json::exception& e) {
    throw Error("service record", std::string("corrupted service.json: ") + e.what());
  }
}

}  // namespace nucleus
