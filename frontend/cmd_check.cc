// `nucleus check [-f FILE]`: validates a workload file and reports what this host supports.
// Runs nothing.
#include <unistd.h>

#include <iostream>

#include "backends/gvisor/runsc/runsc_args.h"
#include "backends/gvisor/runsc/runsc_locate.h"
#include "backends/gvisor/runsc/runsc_process.h"
#include "config/presets.h"
#include "config/validate.h"
#include "config/yaml_loader.h"
#include "core/sys/error.h"
#include "core/sys/host_info.h"
#include "frontend/cli.h"
#include "network/support.h"

namespace nucleus::frontend {
namespace {

// runsc's path, version and platforms, and whether the platform `auto` picks really starts.
std::string describe_runsc() {
  std::string path;
  try {
    path = gvisor::locate_runsc();
  } catch (const Error& e) {
    return std::string("unusable: ") + e.what();
  }
  gvisor::RunscInfo info = gvisor::runsc_info(path);
  std::string platforms;
  for (const std::string& p : info.platforms) platforms += (platforms.empty() ? "" : ", ") + p;
  std::string chosen = gvisor::choose_platform(GvisorPlatform::kAuto, info.platforms);
  std::string why;
  bool works = ::geteuid() == 0 && gvisor::platform_works(path, chosen, 20, &why);
  if (::geteuid() != 0) why = "not tried: needs root";
  return path + " (version " + info.version + "; platforms " + platforms + "; " + chosen +
         (works ? " works" : " does not work: " + why) + ")";
}

void print_host(std::ostream& out) {
  HostInfo host = probe_host_info();
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  out << "host:\n"
      << "  kernel:           " << host.kernel_release << "\n"
      << "  cgroups:          " << to_string(host.cgroup_layout) << "\n"
      << "  landlock:         "
      << (host.landlock_abi > 0 ? "ABI " + std::to_string(host.landlock_abi) : std::string("not available"))
      << "\n"
      << "  user namespaces:  " << yes(host.user_namespaces) << "\n"
      << "  seccomp filters:  " << yes(host.seccomp_filter) << "\n"
      << "  new mount API:    " << yes(host.new_mount_api) << "\n";
  out << "  network:          " << net::describe(net::probe_network_support()) << "\n";
  out << "  runsc:            " << describe_runsc() << "\n";
  out << "  under gvisor:     Landlock not applied (the Sentry has no Landlock)\n";
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

CLI::App* add_check_command(CLI::App& app, Action& action) {
  auto file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("check", "Validate a workload file and report what this host supports");
  cmd->add_option("-f,--file", *file, "Workload file (YAML)");
  cmd->callback([file, &action] { action = [file] { return check(*file); }; });
  return cmd;
}

CLI::App* add_version_command(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("version", "Print nucleus's version");
  cmd->callback([&action] {
    action = [] {
      std::cout << "nucleus version " << NUCLEUS_VERSION << "\n";
      return 0;
    };
  });
  return cmd;
}

}  // namespace nucleus::frontend
