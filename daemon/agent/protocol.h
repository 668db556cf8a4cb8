#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// The exec channel between nucleusd and nucleus-agent, the process that serves a sandbox's
// execs from inside it (docs/api.md "Exec through the agent"). Two pipes, the agent's stdin
// (daemon -> agent) and stdout (agent -> daemon), carry frames:
//
//   uint32 type, uint32 exec id, uint32 length, then `length` bytes of payload
//
// in the host's byte order (both ends run on one machine). libc only: the static agent
// includes it. Everything the agent sends is untrusted input to the daemon (code in the
// sandbox may have taken the agent over): the daemon checks each header against these
// bounds and the ids it handed out, and drops the channel at the first frame that fails.
namespace nucleus::agent {

inline constexpr uint32_t kProtocolVersion = 1;

enum FrameType : uint32_t {
  // daemon -> agent
  kExecStart = 1,  // payload: ExecStart below
  kStdinData = 2,  // a piece of the exec's stdin
  kStdinEnd = 3,   // the exec's stdin is closed
  kKill = 4,       // kill the exec's whole tree (timeout, client gone); kExit follows
  // agent -> daemon
  kHello = 16,   // exec id 0; payload: Hello below; sent once, after "ready\n"
  kStdout = 17,  // a piece of the exec's stdout
  kStderr = 18,  // a piece of the exec's stderr
  kExit = 19,    // payload: int32 exit code (128+N for signal N; 125-127: not started)
};

struct FrameHeader {
  uint32_t type;
  uint32_t exec_id;
  uint32_t length;
};

struct Hello {
  uint32_t version;
  uint32_t uid;  // the identity every exec through the agent runs as
  uint32_t gid;
  uint32_t max_execs;
};

// The largest payload of each direction. Output is cut into frames of at most
// kMaxAgentPayload; the daemon refuses anything larger. An exec request is bounded by the
// agent's own limit (a larger argv and environment go through `nucleus exec`).
inline constexpr uint32_t kMaxAgentPayload = 64 * 1024;
inline constexpr uint32_t kMaxRequestPayload = 1024 * 1024;
// Execs one agent runs at once; the daemon sends more through `nucleus exec`.
inline constexpr uint32_t kMaxAgentExecs = 128;

// kExecStart's payload: a fixed part, then NUL-terminated strings: the cwd ("" : the
// agent's own), the marker (KEY=VALUE, the exec's NUCLEUS_EXEC), argc arguments, envc
// KEY=VALUE pairs laid over the agent's own environment.
struct ExecStartFixed {
  uint32_t argc;
  uint32_t envc;
  uint32_t has_stdin;  // 0: /dev/null; 1: kStdinData frames then kStdinEnd
};

inline bool valid_agent_frame(const FrameHeader& h) {
  const bool known = h.type == kHello || h.type == kStdout || h.type == kStderr || h.type == kExit;
  if (!known || h.length > kMaxAgentPayload) return false;
  if (h.type == kHello) return h.exec_id == 0 && h.length == sizeof(Hello);
  if (h.type == kExit) return h.exec_id != 0 && h.length == sizeof(int32_t);
  return h.exec_id != 0;
}

}  // namespace nucleus::agent
