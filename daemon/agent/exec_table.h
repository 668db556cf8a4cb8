#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/agent/kill_tree.h"
#include "daemon/agent/protocol.h"

// nucleus-agent's execs: a fixed table of the commands it runs, their pipes and the stdin
// still to write, and the parsing of a kExecStart request. libc only.
namespace nucleus::agent {

struct Exec {
  uint32_t id = 0;  // 0: a free slot
  pid_t pid = -1;
  int out = -1, err = -1, in = -1;  // the agent's ends
  char* stdin_buf = nullptr;        // what the daemon sent and the command has not read yet
  size_t stdin_len = 0, stdin_off = 0, stdin_cap = 0;
  bool stdin_end = false;
  bool exited = false;
  int kill_rounds_left = 0;  // a kill in progress: rounds still to run (kill_tree.h)
  int64_t next_kill_at = 0;
  int code = 0;
  int64_t exited_at = 0;
  char marker[256] = {};
};

extern Exec g_execs[kMaxAgentExecs];

Exec* find_exec(uint32_t id) noexcept;
Exec* free_slot() noexcept;
void begin_exec(Exec& e, uint32_t id, pid_t pid, int out, int err, int in, const char* marker) noexcept;
void close_exec_pipes(Exec& e) noexcept;

void queue_stdin(Exec& e, const char* data, uint32_t length) noexcept;
void end_stdin(Exec& e) noexcept;
void write_stdin(Exec& e) noexcept;  // as much as the pipe takes now

// A kExecStart request, its strings pointing into the payload (and into `base`, the
// environment it is laid over); argv and envp are allocated, NULL-terminated.
struct StartRequest {
  const char* cwd = "";
  const char* marker = "";
  char** argv = nullptr;
  char** envp = nullptr;
  bool has_stdin = false;
};
// False for a payload that is not exactly what protocol.h says (counts, NUL-terminated
// strings, no argv, an environment entry without '=').
bool parse_start(const char* payload, uint32_t length, char** base, StartRequest* out) noexcept;
void free_start(StartRequest* r) noexcept;

}  // namespace nucleus::agent
