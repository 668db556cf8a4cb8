#include "core/sys/bounded_child.h"
#include "core/sys/sys.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/sys/error.h"
#include "core/sys/unique_fd.h"

namespace nucleus::sys {
namespace {

// The child's answer: 'O' and what the work returned, or 'E', the errno (4 bytes), the
// step, a NUL and the detail.
std::string error_answer(int32_t err, const std::string& step, const std::string& detail) {
  std::string out = "E";
  out.append(reinterpret_cast<const char*>(&err), sizeof err);
  return out + step + '\0' + detail;
}

std::string answer_of(const std::function<std::string()>& work) noexcept {
  try {
    return "O" + work();
  } catch (const Error& e) {
    return error_answer(e.err(), e.step(), e.detail());
  } catch (const std::exception& e) {
    return error_answer(0, "run in a child", e.what());
  } catch (...) {
    return error_answer(0, "run in a child", "an exception of no known type");
  }
}

// The child never outlives its caller (a nucleus killed mid-compile must not leave a
// looping libseccomp behind) and holds none of its descriptors but the answer's: not the
// caller's stdout, which a reader waits to see closed, nor a lock. The answer goes to 3.
void become_bounded(pid_t parent, int writer) noexcept {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(1);
  int answer = ::fcntl(writer, F_DUPFD_CLOEXEC, 10);
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (answer < 0 || null < 0) ::_exit(1);
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  if (::dup3(answer, 3, O_CLOEXEC) != 3) ::_exit(1);
  sys::raw_close_range(4, ~0U, 0);
}

[[noreturn]] void answer_and_exit(int fd, const std::function<std::string()>& work) noexcept {
  std::string out = answer_of(work);
  ::_exit(sys::write_all(fd, out.data(), out.size()) == 0 ? 0 : 1);
}

void kill_and_reap(pid_t pid) noexcept {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// The child's answer until it closes its end; past `end`, an Error (the caller kills it).
void read_answer(int reader, std::chrono::steady_clock::time_point end, const std::string& step,
                 std::chrono::milliseconds deadline, std::string& out) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    pollfd p = {reader, POLLIN, 0};
    int ready = left.count() <= 0 ? 0 : ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) throw Error(step, "did not finish in " + std::to_string(deadline.count()) + " ms");
    char buf[65536];
    ssize_t n = ::read(reader, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::string run_with_deadline(const std::string& step, std::chrono::milliseconds deadline,
                              const std::function<std::string()>& work) {
  auto [reader, writer] = sys::pipe(step);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw_errno(step, "fork");
  if (pid == 0) {
    become_bounded(parent, writer.get());
    answer_and_exit(3, work);
  }
  writer.reset();
  std::string out;
  const auto end = std::chrono::steady_clock::now() + deadline;
  try {
    read_answer(reader.get(), end, step, deadline, out);
  } catch (...) {  // past the deadline, or no memory for the answer: the child goes too
    kill_and_reap(pid);
    throw;
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
