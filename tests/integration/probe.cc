#include "tests/integration/probe.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace nucleus::test {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // from a pty
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> probe_errnos(const std::vector<std::string>& commands, std::vector<std::string> run_args,
                                      const RunOptions& options) {
  std::string script;
  for (const std::string& c : commands) script += "/nprobe " + c + "; ";
  run_args.insert(run_args.begin(), {"--rootfs", kRootfs});
  Result r = run_sh(script + "true", run_args, options);
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> out;
  for (const std::string& line : lines_of(r.out)) {
    size_t at = line.rfind("errno=");
    if (at != std::string::npos) out.push_back(line.substr(at + 6));
  }
  EXPECT_EQ(out.size(), commands.size()) << r.out << r.err;
  out.resize(commands.size(), "(no verdict)");
  return out;
}

void expect_rows(const std::vector<Row>& rows, std::vector<std::string> run_args, const RunOptions& options) {
  std::vector<std::string> commands;
  for (const Row& row : rows) commands.push_back(row.command);
  std::vector<std::string> got = probe_errnos(commands, std::move(run_args), options);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(got[i], rows[i].expect) << rows[i].id << ": nprobe " << rows[i].command;
  }
}

HostSentinel::HostSentinel() {
  pid_ = ::fork();
  if (pid_ == 0) {
    ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
}

HostSentinel::~HostSentinel() {
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

std::string read_host_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace nucleus::test
