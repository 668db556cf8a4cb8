#include "daemon/agent/exec_table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <initializer_list>

namespace nucleus::agent {

Exec g_execs[kMaxAgentExecs];

Exec* find_exec(uint32_t id) noexcept {
  if (id == 0) return nullptr;
  for (Exec& e : g_execs) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

Exec* free_slot() noexcept {
  for (Exec& e : g_execs) {
    if (e.id == 0) return &e;
  }
  return nullptr;
}

void begin_exec(Exec& e, uint32_t id, pid_t pid, int out, int err, int in, const char* marker) noexcept {
  free(e.stdin_buf);
  e = Exec{};
  e.id = id;
  e.pid = pid;
  e.out = out;
  e.err = err;
  e.in = in;
  for (int fd : {out, err, in}) {
    if (fd >= 0) fcntl(fd, F_SETFL, O_NONBLOCK);  // the agent's ends only (a pipe's end has no other status flag)
  }
  strncpy(e.marker, marker, sizeof e.marker - 1);
}

void close_exec_pipes(Exec& e) noexcept {
  for (int* fd : {&e.out, &e.err, &e.in}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  free(e.stdin_buf);
  e.stdin_buf = nullptr;
  e.stdin_len = e.stdin_off = e.stdin_cap = 0;
}

void queue_stdin(Exec& e, const char* data, uint32_t length) noexcept {
  if (e.in < 0 || e.stdin_end) return;
  if (e.stdin_len + length > e.stdin_cap) {
    size_t cap = e.stdin_cap == 0 ? 65536 : e.stdin_cap;
    while (cap < e.stdin_len + length) cap *= 2;
    char* bigger = static_cast<char*>(realloc(e.stdin_buf, cap));
    if (bigger == nullptr) return;
    e.stdin_buf = bigger;
    e.stdin_cap = cap;
  }
  memcpy(e.stdin_buf + e.stdin_len, data, length);
  e.stdin_len += length;
  write_stdin(e);
}

void end_stdin(Exec& e) noexcept {
  e.stdin_end = true;
  write_stdin(e);
}

void write_stdin(Exec& e) noexcept {
  while (e.in >= 0 && e.stdin_off < e.stdin_len) {
    ssize_t n = write(e.in, e.stdin_buf + e.stdin_off, e.stdin_len - e.stdin_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // the command closed its stdin: the rest is dropped
      ::close(e.in);
      e.in = -1;
      return;
    }
    e.stdin_off += static_cast<size_t>(n);
  }
  if (e.stdin_off == e.stdin_len) e.stdin_off = e.stdin_len = 0;
  if (e.stdin_end && e.stdin_len == 0 && e.in >= 0) {
    ::close(e.in);
    e.in = -1;
  }
}

namespace {

// The next NUL-terminated string at *pos, or nullptr when the payload ends without one.
const char* next_string(const char* payload, uint32_t length, uint32_t* pos) noexcept {
  if (*pos >= length) return nullptr;
  const void* nul = memchr(payload + *pos, '\0', length - *pos);
  if (nul == nullptr) return nullptr;
  const char* s = payload + *pos;
  *pos = static_cast<uint32_t>(static_cast<const char*>(nul) - payload) + 1;
  return s;
}

size_t key_length(const char* entry) noexcept {
  const char* eq = strchr(entry, '=');
  return eq == nullptr ? 0 : static_cast<size_t>(eq - entry);
}

bool overridden(const char* entry, char* const* overlay, size_t count) noexcept {
  size_t k = key_length(entry);
  for (size_t i = 0; i < count; ++i) {
    if (key_length(overlay[i]) == k && strncmp(overlay[i], entry, k) == 0) return true;
  }
  return false;
}

}  // namespace

bool parse_start(const char* payload, uint32_t length, char** base, StartRequest* out) noexcept {
  ExecStartFixed fixed;
  if (length < sizeof fixed) return false;
  memcpy(&fixed, payload, sizeof fixed);
  if (fixed.argc == 0 || fixed.argc > length || fixed.envc > length) return false;
  uint32_t pos = sizeof fixed;
  const char* cwd = next_string(payload, length, &pos);
  const char* marker = next_string(payload, length, &pos);
  if (cwd == nullptr || marker == nullptr || key_length(marker) == 0 || strlen(marker) >= sizeof(Exec::marker)) return false;
  size_t base_count = 0;
  while (base != nullptr && base[base_count] != nullptr) ++base_count;
  char** argv = static_cast<char**>(calloc(fixed.argc + 1, sizeof(char*)));
  char** overlay = static_cast<char**>(calloc(fixed.envc + 2, sizeof(char*)));
  char** envp = static_cast<char**>(calloc(base_count + fixed.envc + 2, sizeof(char*)));
  bool ok = argv != nullptr && overlay != nullptr && envp != nullptr;
  for (uint32_t i = 0; ok && i < fixed.argc; ++i) ok = (argv[i] = const_cast<char*>(next_string(payload, length, &pos)));
  for (uint32_t i = 0; ok && i < fixed.envc; ++i) {
    overlay[i] = const_cast<char*>(next_string(payload, length, &pos));
    ok = overlay[i] != nullptr && key_length(overlay[i]) > 0;
  }
  ok = ok && pos == length;
  if (ok) {
    overlay[fixed.envc] = const_cast<char*>(marker);
    size_t n = 0;
    for (size_t i = 0; i < base_count; ++i) {
      if (!overridden(base[i], overlay, fixed.envc + 1)) envp[n++] = base[i];
    }
    for (uint32_t i = 0; i <= fixed.envc; ++i) envp[n++] = overlay[i];
  }
  free(overlay);
  if (!ok) {
    free(argv);
    free(envp);
    return false;
  }
  *out = StartRequest{cwd, marker, argv, envp, fixed.has_stdin != 0};
  return true;
}

void free_start(StartRequest* r) noexcept {
  free(r->argv);
  free(r->envp);
  r->argv = r->envp = nullptr;
}

}  // namespace nucleus::agent
