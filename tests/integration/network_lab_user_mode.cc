// The lab's user-mode networking (pasta, for non-root callers): a "container" in a user
// and network namespace of its own, attached by the driver as nucleus attaches one.
#include <sstream>

#include "tests/integration/network_lab.h"
#include "tests/integration/network_lab_io.h"

namespace nucleus::test {


pid_t NetworkLab::start_user_container() {
  int out = -1;
  pid_t pid = spawn({"ip", "netns", "exec", host_, "unshare", "-Urn", driver(), "echo-server", std::to_string(kEchoPort)},
                    nullptr, &out);
  return lab_io::read_line(out) == "listening" ? pid : -1;
}

pid_t NetworkLab::user_attach(pid_t container, const std::string& id, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"ip", "netns", "exec", host_, driver(), "user-attach", "--pid", std::to_string(container),
                                   "--id", id, "--state-dir", state_dir(), "--root"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  int out = -1;
  pid_t driver_pid = spawn(argv, nullptr, &out);
  std::istringstream line(lab_io::read_line(out));
  std::string word;
  pid_t pasta = -1;
  line >> word >> pasta;
  if (word != "attached") return -1;
  pastas_.emplace_back(pasta, driver_pid);
  return pasta;
}

bool NetworkLab::release_user(pid_t pasta) {
  for (const auto& [p, driver_pid] : pastas_) {
    if (p == pasta) return release(Attached{driver_pid, p, "", "", "", ""});
  }
  return false;
}

CommandResult NetworkLab::run_command_as_container(pid_t container, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"nsenter", "-t", std::to_string(container), "-U", "-n", "--preserve-credentials"};
  argv.insert(argv.end(), args.begin(), args.end());
  return lab_io::run_command(argv);
}

}  // namespace nucleus::test
