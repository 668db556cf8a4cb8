// `nucleus check [-f FILE]`: validates a workload file and reports what this host supports.
// Runs nothing.
#include <unistd.h>

#include <iostream>

#include <algorithm>

#include "backends/backend.h"
#include "config/presets.h"
#include "config/validate.h"
#include "config/yaml_loader.h"
#include "core/sys/error.h"
#include "core/sys/host_info.h"
#include "frontend/cli.h"
#include "network/support.h"

namespace nucleus::frontend {
namespace {

void print_host(std::ostream& out) {
  HostInfo host = probe_host_info();
  out << "host:\n"
      << "  kernel:           " << host.kernel_release << "\n"
      << "  cgroups:          " << to_string(host.cgroup_layout) << "\n"
      << "  network:          " << net::describe(net::probe_network_support()) << "\n";
  // What each backend can do here, as it says.
  for (BackendKind kind : {BackendKind::kNative, BackendKind::kGvisor}) {
    std::unique_ptr<Backend> backend = backend_for(kind);
    out << backend->name() << ":\n";
    for (const auto& [what, value] : backend->capabilities()) {
      std::string label = what + ":";
      label.resize(std::max<size_t>(label.size() + 1, 18), ' ');
      out << "  " << label << value << "\n";
    }
  }
}

int check(const std::string& file) {
  if (!file.empty()) {
    WorkloadFile loaded = load_workload_file(file);
    std::cout << file << ": ok\n";
    for (const auto& [name, spec] : loaded.workloads) {
      const Preset& preset = preset_for(spec.isolation);
      std::cout << "  " << name << ": isolation " << to_string(spec.isolation) << ", backend "
                << to_string(spec.backend.value_or(preset.backend));
      if (spec.command.empty()) std::cout << ", command given at run time";
      std::cout << "\n";
      if (!spec.command.empty()) validate_spec(spec);
    }
  }
  print_host(std::cout);
  return 0;
}

}  // namespace

void add_check_command(CLI::App& app, Action& action) {
  auto file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("check", "Validate a workload file and report what this host supports");
  cmd->add_option("-f,--file", *file, "Workload file (YAML)");
  cmd->callback([file, &action] { action = [file] { return check(*file); }; });
}

}  // namespace nucleus::frontend
