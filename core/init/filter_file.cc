#include "core/init/filter_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nucleus::init {
namespace {

// The parser and untrace_program run before glibc is up too (exec_entry.cc): plain loops,
// no libc call (this file is built without the stack protector and loop-to-memcpy passes).
bool take_u32(const unsigned char* data, size_t size, size_t* at, uint32_t* value) noexcept {
  if (size - *at < sizeof *value) return false;
  auto* v = reinterpret_cast<unsigned char*>(value);
  for (size_t i = 0; i < sizeof *value; ++i) v[i] = data[*at + i];
  *at += sizeof *value;
  return true;
}

bool has_magic(const unsigned char* data, size_t size) noexcept {
  if (size < sizeof kFilterMagic) return false;
  for (size_t i = 0; i < sizeof kFilterMagic; ++i) {
    if (data[i] != static_cast<unsigned char>(kFilterMagic[i])) return false;
  }
  return true;
}

}  // namespace

int parse_filter_file(const void* data, size_t size, FilterSet* out) noexcept {
  const unsigned char* bytes = static_cast<const unsigned char*>(data);
  out->flags = 0;
  out->count = 0;
  for (FilterProgram& p : out->programs) p = FilterProgram{};
  if (!has_magic(bytes, size)) return EINVAL;
  size_t at = sizeof kFilterMagic;
  uint32_t count = 0;
  if (!take_u32(bytes, size, &at, &out->flags) || !take_u32(bytes, size, &at, &count)) return EINVAL;
  if (count > kMaxFilterPrograms) return EINVAL;
  for (uint32_t i = 0; i < count; ++i) {
    FilterProgram& p = out->programs[i];
    if (!take_u32(bytes, size, &at, &p.role) || !take_u32(bytes, size, &at, &p.length)) return EINVAL;
    if ((p.role != kWorkloadFilter && p.role != kSupervisorFilter) || p.length == 0 || p.length > kMaxFilterLength) {
      return EINVAL;
    }
    size_t bytes_needed = static_cast<size_t>(p.length) * sizeof(sock_filter);
    if (size - at < bytes_needed || at % alignof(sock_filter) != 0) return EINVAL;
    p.code = reinterpret_cast<const sock_filter*>(bytes + at);
    at += bytes_needed;
  }
  if (at != size) return EINVAL;
  out->count = count;
  return 0;
}

int read_filter_file(const char* path, FilterSet* out) noexcept {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno;
  struct stat st;
  int err = fstat(fd, &st) != 0 ? errno : 0;
  if (err == 0 && (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (1 << 20))) err = EINVAL;
  if (err != 0) {
    close(fd);
    return err;
  }
  void* data = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  close(fd);
  if (data == MAP_FAILED) return saved;
  return parse_filter_file(data, static_cast<size_t>(st.st_size), out);
}

int load_filters(const FilterSet& set, uint32_t role) noexcept {
  for (unsigned i = 0; i < set.count; ++i) {
    const FilterProgram& p = set.programs[i];
    if (p.role != role) continue;
    sock_fprog prog = {static_cast<unsigned short>(p.length), const_cast<sock_filter*>(p.code)};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  }
  return 0;
}

void untrace_program(const FilterProgram& p, sock_filter* out) noexcept {
  for (uint32_t i = 0; i < p.length; ++i) {
    out[i] = p.code[i];
    if (BPF_CLASS(out[i].code) == BPF_RET && BPF_RVAL(out[i].code) == BPF_K &&
        (out[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_TRACE) {
      out[i].k = SECCOMP_RET_ALLOW;
    }
  }
}

}  // namespace nucleus::init
