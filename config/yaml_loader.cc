#include "config/yaml_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <set>

#include "config/resources.h"
#include "core/sys/units.h"
#include "config/validate.h"
#include "core/sys/error.h"
#include "core/policy/identity.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

struct Ctx {
  std::string file;      // names the file in messages
  std::string base_dir;  // anchors relative paths
  std::string_view text;
};

std::string where(const Ctx& ctx, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return ctx.file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string what(const Ctx& ctx, const YAML::Node& node, const std::string& key) {
  return where(ctx, node) + ": " + key;
}

[[noreturn]] void fail_at(const Ctx& ctx, const YAML::Node& node, const std::string& key,
                          std::string problem) {
  throw Error(what(ctx, node, key), std::move(problem));
}

// yaml-cpp 0.7 accepts a quoted scalar that runs to the end of the file; we do not.
void check_quote_closed(const Ctx& ctx, const YAML::Node& node, const std::string& key) {
  size_t pos = static_cast<size_t>(node.Mark().pos);
  if (pos >= ctx.text.size()) return;
  char quote = ctx.text[pos];
  if (quote != '\'' && quote != '"') return;
  for (size_t i = pos + 1; i < ctx.text.size(); ++i) {
    char c = ctx.text[i];
    if (quote == '"' && c == '\\') {
      ++i;
    } else if (c == quote) {
      if (quote == '\'' && i + 1 < ctx.text.size() && ctx.text[i + 1] == '\'') {
        ++i;  // '' is an escaped quote
        continue;
      }
      return;
    }
  }
  fail_at(ctx, node, key, "unclosed quote");
}

// docs/yaml-reference.md: no explicit tags (`!!python/object/...`, `!!binary`) on any node:
// a mapping, a list, a key or a value ("!" is yaml-cpp's mark of a quoted scalar). Checked
// where each node is read, so nothing is walked that the loader would not read anyway (an
// alias bomb is refused for its unknown keys before it is expanded).
void refuse_tag(const Ctx& ctx, const YAML::Node& node, const std::string& key) {
  const std::string& tag = node.Tag();
  if (tag != "?" && !tag.empty() && !(tag == "!" && node.IsScalar())) {
    fail_at(ctx, node, key, "explicit YAML tags are not supported");
  }
}

std::string scalar(const Ctx& ctx, const YAML::Node& node, const std::string& key) {
  if (!node.IsDefined() || node.IsNull()) fail_at(ctx, node, key, "expected a value");
  if (!node.IsScalar()) fail_at(ctx, node, key, "expected a single value, not a list or mapping");
  refuse_tag(ctx, node, key);
  if (node.Tag() == "!") check_quote_closed(ctx, node, key);
  if (auto problem = check_no_nul(node.Scalar())) fail_at(ctx, node, key, *problem);
  return node.Scalar();
}

bool boolean(const Ctx& ctx, const YAML::Node& node, const std::string& key) {
  std::string s = scalar(ctx, node, key);
  if (node.Tag() == "?" && s == "true") return true;
  if (node.Tag() == "?" && s == "false") return false;
  fail_at(ctx, node, key, "expected true or false, got '" + s + "'");
}

std::vector<std::string> string_list(const Ctx& ctx, const YAML::Node& node,
                                     const std::string& key) {
  refuse_tag(ctx, node, key);
  if (!node.IsSequence()) fail_at(ctx, node, key, "expected a list");
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(scalar(ctx, node[i], key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <typename Table>
std::string unknown_key_message(std::string_view name, const Table& table) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& field : table) {
    size_t d = edit_distance(name, field.name);
    if (d < best_distance) best = std::string(field.name), best_distance = d;
  }
  return best.empty() ? "unknown key" : "unknown key (did you mean '" + best + "'?)";
}

// Walks a mapping; refuses non-string and duplicate keys (yaml-cpp 0.7 keeps duplicates).
template <typename Fn>
void for_each_entry(const Ctx& ctx, const YAML::Node& map, const std::string& path, Fn fn) {
  refuse_tag(ctx, map, path.empty() ? "(document)" : path);
  if (!map.IsMap()) fail_at(ctx, map, path.empty() ? "(document)" : path, "expected a mapping");
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node& key = it->first;
    std::string name = scalar(ctx, key, path.empty() ? "(key)" : path + ".(key)");
    std::string keypath = path.empty() ? name : path + "." + name;
    if (!seen.insert(name).second) fail_at(ctx, key, keypath, "duplicate key");
    // yaml-cpp marks an empty value at the next token; the key is where the user looks.
    if (it->second.IsNull()) fail_at(ctx, key, keypath, "expected a value");
    fn(name, keypath, key, it->second);
  }
}

template <typename Spec, typename Table>
void parse_fields(const Ctx& ctx, const YAML::Node& map, const std::string& path, Spec& spec,
                  const Table& table) {
  for_each_entry(ctx, map, path, [&](const std::string& name, const std::string& keypath,
                                     const YAML::Node& key, const YAML::Node& value) {
    auto field = std::find_if(std::begin(table), std::end(table),
                              [&](const auto& f) { return f.name == name; });
    if (field == std::end(table)) fail_at(ctx, key, keypath, unknown_key_message(name, table));
    field->parse(ctx, value, keypath, spec);
  });
}

template <typename Spec>
struct Field {
  std::string_view name;
  void (*parse)(const Ctx&, const YAML::Node&, const std::string&, Spec&);
};

using N = const YAML::Node&;
using K = const std::string&;

// clang-format off
constexpr Field<ResourceSpec> kResourceFields[] = {
  {"memory", [](const Ctx& c, N v, K k, ResourceSpec& r) { r.memory_bytes = parse_memory(scalar(c, v, k), what(c, v, k)); }},
  {"cpus",   [](const Ctx& c, N v, K k, ResourceSpec& r) { r.cpus = parse_cpu_count(scalar(c, v, k), what(c, v, k)); }},
  {"pids",   [](const Ctx& c, N v, K k, ResourceSpec& r) { r.pids = parse_pids(scalar(c, v, k), what(c, v, k)); }},
  {"io_weight", [](const Ctx& c, N v, K k, ResourceSpec& r) { r.io_weight = parse_io_weight(scalar(c, v, k), what(c, v, k)); }},
  {"io_max", [](const Ctx& c, N v, K k, ResourceSpec& r) {
      r.io_max = string_list(c, v, k);
      for (const std::string& m : r.io_max) parse_io_max(m, what(c, v, k)); }},
  {"cgroup_parent", [](const Ctx& c, N v, K k, ResourceSpec& r) {
      r.cgroup_parent = parse_cgroup_parent(scalar(c, v, k), what(c, v, k)); }},
};

constexpr Field<CapabilityChanges> kCapabilityFields[] = {
  {"add",  [](const Ctx& c, N v, K k, CapabilityChanges& s) { s.add = string_list(c, v, k); }},
  {"drop", [](const Ctx& c, N v, K k, CapabilityChanges& s) { s.drop = string_list(c, v, k); }},
};

// A service's health check: cmd a string (run with /bin/sh -c) or an argv list.
constexpr Field<HealthSpec> kHealthFields[] = {
  {"cmd", [](const Ctx& c, N v, K k, HealthSpec& h) {
      h.command = v.IsSequence() ? string_list(c, v, k) : std::vector<std::string>{"/bin/sh", "-c", scalar(c, v, k)};
      if (h.command.empty() || h.command.back().empty()) fail_at(c, v, k, "must name a command"); }},
  {"interval",     [](const Ctx& c, N v, K k, HealthSpec& h) { h.interval_ms = parse_duration(scalar(c, v, k), what(c, v, k)); }},
  {"timeout",      [](const Ctx& c, N v, K k, HealthSpec& h) { h.timeout_ms = parse_duration(scalar(c, v, k), what(c, v, k)); }},
  {"start_period", [](const Ctx& c, N v, K k, HealthSpec& h) { h.start_period_ms = parse_duration(scalar(c, v, k), what(c, v, k)); }},
  {"retries",      [](const Ctx& c, N v, K k, HealthSpec& h) { h.retries = parse_retries(scalar(c, v, k), what(c, v, k)); }},
  {"on_failure",   [](const Ctx& c, N v, K k, HealthSpec& h) { h.on_failure = parse_on_failure(scalar(c, v, k), what(c, v, k)); }},
};

constexpr Field<WorkloadSpec> kWorkloadFields[] = {
  {"detach",    [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.service.detach = boolean(c, v, k); }},
  {"restart",   [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.service.restart = parse_restart(scalar(c, v, k), what(c, v, k)); }},
  {"health",    [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      HealthSpec health;
      parse_fields(c, v, k, health, kHealthFields);
      if (health.command.empty()) fail_at(c, v, k, "needs cmd");
      s.service.health = health; }},
  {"secrets",   [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.service.secrets.clear();
      for (const std::string& item : string_list(c, v, k)) s.service.secrets.push_back(parse_secret(item, c.base_dir, what(c, v, k)));
      for (size_t i = 0; i < s.service.secrets.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (s.service.secrets[i].name == s.service.secrets[j].name) fail_at(c, v, k, "two secrets named '" + s.service.secrets[i].name + "'");
        }
      } }},
  {"log_max_size",  [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.service.log.max_size = parse_log_size(scalar(c, v, k), what(c, v, k)); }},
  {"log_max_files", [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.service.log.max_files = parse_log_files(scalar(c, v, k), what(c, v, k)); }},
  {"sdnotify",  [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.service.sdnotify = parse_sdnotify(scalar(c, v, k), what(c, v, k)); }},
  {"depends_on", [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.service.depends_on.clear();
      if (v.IsSequence()) {
        for (const std::string& name : string_list(c, v, k)) s.service.depends_on[name] = DependsCondition::kStarted;
        return;
      }
      for_each_entry(c, v, k, [&](const std::string& name, K keypath, N, N value) {
        N condition = value.IsMap() && value["condition"] ? value["condition"] : value;
        std::string text = scalar(c, condition, keypath);
        if (text == "service_started") text = "started";
        if (text == "service_healthy") text = "healthy";
        s.service.depends_on[name] = parse_depends_condition(text, what(c, condition, keypath));
      }); }},
  {"command",   [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.command = string_list(c, v, k);
      if (s.command.empty()) fail_at(c, v, k, "must name a program"); }},
  {"isolation", [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      auto level = parse_isolation_level(scalar(c, v, k));
      if (!level) fail_at(c, v, k, "expected trusted, standard or untrusted");
      s.isolation = *level; }},
  {"backend",   [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      auto backend = parse_backend(scalar(c, v, k));
      if (!backend) fail_at(c, v, k, "expected native or gvisor");
      s.backend = *backend; }},
  {"rootfs",    [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      std::string raw = scalar(c, v, k);
      auto path = absolute_path(raw, c.base_dir);
      if (!path) fail_at(c, v, k, "expected a path");
      s.rootfs = *path; }},
  {"read_only", [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.read_only = boolean(c, v, k); }},
  {"layer_size", [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.layer_size = parse_layer_size(scalar(c, v, k), what(c, v, k)); }},
  {"user",      [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.user = scalar(c, v, k);
      parse_user_spec(*s.user, what(c, v, k)); }},
  {"groups",    [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.groups = string_list(c, v, k);
      for (const std::string& g : s.groups) parse_group_ref(g, what(c, v, k)); }},
  {"env",       [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.env.clear();
      for_each_entry(c, v, k, [&](const std::string& name, K keypath, N key, N value) {
        if (auto problem = check_env_key(name)) fail_at(c, key, keypath, *problem);
        s.env.emplace_back(name, scalar(c, value, keypath));
      }); }},
  {"workdir",   [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.workdir = scalar(c, v, k);
      if (s.workdir.empty() || s.workdir[0] != '/') fail_at(c, v, k, "must be an absolute path"); }},
  {"hostname",  [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.hostname = scalar(c, v, k);
      if (auto problem = check_hostname(s.hostname)) fail_at(c, v, k, *problem); }},
  {"resources", [](const Ctx& c, N v, K k, WorkloadSpec& s) { parse_fields(c, v, k, s.resources, kResourceFields); }},
  {"network",   [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      auto network = parse_network(scalar(c, v, k));
      if (!network) fail_at(c, v, k, "expected none, bridge, pasta or host");
      s.network = *network; }},
  {"ports",     [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.bridge.publish.clear();
      for (const std::string& p : string_list(c, v, k)) s.bridge.publish.push_back(parse_publish(p, what(c, v, k))); }},
  {"egress",    [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.bridge.egress.clear();
      for (const std::string& e : string_list(c, v, k)) s.bridge.egress.push_back(parse_egress_rule(e, what(c, v, k))); }},
  {"dns",       [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.bridge.resolvers.clear();
      for (const std::string& d : string_list(c, v, k)) {
        auto ip = parse_ip(d);
        if (!ip) fail_at(c, v, k, "'" + d + "' is not an IP address");
        s.bridge.resolvers.push_back(*ip);
      } }},
  {"extra_hosts", [](const Ctx& c, N v, K k, WorkloadSpec& s) {  // compose's list or map
      s.bridge.extra_hosts.clear();
      if (v.IsMap()) {
        for_each_entry(c, v, k, [&](const std::string& name, K keypath, N, N value) {
          s.bridge.extra_hosts.push_back(parse_extra_host(name + ":" + scalar(c, value, keypath), what(c, value, keypath)));
        });
        return;
      }
      for (const std::string& h : string_list(c, v, k)) s.bridge.extra_hosts.push_back(parse_extra_host(h, what(c, v, k))); }},
  {"subnet",    [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.bridge.subnet4 = parse_subnet(scalar(c, v, k), IpFamily::kV4, what(c, v, k)); }},
  {"subnet6",   [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.bridge.subnet6 = parse_subnet(scalar(c, v, k), IpFamily::kV6, what(c, v, k)); }},
  {"volumes",   [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.volumes.clear();
      refuse_tag(c, v, k);
      if (!v.IsSequence()) fail_at(c, v, k, "expected a list of SRC:DST[:ro|rw]");
      for (size_t i = 0; i < v.size(); ++i) {
        std::string key = k + "[" + std::to_string(i) + "]";
        s.volumes.push_back(parse_volume(scalar(c, v[i], key), c.base_dir, what(c, v[i], key)));
      } }},
  {"tmpfs",     [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      s.tmpfs.clear();
      refuse_tag(c, v, k);
      if (!v.IsSequence()) fail_at(c, v, k, "expected a list of DST[:SIZE]");
      for (size_t i = 0; i < v.size(); ++i) {
        std::string key = k + "[" + std::to_string(i) + "]";
        s.tmpfs.push_back(parse_tmpfs(scalar(c, v[i], key), what(c, v[i], key)));
      } }},
  {"capabilities", [](const Ctx& c, N v, K k, WorkloadSpec& s) { parse_fields(c, v, k, s.capabilities, kCapabilityFields); }},
  {"seccomp",   [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.seccomp = parse_seccomp(scalar(c, v, k), c.base_dir, what(c, v, k)); }},
  {"landlock",  [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.landlock = boolean(c, v, k); }},
  {"init",      [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.init = boolean(c, v, k); }},
  {"sd_notify", [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.sd_notify = boolean(c, v, k); }},
  {"timeout",   [](const Ctx& c, N v, K k, WorkloadSpec& s) { s.timeout_seconds = parse_timeout(scalar(c, v, k), what(c, v, k)); }},
  {"gvisor_platform", [](const Ctx& c, N v, K k, WorkloadSpec& s) {
      auto platform = parse_gvisor_platform(scalar(c, v, k));
      if (!platform) fail_at(c, v, k, "expected auto, ptrace, systrap or kvm");
      s.gvisor_platform = *platform; }},
};
// clang-format on

void check_encoding(std::string_view text, const std::string& file) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") throw Error(file + ":1:1", "byte-order mark; save as plain UTF-8");
  size_t line = 1, col = 1;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len != 0 && i + len <= text.size() && c != 0;
    for (size_t j = 1; ok && j < len; ++j) ok = (static_cast<unsigned char>(text[i + j]) >> 6) == 0x2;
    if (!ok) {
      throw Error(file + ":" + std::to_string(line) + ":" + std::to_string(col),
                  c == 0 ? "NUL byte in the file" : "invalid UTF-8");
    }
    if (c == '\n') ++line, col = 0;
    ++col;
    i += len;
  }
}

}  // namespace

const WorkloadSpec& WorkloadFile::get(std::string_view name) const {
  for (const auto& [n, spec] : workloads) {
    if (n == name) return spec;
  }
  // A file may hold thousands: the message names a few (an error is one readable line).
  constexpr size_t kNamed = 10;
  std::string names;
  for (size_t i = 0; i < workloads.size() && i < kNamed; ++i) names += (i == 0 ? "" : ", ") + workloads[i].first;
  if (workloads.size() > kNamed) names += ", ... " + std::to_string(workloads.size() - kNamed) + " more";
  throw Error(path, "no workload named '" + capped(name) + "' (it has: " + names + ")");
}

WorkloadFile parse_workload_file(std::string_view text, const std::string& path) {
  check_encoding(text, path);
  std::string base_dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  if (base_dir.empty()) base_dir = path[0] == '/' ? "/" : ".";
  char resolved[PATH_MAX];
  if (::realpath(base_dir.c_str(), resolved) != nullptr) base_dir = resolved;
  Ctx ctx{path, base_dir, text};

  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1),
                e.msg);
  }
  if (docs.empty()) throw Error(path + ":1:1", "empty file: expected version and workloads");
  if (docs.size() > 1) throw Error(path, "holds " + std::to_string(docs.size()) + " YAML documents; expected one");
  const YAML::Node& root = docs[0];
  if (!root.IsMap()) fail_at(ctx, root, "(document)", "expected a mapping with version and workloads");

  WorkloadFile file;
  file.path = path;
  WorkloadSpec defaults;
  std::optional<YAML::Node> workloads;
  bool have_version = false;
  for_each_entry(ctx, root, "", [&](const std::string& name, K keypath, N key, N value) {
    if (name == "version") {
      if (scalar(ctx, value, keypath) != "1" || value.Tag() != "?") {
        fail_at(ctx, value, keypath, "unsupported version '" + value.Scalar() + "' (this nucleus reads version 1)");
      }
      have_version = true;
    } else if (name == "defaults") {
      parse_fields(ctx, value, keypath, defaults, kWorkloadFields);
    } else if (name == "workloads" || name == "services") {
      if (workloads) fail_at(ctx, key, keypath, "a file has workloads or services, not both");
      workloads = value;
      file.stack = name == "services";
    } else {
      fail_at(ctx, key, keypath, "unknown key (expected version, defaults, workloads or services)");
    }
  });
  if (!have_version) fail_at(ctx, root, "version", "missing (write version: 1)");
  if (!workloads) fail_at(ctx, root, "workloads", "missing (or services, for a stack)");
  for_each_entry(ctx, *workloads, "workloads", [&](const std::string& name, K keypath, N key, N value) {
    if (auto problem = check_container_name(name)) fail_at(ctx, key, keypath, "invalid workload name: " + *problem);
    WorkloadSpec spec = defaults;
    parse_fields(ctx, value, keypath, spec, kWorkloadFields);
    file.workloads.emplace_back(name, std::move(spec));
  });
  if (file.workloads.empty()) fail_at(ctx, *workloads, "workloads", "defines no workload");
  return file;
}

WorkloadFile load_workload_file(const std::string& path) {
  return parse_workload_file(sys::read_file(path, kMaxWorkloadFileBytes, "read " + path), path);
}

}  // namespace nucleus
