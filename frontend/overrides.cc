#include "frontend/overrides.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "config/resources.h"
#include "config/validate.h"
#include "config/yaml_loader.h"
#include "core/sys/error.h"
#include "core/policy/identity.h"

namespace nucleus::frontend {

std::string current_dir() {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) throw_errno("getcwd");
  return buf;
}

namespace {

template <typename T>
void replace_by_destination(std::vector<T>& list, T item) {
  auto same = [&](const T& existing) { return existing.destination == item.destination; };
  list.erase(std::remove_if(list.begin(), list.end(), same), list.end());
  list.push_back(std::move(item));
}

void take_positionals(const RunFlags& flags, WorkloadSpec& spec, bool from_file) {
  std::vector<std::string> rest = flags.positionals;
  if (from_file) {
    rest.erase(rest.begin());  // the workload's name
    if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
  }
  if (!rest.empty()) spec.command = std::move(rest);
}

void apply_scalars(const RunFlags& f, WorkloadSpec& spec) {
  if (f.isolation) {
    auto level = parse_isolation_level(*f.isolation);
    if (!level) throw Error("--isolation", "expected trusted, standard or untrusted, got '" + *f.isolation + "'");
    spec.isolation = *level;
  }
  if (f.backend) {
    auto backend = parse_backend(*f.backend);
    if (!backend) throw Error("--backend", "expected native or gvisor, got '" + *f.backend + "'");
    spec.backend = *backend;
  }
  if (f.rootfs) {
    if (auto problem = check_no_nul(*f.rootfs)) throw Error("--rootfs", *problem);
    spec.rootfs = *absolute_path(*f.rootfs, current_dir());
  }
  if (f.read_only) spec.read_only = true;
  if (f.layer_size) spec.layer_size = parse_layer_size(*f.layer_size, "--layer-size");
  if (f.user) {
    parse_user_spec(*f.user, "--user");
    spec.user = *f.user;
  }
  if (f.workdir) spec.workdir = *f.workdir;
  if (f.hostname) {
    if (auto problem = check_hostname(*f.hostname)) throw Error("--hostname", *problem);
    spec.hostname = *f.hostname;
  }
  if (f.memory) spec.resources.memory_bytes = parse_memory(*f.memory, "--memory");
  if (f.cpus) spec.resources.cpus = parse_cpu_count(*f.cpus, "--cpus");
  if (f.pids) spec.resources.pids = parse_pids(*f.pids, "--pids-limit");
  if (f.io_weight) spec.resources.io_weight = parse_io_weight(*f.io_weight, "--io-weight");
  for (const std::string& m : f.io_max) {
    parse_io_max(m, "--io-max");
    spec.resources.io_max.push_back(m);
  }
  if (f.cgroup_parent) spec.resources.cgroup_parent = parse_cgroup_parent(*f.cgroup_parent, "--cgroup-parent");
  if (f.network) {
    auto network = parse_network(*f.network);
    if (!network) throw Error("--network", "expected none, bridge, pasta or host, got '" + *f.network + "'");
    spec.network = *network;
  }
  if (f.seccomp) spec.seccomp = parse_seccomp(*f.seccomp, current_dir(), "--seccomp");
  if (f.landlock) {
    if (*f.landlock != "on" && *f.landlock != "off") {
      throw Error("--landlock", "expected on or off, got '" + *f.landlock + "'");
    }
    spec.landlock = *f.landlock == "on";
  }
  if (f.init && f.no_init) throw Error("--init/--no-init", "give one or the other");
  if (f.init) spec.init = true;
  if (f.no_init) spec.init = false;
  if (f.sd_notify) spec.sd_notify = true;
  if (f.name) {
    if (auto problem = check_container_name(*f.name)) throw Error("--name", *problem);
    spec.name = *f.name;
  }
  if (f.timeout) spec.timeout_seconds = parse_timeout(*f.timeout, "--timeout");
  if (f.gvisor_platform) {
    auto platform = parse_gvisor_platform(*f.gvisor_platform);
    if (!platform) throw Error("--gvisor-platform", "expected auto, ptrace, systrap or kvm, got '" + *f.gvisor_platform + "'");
    spec.gvisor_platform = *platform;
  }
}

void apply_lists(const RunFlags& f, WorkloadSpec& spec) {
  for (const std::string& g : f.groups) {
    parse_group_ref(g, "--group-add");
    spec.groups.push_back(g);
  }
  for (const std::string& e : f.env) spec.env.push_back(parse_env_assignment(e, "--env"));
  for (const std::string& v : f.volumes) {
    replace_by_destination(spec.volumes, parse_volume(v, "", "--volume"));
  }
  for (const std::string& t : f.tmpfs) replace_by_destination(spec.tmpfs, parse_tmpfs(t, "--tmpfs"));
  for (const std::string& p : f.publish) spec.bridge.publish.push_back(parse_publish(p, "--publish"));
  for (const std::string& e : f.egress) spec.bridge.egress.push_back(parse_egress_rule(e, "--egress-allow"));
  for (const std::string& d : f.dns) {
    auto ip = parse_ip(d);
    if (!ip) throw Error("--dns", "'" + d + "' is not an IP address");
    spec.bridge.resolvers.push_back(*ip);
  }
  for (const std::string& h : f.add_host) spec.bridge.extra_hosts.push_back(parse_extra_host(h, "--add-host"));
  if (f.subnet) spec.bridge.subnet4 = parse_subnet(*f.subnet, IpFamily::kV4, "--subnet");
  if (f.subnet6) spec.bridge.subnet6 = parse_subnet(*f.subnet6, IpFamily::kV6, "--subnet6");
  for (const std::string& c : f.cap_add) spec.capabilities.add.push_back(c);
  for (const std::string& c : f.cap_drop) spec.capabilities.drop.push_back(c);
}

}  // namespace

WorkloadSpec make_spec(const RunFlags& flags) {
  WorkloadSpec spec;
  if (flags.file) {
    if (flags.positionals.empty()) throw Error("run -f " + *flags.file, "name the workload to run");
    WorkloadFile file = load_workload_file(*flags.file);
    spec = file.get(flags.positionals.front());
  }
  take_positionals(flags, spec, flags.file.has_value());
  apply_scalars(flags, spec);
  apply_lists(flags, spec);
  apply_service_flags(flags.service, spec.service);
  validate_spec(spec);
  validate_service(spec.service);
  return spec;
}

}  // namespace nucleus::frontend
