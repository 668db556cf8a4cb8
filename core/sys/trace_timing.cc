#include "core/sys/trace_timing.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace nucleus::timing {
namespace {

struct Mark {
  const char* phase;
  long long ns;
  int pid;
};

struct Page {
  unsigned count;
  Mark marks[(4096 - sizeof(unsigned)) / sizeof(Mark) - 1];
};

Page* g_page = nullptr;
pid_t g_owner = 0;

long long now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

}  // namespace

void init() noexcept {
  const char* value = std::getenv("NUCLEUS_TRACE_TIMING");
  if (value == nullptr || value[0] == '\0' || std::strcmp(value, "0") == 0) return;
  void* p = mmap(nullptr, sizeof(Page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  g_page = static_cast<Page*>(p);
  g_owner = getpid();
  mark("main");
}

bool enabled() noexcept { return g_page != nullptr; }

void mark(const char* phase) noexcept {
  if (g_page == nullptr) return;
  unsigned i = __atomic_fetch_add(&g_page->count, 1, __ATOMIC_RELAXED);
  if (i >= sizeof g_page->marks / sizeof g_page->marks[0]) return;
  // The pid as the host sees it is the parent's business; the child's getpid() may be 1.
  g_page->marks[i] = {phase, now_ns(), static_cast<int>(getpid())};
}

void report() noexcept {
  if (g_page == nullptr || getpid() != g_owner) return;
  unsigned n = __atomic_load_n(&g_page->count, __ATOMIC_ACQUIRE);
  if (n > sizeof g_page->marks / sizeof g_page->marks[0]) n = sizeof g_page->marks / sizeof g_page->marks[0];
  if (n == 0) return;
  long long start = g_page->marks[0].ns;
  long long previous = start;
  for (unsigned i = 0; i < n; ++i) {
    const Mark& m = g_page->marks[i];
    std::fprintf(stderr, "timing: %8.3f ms %+8.3f ms  %-32s pid %d\n", (m.ns - start) / 1e6, (m.ns - previous) / 1e6,
                 m.phase, m.pid);
    previous = m.ns;
  }
}

}  // namespace nucleus::timing
