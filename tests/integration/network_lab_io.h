// The lab's own process plumbing (network_lab.cc, network_lab_user_mode.cc): commands run
// through a shell with their output, and lines read from the drivers' pipes.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/network_lab.h"

namespace nucleus::test::lab_io {

inline std::string quote_all(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + shell_quote(a);
  return out;
}

inline CommandResult run_command(const std::vector<std::string>& args) {
  CommandResult r;
  FILE* p = ::popen((quote_all(args) + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) r.output.append(buffer, n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline void must(const std::vector<std::string>& args) {
  CommandResult r = run_command(args);
  if (r.status != 0) throw std::runtime_error("lab setup: " + quote_all(args) + ": " + r.output);
}

inline std::string read_line(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

inline std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

inline std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

}  // namespace nucleus::test::lab_io
