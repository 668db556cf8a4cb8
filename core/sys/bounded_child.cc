#include "core/sys/bounded_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/sys/error.h"
#include "core/sys/unique_fd.h"

namespace nucleus::sys {
namespace {

// The child's answer: 'O' and what the work returned, or 'E', the errno (4 bytes), the
// step, a NUL and the detail.
std::string answer_of(const std::function<std::string()>& work) noexcept {
  try {
    return "O" + work();
  } catch (const Error& e) {
    int32_t err = e.err();
    std::string out = "E";
    out.append(reinterpret_cast<const char*>(&err), sizeof err);
    return out + e.step() + '\0' + e.detail();
  } catch (const std::exception& e) {
    int32_t err = 0;
    std::string out = "E";
    out.append(reinterpret_cast<const char*>(&err), sizeof err);
    return out + "run in a child" + '\0' + e.what();
  }
}

[[noreturn]] void answer_and_exit(int fd, const std::function<std::string()>& work) noexcept {
  std::string out = answer_of(work);
  for (size_t at = 0; at < out.size();) {
    ssize_t n = ::write(fd, out.data() + at, out.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(1);
    at += static_cast<size_t>(n);
  }
  ::_exit(0);
}

void kill_and_reap(pid_t pid) noexcept {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::string run_with_deadline(const std::string& step, std::chrono::milliseconds deadline,
                              const std::function<std::string()>& work) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno(step, "pipe");
  UniqueFd reader(ends[0]);
  UniqueFd writer(ends[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno(step, "fork");
  if (pid == 0) {
    reader.reset();
    answer_and_exit(writer.get(), work);
  }
  writer.reset();
  std::string out;
  const auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    pollfd p = {reader.get(), POLLIN, 0};
    int ready = left.count() <= 0 ? 0 : ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      kill_and_reap(pid);
      throw Error(step, "did not finish in " + std::to_string(deadline.count()) + " ms");
    }
    char buf[65536];
    ssize_t n = ::read(reader.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out.empty() || !WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error(step, "its child ended without an answer");
  if (out[0] == 'O') return out.substr(1);
  int32_t err = 0;
  if (out.size() < 1 + sizeof err) throw Error(step, "its child's answer is cut short");
  std::memcpy(&err, out.data() + 1, sizeof err);
  std::string rest = out.substr(1 + sizeof err);
  size_t nul = rest.find('\0');
  if (nul == std::string::npos) throw Error(step, "its child's answer is cut short");
  throw Error(rest.substr(0, nul), rest.substr(nul + 1), err);
}

}  // namespace nucleus::sys
