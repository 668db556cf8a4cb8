// nucleus-agent: serves a sandbox's execs from inside it, so that an exec costs a vfork and
// an exec in the sandbox rather than a `nucleus exec` (or `runsc exec`) process on the host.
//
// nucleusd starts each sandbox with the agent as its workload (bound read-only at
// /.nucleus-agent, docs/api.md "Exec through the agent"): it is already under every layer
// the sandbox's workload has (user, capabilities, no_new_privs, seccomp, Landlock, cgroup,
// namespaces; under gVisor, the Sentry), and every command it forks inherits them all.
// Its stdin and stdout are the exec channel (daemon/agent/protocol.h). It:
//  - becomes non-dumpable first, so no process of the sandbox can ptrace it or open its
//    /proc/PID/fd (the channel), and moves the channel to close-on-exec fds above 2,
//    with /dev/null on 0 and 1;
//  - says "ready\n" (the daemon's sign that the sandbox runs), then a kHello frame;
//  - starts each requested command (vfork-style: spawn_child) in a session of its own with its own pipes, its
//    environment laid over the agent's, in its cwd; streams its output as frames, and its
//    exit status once it has exited and its pipes closed (or 200 ms after its exit: its
//    background children may keep them);
//  - on kKill, SIGKILLs the exec's whole tree (kill_tree.h), a round every few
//    milliseconds until none of it is left, serving the other execs meanwhile; then
//    answers kExit.
// When the channel ends (the daemon died), it stops serving and stays: the sandbox lives
// on, and a restarted daemon reaches it through `nucleus exec`. libc only; the child
// between clone and exec allocates nothing and writes no memory the agent reads after.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <initializer_list>

#include "daemon/agent/exec_table.h"
#include "daemon/agent/protocol.h"

extern char** environ;

namespace nucleus::agent {
namespace {

constexpr int64_t kGraceMs = 200;

int g_in = -1;   // daemon -> agent
int g_out = -1;  // agent -> daemon
int g_devnull = -1;
int g_signals = -1;
// The signals the agent ignores (SIGPIPE, and what it inherited ignored): the only ones an
// exec'd command would not get at their default, so the only ones its child resets. The
// agent catches none (exec resets caught ones). Under gVisor's ptrace platform every
// syscall is a trap to the Sentry: resetting all 62 in each child was most of its calls.
int g_ignored[NSIG];
int g_ignored_count = 0;

int64_t now_ms() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool write_all(int fd, const void* data, size_t len) noexcept {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

void drop_channel() noexcept;

// Header and payload in one writev (one trap under gVisor, not two), the rest if it was short.
void send_frame(uint32_t type, uint32_t id, const void* payload, uint32_t length) noexcept {
  if (g_out < 0) return;
  FrameHeader h{type, id, length};
  iovec parts[2] = {{&h, sizeof h}, {const_cast<void*>(payload), length}};
  ssize_t n;
  do {
    n = writev(g_out, parts, length > 0 ? 2 : 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return drop_channel();
  size_t done = static_cast<size_t>(n);
  bool ok = true;
  if (done < sizeof h) {
    ok = write_all(g_out, reinterpret_cast<const char*>(&h) + done, sizeof h - done);
    done = sizeof h;
  }
  if (ok && length > 0 && done - sizeof h < length)
    ok = write_all(g_out, static_cast<const char*>(payload) + (done - sizeof h), length - (done - sizeof h));
  if (!ok) drop_channel();
}

// The daemon is gone: nobody reads the execs' output any more. Their pipes close, so their
// commands get SIGPIPE on their next write, as a `nucleus exec` losing its client would.
void drop_channel() noexcept {
  if (g_in >= 0) close(g_in);
  if (g_out >= 0) close(g_out);
  g_in = g_out = -1;
  for (Exec& e : g_execs) {
    if (e.id != 0) close_exec_pipes(e);
  }
}

// The child (spawn_child): its stdio, its session, its cwd, default signals, the exec. No
// allocation, no return.
[[noreturn]] void exec_child(const StartRequest& r, int in, int out, int err) noexcept {
  setsid();
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  auto fail = [](const char* what, const char* arg, int code) noexcept {
    const char* msg = strerror(errno);
    const char* parts[] = {"nucleus: ", what, arg, ": ", msg, "\n"};
    for (const char* p : parts) (void)!write(2, p, strlen(p));
    _exit(code);
  };
  if (r.cwd[0] != '\0' && chdir(r.cwd) != 0) fail("cwd ", r.cwd, 125);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int i = 0; i < g_ignored_count; ++i) sigaction(g_ignored[i], &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  environ = r.envp;  // execvp searches this environment's PATH and passes it on
  execvp(r.argv[0], r.argv);
  fail("exec ", r.argv[0], errno == ENOENT || errno == ENOTDIR ? 127 : 126);
  _exit(126);  // not reached
}

// What exec_child needs, on the agent's stack while the child runs (the agent is
// suspended until the child has exec'd or exited).
struct ChildArgs {
  const StartRequest* r;
  int in, out, err;
};

int child_entry(void* arg) {
  const ChildArgs* a = static_cast<const ChildArgs*>(arg);
  exec_child(*a->r, a->in, a->out, a->err);
}

// Starts exec_child as vfork does: sharing the agent's memory until it execs (CLONE_VM |
// CLONE_VFORK, on a stack of its own), so no page table is copied and no page shared
// copy-on-write; under gVisor's ptrace platform a fork costs a whole new address space
// (a host stub process) before the exec makes another. Its signal dispositions, fd
// table, cwd and mask are its own (no CLONE_SIGHAND, CLONE_FILES, CLONE_FS); `environ`
// is shared memory, so the agent puts its own back once the child is gone from it.
pid_t spawn_child(const StartRequest& r, int in, int out, int err) noexcept {
  // One child at a time uses it (the agent waits). As large as a main thread's: execvp
  // puts the PATH candidates and a script's argv (up to a 1 MiB request's) on it; pages
  // never touched cost nothing.
  alignas(16) static char stack[8 << 20];
  ChildArgs args{&r, in, out, err};
  char** own_environ = environ;
  pid_t pid = clone(child_entry, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  environ = own_environ;
  return pid;
}

void answer_not_started(uint32_t id, const char* why) noexcept {
  send_frame(kStderr, id, why, static_cast<uint32_t>(strlen(why)));
  int32_t code = 125;
  send_frame(kExit, id, &code, sizeof code);
}

void start_exec(uint32_t id, const char* payload, uint32_t length) noexcept {
  if (id == 0 || find_exec(id) != nullptr) return answer_not_started(id, "nucleus-agent: exec id in use\n");
  Exec* e = free_slot();
  if (e == nullptr) return answer_not_started(id, "nucleus-agent: too many execs\n");
  StartRequest r;
  if (!parse_start(payload, length, environ, &r)) return answer_not_started(id, "nucleus-agent: malformed request\n");
  int out[2], err[2], in[2] = {-1, -1};
  bool ok = pipe2(out, O_CLOEXEC) == 0;
  if (ok && pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]), close(out[1]);
    ok = false;
  }
  if (ok && r.has_stdin && pipe2(in, O_CLOEXEC) != 0) {
    close(out[0]), close(out[1]), close(err[0]), close(err[1]);
    ok = false;
  }
  if (!ok) {
    free_start(&r);
    return answer_not_started(id, "nucleus-agent: cannot make pipes\n");
  }
  pid_t pid = spawn_child(r, r.has_stdin ? in[0] : g_devnull, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (in[0] >= 0) close(in[0]);
  begin_exec(*e, id, pid, out[0], err[0], in[1], r.marker);
  free_start(&r);
  if (pid < 0) {
    close_exec_pipes(*e);
    e->id = 0;
    answer_not_started(id, "nucleus-agent: fork failed\n");
  }
}

// A kill runs a round at a time between the loop's other work, so the agent keeps serving
// the other execs meanwhile; the exit is answered once no process of the tree is left.
void kill_round(Exec& e, int64_t now) noexcept {
  if (e.kill_rounds_left == 0 || now < e.next_kill_at) return;
  if (kill_exec_tree_round(e.pid, e.marker) == 0) {
    e.kill_rounds_left = 0;
    return;
  }
  --e.kill_rounds_left;
  e.next_kill_at = now + kKillRoundMs;
}

void pump_output(Exec& e, int* fd, uint32_t type) noexcept;

void finish_if_done(Exec& e, int64_t now) noexcept {
  if (!e.exited || e.kill_rounds_left > 0) return;
  if (e.out >= 0 || e.err >= 0) {
    if (now - e.exited_at < kGraceMs) return;
    // What the pipes hold now was written before the cut: sent, never dropped. The grace
    // may have passed while the agent itself was held up (a full channel to a slow daemon,
    // 50 execs at once under gVisor): output the command wrote before it exited was lost
    // then. Bounded: a background process still writing is cut here, as intended.
    for (int round = 0; round < 8 && (e.out >= 0 || e.err >= 0); ++round) {
      if (e.out >= 0) pump_output(e, &e.out, kStdout);
      if (e.err >= 0) pump_output(e, &e.err, kStderr);
    }
  }
  close_exec_pipes(e);
  int32_t code = e.code;
  uint32_t id = e.id;
  e.id = 0;
  send_frame(kExit, id, &code, sizeof code);
}

void handle_frame(const FrameHeader& h, const char* payload) noexcept {
  if (h.type == kExecStart) return start_exec(h.exec_id, payload, h.length);
  Exec* e = find_exec(h.exec_id);
  if (e == nullptr) return;  // an exec that ended meanwhile
  if (h.type == kStdinData) return queue_stdin(*e, payload, h.length);
  if (h.type == kStdinEnd) return end_stdin(*e);
  if (h.type == kKill && e->kill_rounds_left == 0) {
    e->kill_rounds_left = kMaxKillRounds;
    e->next_kill_at = 0;
    kill_round(*e, now_ms());
  }
}

// Reads what the daemon sent; handles every whole frame. A frame the agent cannot take
// (unknown type, over the size limit) ends the channel.
void read_channel() noexcept {
  static char buf[sizeof(FrameHeader) + kMaxRequestPayload];
  static size_t have = 0;
  ssize_t n = read(g_in, buf + have, sizeof buf - have);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) return drop_channel();
  have += static_cast<size_t>(n);
  size_t used = 0;
  while (have - used >= sizeof(FrameHeader)) {
    FrameHeader h;
    memcpy(&h, buf + used, sizeof h);
    if (h.type < kExecStart || h.type > kKill || h.length > kMaxRequestPayload) return drop_channel();
    if (have - used < sizeof h + h.length) break;
    handle_frame(h, buf + used + sizeof h);
    used += sizeof h + h.length;
  }
  memmove(buf, buf + used, have - used);
  have -= used;
}

void reap_children() noexcept {
  signalfd_siginfo info;
  while (read(g_signals, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    for (Exec& e : g_execs) {
      if (e.id != 0 && e.pid == pid) {
        e.exited = true;
        e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        e.exited_at = now_ms();
        if (e.in >= 0) close(e.in), e.in = -1;
      }
    }
  }
}

void pump_output(Exec& e, int* fd, uint32_t type) noexcept {
  static char buf[kMaxAgentPayload];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close(*fd);
    *fd = -1;
    return;
  }
  send_frame(type, e.id, buf, static_cast<uint32_t>(n));
}

void serve() noexcept {
  static pollfd fds[2 + 3 * kMaxAgentExecs];
  static Exec* owner[2 + 3 * kMaxAgentExecs];
  for (;;) {
    int64_t now = now_ms();
    int timeout = -1;
    nfds_t count = 0;
    fds[count++] = {g_signals, POLLIN, 0};
    if (g_in >= 0) fds[count++] = {g_in, POLLIN, 0};
    for (Exec& e : g_execs) {
      if (e.id == 0) continue;
      int64_t left = -1;  // how long until this exec has something to do without an event
      if (e.kill_rounds_left > 0) {
        left = e.next_kill_at - now;
      } else if (e.exited) {
        left = e.out < 0 && e.err < 0 ? 0 : kGraceMs - (now - e.exited_at);
      }
      if (e.kill_rounds_left > 0 || e.exited) {
        int ms = left < 0 ? 0 : static_cast<int>(left);
        timeout = timeout < 0 || ms < timeout ? ms : timeout;
      }
      for (int fd : {e.out, e.err}) {
        if (fd >= 0) owner[count] = &e, fds[count++] = {fd, POLLIN, 0};
      }
      if (e.in >= 0 && e.stdin_len > e.stdin_off) owner[count] = &e, fds[count++] = {e.in, POLLOUT, 0};
    }
    if (poll(fds, count, timeout) < 0 && errno != EINTR) continue;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == g_signals) {
        reap_children();
      } else if (fds[i].fd == g_in) {
        read_channel();
      } else if (Exec* e = owner[i]; e->id != 0) {
        if (fds[i].fd == e->out) pump_output(*e, &e->out, kStdout);
        else if (fds[i].fd == e->err) pump_output(*e, &e->err, kStderr);
        else if (fds[i].fd == e->in) write_stdin(*e);
      }
    }
    now = now_ms();
    for (Exec& e : g_execs) {
      if (e.id == 0) continue;
      kill_round(e, now);
      finish_if_done(e, now);
    }
  }
}

}  // namespace
}  // namespace nucleus::agent

int main() {
  using namespace nucleus::agent;
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  g_in = fcntl(0, F_DUPFD_CLOEXEC, 3);
  g_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
  g_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (g_in < 0 || g_out < 0 || g_devnull < 0) return 125;
  dup2(g_devnull, 0);
  dup2(g_devnull, 1);
  signal(SIGPIPE, SIG_IGN);
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction current = {};
    if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN)
      g_ignored[g_ignored_count++] = sig;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  g_signals = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (g_signals < 0) return 125;
  if (!write_all(g_out, "ready\n", 6)) return 125;
  Hello hello{kProtocolVersion, static_cast<uint32_t>(getuid()), static_cast<uint32_t>(getgid()), kMaxAgentExecs};
  send_frame(kHello, 0, &hello, sizeof hello);
  serve();
}
