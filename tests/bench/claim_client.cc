// scripts/bench_sandbox.py's client processes (issue 18): one per concurrent client, started
// and warmed before the first round, each sample released by a line on stdin and answered
// with one line on stdout ("MS ID", or "error WHY").
//
//   claim_client claim SOCKET   a claim: POST /v1/sandboxes, then POST .../exec of
//                               `/bin/echo hi`, each on a connection of its own, timed from
//                               before the first connect to the read that brings the first
//                               stdout frame (the requests are built before the clock starts)
//   claim_client echo PATH      the floor: a bare posix_spawn of PATH as `echo hi` (an empty
//                               environment), timed to its first output; ID is "-"
//
// In C++ rather than in the bench's Python because the client's own CPU lands among the
// claims it times: Python's took 0.22-0.31 ms of CPU a claim (docs/performance-notes.md),
// as much as the daemon's share, on a machine with two CPUs.
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

std::string request(const std::string& method, const std::string& target, const std::string& body) {
  return method + " " + target + " HTTP/1.1\r\nHost: nucleusd\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Sends `request` on a new connection to `path`; reads until done(buffer) or the end.
template <typename Done>
std::string exchange(const std::string& path, const std::string& request, Done done) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof address.sun_path - 1);
  std::string got;
  try {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw std::runtime_error("connect " + path);
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send");
      sent += static_cast<size_t>(n);
    }
    char buffer[65536];
    while (!done(got)) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      got.append(buffer, static_cast<size_t>(n));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return got;
}

bool whole_response(const std::string& got) {
  size_t end = got.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  for (const char* name : {"Content-Length:", "content-length:"}) {
    size_t at = got.find(name);
    if (at != std::string::npos && at < end) return got.size() - end - 4 >= std::stoul(got.substr(at + std::strlen(name)));
  }
  return false;
}

bool first_output(const std::string& got) {
  return got.find("\"stream\":\"stdout\"") != std::string::npos || got.find("\"exit_code\"") != std::string::npos;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string claim_once(const std::string& socket, const std::string& create) {
  Clock::time_point start = Clock::now();
  std::string created = exchange(socket, create, whole_response);
  if (created.rfind("HTTP/1.1 201", 0) != 0) throw std::runtime_error("create: " + created.substr(0, 200));
  size_t at = created.find("\"id\":\"");
  if (at == std::string::npos) throw std::runtime_error("create: no id");
  at += 6;
  std::string id = created.substr(at, created.find('"', at) - at);
  std::string ran = exchange(socket, request("POST", "/v1/sandboxes/" + id + "/exec", R"({"argv": ["/bin/echo", "hi"]})"),
                             first_output);
  double ms = ms_since(start);
  if (ran.rfind("HTTP/1.1 200", 0) != 0 || ran.find("\"stream\":\"stdout\"") == std::string::npos) {
    throw std::runtime_error("exec: " + ran.substr(0, 200));
  }
  char line[64];
  std::snprintf(line, sizeof line, "%f ", ms);
  return line + id;
}

std::string echo_once(const std::string& path) {
  Clock::time_point start = Clock::now();
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  char arg0[] = "echo", arg1[] = "hi";
  char* argv[] = {arg0, arg1, nullptr};
  char* empty[] = {nullptr};
  pid_t pid;
  int error = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, empty);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (error != 0) {
    ::close(out[0]);
    throw std::runtime_error("spawn " + path);
  }
  char buffer[16];
  ssize_t n = ::read(out[0], buffer, sizeof buffer);
  double ms = ms_since(start);
  ::close(out[0]);
  ::waitpid(pid, nullptr, 0);
  if (n <= 0) throw std::runtime_error("no output from " + path);
  char line[64];
  std::snprintf(line, sizeof line, "%f -", ms);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc == 3 ? argv[1] : "";
  if (mode != "claim" && mode != "echo") {
    std::fprintf(stderr, "usage: claim_client claim SOCKET | claim_client echo PATH\n");
    return 125;
  }
  std::string target = argv[2];
  const std::string create = request("POST", "/v1/sandboxes", "{}");
  auto once = [&] { return mode == "claim" ? claim_once(target, create) : echo_once(target); };
  try {  // warm, untimed: the health route (a claim would take a sandbox), or one echo
    if (mode == "claim") {
      exchange(target, request("GET", "/v1/health", "{}"), whole_response);
    } else {
      echo_once(target);
    }
  } catch (const std::exception& e) {
    std::printf("error %s\n", e.what());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string answer;
    try {
      answer = once();
    } catch (const std::exception& e) {
      answer = std::string("error ") + e.what();
      for (char& c : answer) c = c == '\n' || c == '\r' ? ' ' : c;
    }
    std::printf("%s\n", answer.c_str());
    std::fflush(stdout);
  }
  return 0;
}
