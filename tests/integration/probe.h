#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/integration/harness.h"

// Running the in-container probe (nprobe) and reading its verdicts.
namespace nucleus::test {

// One row of the security bar: the probe command, and the errno the policy documents.
struct Row {
  const char* id;       // "SYS-01"
  std::string command;  // "sys mount"
  std::string expect;   // "EPERM", or "0" for success
};

// Runs every row's probe in one container (the test rootfs, plus run_args) and checks
// each verdict, naming the row when it differs.
void expect_rows(const std::vector<Row>& rows, std::vector<std::string> run_args = {},
                 const RunOptions& options = {});

// The verdicts of the probe commands, in order ("EPERM", "0", ...).
std::vector<std::string> probe_errnos(const std::vector<std::string>& commands,
                                      std::vector<std::string> run_args = {}, const RunOptions& options = {});

std::vector<std::string> lines_of(const std::string& text);

// A `sleep` on the host that the container must not see or touch; killed on destruction.
class HostSentinel {
 public:
  HostSentinel();
  ~HostSentinel();
  HostSentinel(const HostSentinel&) = delete;
  HostSentinel& operator=(const HostSentinel&) = delete;
  pid_t pid() const { return pid_; }
  bool alive() const { return ::kill(pid_, 0) == 0; }

 private:
  pid_t pid_;
};

std::string read_host_file(const std::string& path);

}  // namespace nucleus::test
