#include "config/validate.h"

#include <algorithm>
#include <array>
#include <set>

#include "core/sys/units.h"
#include "core/sys/error.h"
#include "core/policy/identity.h"

namespace nucleus {
namespace {

// Host paths never bound into a container: the kernel's interfaces, host configuration
// and secrets, and runtime state (nucleus's own included).
constexpr std::array<std::string_view, 8> kDeniedSources = {
    "/proc", "/sys", "/dev", "/etc", "/root", "/run", "/var/run", "/boot",
};
// Container paths no mount may cover: the kernel filesystems nucleus sets up and masks,
// and the system directories of the root.
constexpr std::array<std::string_view, 11> kDeniedDestinations = {
    "/proc", "/sys", "/dev", "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/boot",
};

bool is_under(std::string_view path, std::string_view dir) {
  if (path.substr(0, dir.size()) != dir) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

[[noreturn]] void fail(const std::string& what, std::string problem) {
  throw Error(what, std::move(problem));
}

void require(const std::string& what, const std::optional<std::string>& problem) {
  if (problem) fail(what, *problem);
}

std::string single_quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

std::optional<std::string> check_container_name(std::string_view name) {
  auto bad = [&] {
    return "invalid container name " + single_quoted(name) +
           ": use 1-128 of [a-zA-Z0-9_.-], starting with a letter or digit";
  };
  if (name.empty() || name.size() > 128) return bad();
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return bad();
  for (char c : name) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return bad();
  }
  return std::nullopt;
}

std::optional<std::string> check_hostname(std::string_view name) {
  // RFC 1123: dot-separated labels of 1-63 [a-zA-Z0-9-], no leading or trailing '-';
  // at most HOST_NAME_MAX (64) bytes in all.
  auto bad = [&](const char* why) { return "invalid hostname " + single_quoted(name) + ": " + why; };
  if (name.empty()) return bad("empty");
  if (name.size() > 64) return bad("longer than 64 characters");
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return bad("each label must have 1-63 characters");
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-';
      if (!ok) return bad("only letters, digits, '-' and '.' are allowed");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

std::optional<std::string> check_env_key(std::string_view key) {
  if (key.empty()) return "empty environment variable name";
  if (key.find('=') != std::string_view::npos) {
    return "environment variable name " + single_quoted(key) + " contains '='";
  }
  if (key.find('\0') != std::string_view::npos) return "environment variable name contains NUL";
  return std::nullopt;
}

std::optional<std::string> check_no_nul(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return "contains a NUL byte";
  return std::nullopt;
}

std::optional<std::string> check_destination(std::string_view path) {
  if (path.empty() || path[0] != '/') return "path " + single_quoted(path) + " is not absolute";
  if (path == "/") return "cannot mount over the container's root /";
  for (std::string_view denied : kDeniedDestinations) {
    if (is_under(path, denied)) {
      return single_quoted(path) + " is under " + std::string(denied) + ", which nucleus manages";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_volume_source(std::string_view path) {
  if (path == "/") return "binding the host's root / is not allowed";
  for (std::string_view denied : kDeniedSources) {
    if (is_under(path, denied)) {
      return "host path " + single_quoted(path) + " is under " + std::string(denied) +
             ", which is never bound into a container";
    }
  }
  return std::nullopt;
}

std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (std::string_view part : parts) out.append("/").append(part);
  return out.empty() ? "/" : out;
}

std::optional<std::string> absolute_path(std::string_view path, const std::string& base_dir) {
  if (!path.empty() && path[0] == '/') return normalize_path(path);
  if (base_dir.empty() || path.empty()) return std::nullopt;
  return normalize_path(base_dir + "/" + std::string(path));
}

std::pair<std::string, std::string> parse_env_assignment(std::string_view text,
                                                         const std::string& what) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) fail(what, "expected KEY=VALUE, got " + single_quoted(text));
  std::string key(text.substr(0, eq));
  std::string value(text.substr(eq + 1));
  require(what, check_env_key(key));
  require(what, check_no_nul(value));
  return {key, value};
}

VolumeSpec parse_volume(std::string_view text, const std::string& base_dir,
                        const std::string& what) {
  require(what, check_no_nul(text));
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    fail(what, "expected SRC:DST[:ro|rw], got " + single_quoted(text));
  }
  VolumeSpec v;
  if (parts.size() == 3) {
    if (parts[2] != "ro" && parts[2] != "rw") {
      fail(what, "mode must be ro or rw, got " + single_quoted(parts[2]));
    }
    v.read_only = parts[2] == "ro";
  }
  auto source = absolute_path(parts[0], base_dir);
  if (!source) fail(what, "source " + single_quoted(parts[0]) + " must be an absolute path");
  require(what, check_volume_source(*source));
  if (parts[1][0] != '/') fail(what, "destination " + single_quoted(parts[1]) + " must be absolute");
  v.source = *source;
  v.destination = normalize_path(parts[1]);
  require(what, check_destination(v.destination));
  return v;
}

TmpfsSpec parse_tmpfs(std::string_view text, const std::string& what) {
  require(what, check_no_nul(text));
  size_t colon = text.find(':');
  std::string_view path = text.substr(0, colon);
  if (path.empty() || path[0] != '/') fail(what, "destination " + single_quoted(path) + " must be absolute");
  TmpfsSpec t;
  t.destination = normalize_path(path);
  require(what, check_destination(t.destination));
  t.size_bytes = kDefaultTmpSize;
  if (colon != std::string_view::npos) {
    auto size = parse_size(text.substr(colon + 1));
    if (!size || *size < 4096) {
      fail(what, "invalid tmpfs size " + single_quoted(text.substr(colon + 1)) + " (e.g. 64M, at least 4K)");
    }
    t.size_bytes = *size;
  }
  return t;
}

uint64_t parse_memory(std::string_view text, const std::string& what) {
  auto size = parse_size(text);
  if (!size) fail(what, "invalid size " + single_quoted(text) + " (an integer with K, M, G or T)");
  if (*size < kMinMemory) {
    fail(what, "memory limit " + single_quoted(text) + " is below the minimum of " + format_size(kMinMemory));
  }
  return *size;
}

uint64_t parse_layer_size(std::string_view text, const std::string& what) {
  auto size = parse_size(text);
  if (!size || *size < kMinLayerSize) fail(what, "invalid layer size " + single_quoted(text) + " (e.g. 512M or 4G, at least 1M)");
  return *size;
}

double parse_cpu_count(std::string_view text, const std::string& what) {
  auto cpus = parse_cpus(text);
  if (!cpus) fail(what, "invalid CPU count " + single_quoted(text) + " (a number above 0, at most 1024)");
  return *cpus;
}

int64_t parse_pids(std::string_view text, const std::string& what) {
  if (text == "max" || text == "-1") return -1;
  auto pids = parse_integer(text, 1, 4194304);
  if (!pids) {
    fail(what, "invalid pids limit " + single_quoted(text) + " (1 to 4194304, or -1/max for unlimited)");
  }
  return *pids;
}

uint32_t parse_timeout(std::string_view text, const std::string& what) {
  auto t = parse_integer(text, 1, kMaxTimeout);
  if (!t) fail(what, "invalid timeout " + single_quoted(text) + " (whole seconds, 1 to 31536000)");
  return static_cast<uint32_t>(*t);
}

SeccompRequest parse_seccomp(std::string_view text, const std::string& base_dir,
                          const std::string& what) {
  SeccompRequest s;
  if (text == "default") return s;
  if (text == "unconfined") {
    s.mode = SeccompMode::kUnconfined;
    return s;
  }
  require(what, check_no_nul(text));
  auto path = absolute_path(text, base_dir);
  if (!path) fail(what, "expected default, unconfined or an absolute path to a JSON profile");
  s.mode = SeccompMode::kFile;
  s.profile_path = *path;
  return s;
}

// ---- spec-level checks -----------------------------------------------------------------
namespace {

void check_command(const WorkloadSpec& spec) {
  if (spec.command.empty()) fail("command", "no command given");
  if (spec.command[0].empty()) fail("command", "the command name is empty");
  for (const std::string& arg : spec.command) require("command", check_no_nul(arg));
}

void check_sizes(const WorkloadSpec& spec) {
  if (spec.env.size() > kMaxEnvVars) {
    fail("environment", std::to_string(spec.env.size()) + " variables, more than the " +
                            std::to_string(kMaxEnvVars) + " allowed");
  }
  size_t bytes = 0;
  for (const std::string& arg : spec.command) bytes += arg.size() + 1 + sizeof(char*);
  for (const auto& [k, v] : spec.env) bytes += k.size() + v.size() + 2 + sizeof(char*);
  if (bytes > kMaxArgEnvBytes) {
    fail("command and environment",
         std::to_string(bytes) + " bytes, more than the 1MiB nucleus passes to exec (E2BIG)");
  }
}

void check_names(const WorkloadSpec& spec) {
  if (!spec.name.empty()) require("name", check_container_name(spec.name));
  require("hostname", check_hostname(spec.hostname));
  for (const auto& [k, v] : spec.env) {
    require("environment", check_env_key(k));
    require("environment " + k, check_no_nul(v));
  }
}

void check_identity(const WorkloadSpec& spec) {
  if (spec.user) parse_user_spec(*spec.user, "user");
  for (const std::string& g : spec.groups) parse_group_ref(g, "group");
}

void check_paths(const WorkloadSpec& spec) {
  if (spec.workdir.empty() || spec.workdir[0] != '/') {
    fail("workdir", single_quoted(spec.workdir) + " is not an absolute path");
  }
  std::string wd = normalize_path(spec.workdir);
  for (std::string_view denied : {"/proc", "/sys", "/dev"}) {
    if (is_under(wd, denied)) fail("workdir", single_quoted(spec.workdir) + " is under " + std::string(denied));
  }
  if (spec.rootfs) {
    require("rootfs", check_no_nul(*spec.rootfs));
    if (spec.rootfs->empty() || (*spec.rootfs)[0] != '/') {
      fail("rootfs", single_quoted(*spec.rootfs) + " is not an absolute path");
    }
    if (normalize_path(*spec.rootfs) == "/") {
      fail("rootfs", "the host's / is not a rootfs; omit --rootfs for the host read-only view");
    }
  }
  std::set<std::string> destinations;
  auto add = [&](const std::string& dst) {
    if (!destinations.insert(dst).second) fail("mounts", "two mounts at " + dst);
  };
  for (const VolumeSpec& v : spec.volumes) {
    require("volume " + v.source, check_volume_source(v.source));
    require("volume " + v.destination, check_destination(v.destination));
    add(v.destination);
  }
  for (const TmpfsSpec& t : spec.tmpfs) {
    require("tmpfs " + t.destination, check_destination(t.destination));
    add(t.destination);
  }
}

void check_resources(const WorkloadSpec& spec) {
  const ResourceSpec& r = spec.resources;
  if (r.memory_bytes && *r.memory_bytes < kMinMemory) fail("memory", "below the minimum of 6MiB");
  if (r.cpus && !(*r.cpus > 0 && *r.cpus <= 1024)) fail("cpus", "must be above 0, at most 1024");
  if (r.pids && *r.pids == 0) fail("pids", "0 would forbid the workload itself");
  if (spec.timeout_seconds && (*spec.timeout_seconds == 0 || *spec.timeout_seconds > kMaxTimeout)) {
    fail("timeout", "must be 1 to 31536000 seconds");
  }
}

struct NamedCheck {
  const char* name;
  void (*run)(const WorkloadSpec&);
};

constexpr std::array<NamedCheck, 6> kChecks = {{
    {"command", check_command},
    {"sizes", check_sizes},
    {"names", check_names},
    {"identity", check_identity},
    {"paths", check_paths},
    {"resources", check_resources},
}};

}  // namespace

void validate_spec(const WorkloadSpec& spec) {
  for (const NamedCheck& check : kChecks) check.run(spec);
}

}  // namespace nucleus
