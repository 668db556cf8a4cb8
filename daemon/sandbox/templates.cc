#include "daemon/sandbox/templates.h"

#include <yaml-cpp/yaml.h>

#include "core/sys/error.h"

namespace nucleus::daemon {
namespace {

std::string where(const std::string& file, const YAML::Node& n, const std::string& key) {
  const YAML::Mark m = n.Mark();
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + key;
}

template <class T>
T scalar(const std::string& file, const YAML::Node& n, const std::string& key) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw Error(where(file, n, key), "has the wrong type");
  }
}

std::vector<std::string> strings(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n.IsSequence()) throw Error(where(file, n, key), "must be a list of strings");
  std::vector<std::string> out;
  for (const YAML::Node& v : n) out.push_back(scalar<std::string>(file, v, key));
  return out;
}

std::map<std::string, std::string> string_map(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n.IsMap()) throw Error(where(file, n, key), "must be a map of strings");
  std::map<std::string, std::string> out;
  for (const auto& kv : n) out[kv.first.as<std::string>()] = scalar<std::string>(file, kv.second, key + "." + kv.first.as<std::string>());
  return out;
}

Template parse_template(const std::string& file, const std::string& name, const YAML::Node& node) {
  const std::string at = "templates." + name;
  if (!node.IsMap()) throw Error(where(file, node, at), "must be a map");
  Template t;
  t.name = name;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string k = at + "." + key;
    if (key == "isolation") t.isolation = scalar<std::string>(file, v, k);
    else if (key == "backend") t.backend = scalar<std::string>(file, v, k);
    else if (key == "rootfs") t.rootfs = scalar<std::string>(file, v, k);
    else if (key == "memory") t.memory = scalar<std::string>(file, v, k);
    else if (key == "cpus") t.cpus = scalar<std::string>(file, v, k);
    else if (key == "pids_limit") t.pids_limit = scalar<int64_t>(file, v, k);
    else if (key == "network") t.network = scalar<std::string>(file, v, k);
    else if (key == "egress_allow") t.egress_allow = strings(file, v, k);
    else if (key == "dns") t.dns = strings(file, v, k);
    else if (key == "env") t.env = string_map(file, v, k);
    else if (key == "workdir") t.workdir = scalar<std::string>(file, v, k);
    else if (key == "user") t.user = scalar<std::string>(file, v, k);
    else if (key == "tmpfs") t.tmpfs = strings(file, v, k);
    else if (key == "files") t.files = string_map(file, v, k);
    else if (key == "pool") t.pool = scalar<unsigned>(file, v, k);
    else if (key == "max_sandboxes") t.max_sandboxes = scalar<unsigned>(file, v, k);
    else if (key == "ttl") t.ttl = scalar<uint32_t>(file, v, k);
    else if (key == "idle_timeout") t.idle_timeout = scalar<uint32_t>(file, v, k);
    else throw Error(where(file, kv.first, k), "unknown key");
  }
  if (!t.isolation.empty() && t.isolation != "trusted" && t.isolation != "standard" && t.isolation != "untrusted")
    throw Error(where(file, node, at + ".isolation"), "trusted, standard or untrusted");
  if (!t.backend.empty() && t.backend != "native" && t.backend != "gvisor")
    throw Error(where(file, node, at + ".backend"), "native or gvisor");
  if (t.max_sandboxes == 0) throw Error(where(file, node, at + ".max_sandboxes"), "must be at least 1");
  if (t.pool > t.max_sandboxes) throw Error(where(file, node, at + ".pool"), "larger than max_sandboxes");
  // Refused by every create otherwise, pool refills included: said once, at load.
  if (t.network != "bridge" && (!t.egress_allow.empty() || !t.dns.empty())) {
    throw Error(where(file, node, at + (t.egress_allow.empty() ? ".dns" : ".egress_allow")), "needs network: bridge");
  }
  return t;
}

}  // namespace

std::map<std::string, Template> default_templates() {
  Template t;
  t.name = "default";
  return {{"default", t}};
}

std::map<std::string, Template> parse_templates(const std::string& yaml, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1), e.msg);
  }
  if (!root.IsMap()) throw Error(file, "must be a map with `templates:`");
  std::map<std::string, Template> out;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key != "templates") throw Error(where(file, kv.first, key), "unknown key");
    if (!kv.second.IsMap()) throw Error(where(file, kv.second, key), "must be a map of templates");
    for (const auto& t : kv.second) {
      const std::string name = t.first.as<std::string>();
      if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        throw Error(where(file, t.first, "templates." + name), "a name is lower-case letters, digits, - and _");
      out[name] = parse_template(file, name, t.second);
    }
  }
  if (!out.count("default")) out.merge(default_templates());
  return out;
}

std::vector<std::string> run_flags(const Template& t) {
  std::vector<std::string> f;
  auto add = [&f](const char* flag, const std::string& value) {
    if (!value.empty()) f.insert(f.end(), {flag, value});
  };
  add("--isolation", t.isolation);
  add("--backend", t.backend);
  add("--rootfs", t.rootfs);
  add("--memory", t.memory);
  add("--cpus", t.cpus);
  if (t.pids_limit) add("--pids-limit", std::to_string(*t.pids_limit));
  add("--network", t.network);
  for (const std::string& e : t.egress_allow) add("--egress-allow", e);
  for (const std::string& d : t.dns) add("--dns", d);
  for (const auto& [k, v] : t.env) add("--env", k + "=" + v);
  add("--workdir", t.workdir);
  add("--user", t.user);
  for (const std::string& m : t.tmpfs) add("--tmpfs", m);
  return f;
}

}  // namespace nucleus::daemon
