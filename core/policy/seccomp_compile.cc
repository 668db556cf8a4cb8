#include "core/policy/seccomp_compile.h"

#include <elf.h>
#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "core/policy/seccomp_bpf.h"
#include "core/sys/bounded_child.h"
#include "core/sys/error.h"
#include "core/sys/private_dir.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

using seccomp::Action;
using seccomp::Op;

#if defined(__x86_64__)
// Calls libseccomp 2.5.4 may not know by name, with their x86_64 numbers (asm/unistd_64.h).
constexpr std::pair<const char*, int> kNewerSyscalls[] = {
    {"uretprobe", 335},        {"pidfd_send_signal", 424}, {"io_uring_setup", 425},
    {"io_uring_enter", 426},   {"io_uring_register", 427}, {"open_tree", 428},
    {"move_mount", 429},       {"fsopen", 430},            {"fsconfig", 431},
    {"fsmount", 432},          {"fspick", 433},            {"pidfd_open", 434},
    {"clone3", 435},           {"close_range", 436},       {"openat2", 437},
    {"pidfd_getfd", 438},      {"faccessat2", 439},        {"process_madvise", 440},
    {"epoll_pwait2", 441},     {"mount_setattr", 442},     {"quotactl_fd", 443},
    {"landlock_create_ruleset", 444}, {"landlock_add_rule", 445}, {"landlock_restrict_self", 446},
    {"memfd_secret", 447},     {"process_mrelease", 448},  {"futex_waitv", 449},
    {"set_mempolicy_home_node", 450}, {"cachestat", 451},  {"fchmodat2", 452},
    {"map_shadow_stack", 453}, {"futex_wake", 454},        {"futex_wait", 455},
    {"futex_requeue", 456},    {"statmount", 457},         {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460}, {"lsm_list_modules", 461},
    {"mseal", 462},            {"setxattrat", 463},        {"getxattrat", 464},
    {"listxattrat", 465},      {"removexattrat", 466},     {"open_tree_attr", 467},
    {"file_getattr", 468},     {"file_setattr", 469},
};
// The newest syscall this profile was written against (Linux 6.18); numbers above it, up
// to where x32's range begins, answer ENOSYS.
constexpr int kNewestKnown = 469;
constexpr int kFirstUnassigned = 512;
constexpr const char* kArch = "x86_64";
#else
constexpr std::pair<const char*, int> kNewerSyscalls[] = {{"", -1}};
constexpr int kNewestKnown = -1;
constexpr int kFirstUnassigned = -1;
constexpr const char* kArch = "other";
#endif

constexpr char kCacheMagic[4] = {'N', 'S', 'C', '1'};

uint32_t to_scmp(Action action, int err) {
  switch (action) {
    case Action::kAllow: return SCMP_ACT_ALLOW;
    case Action::kErrno: return SCMP_ACT_ERRNO(static_cast<uint16_t>(err));
    case Action::kKillThread: return SCMP_ACT_KILL_THREAD;
    case Action::kKillProcess: return SCMP_ACT_KILL_PROCESS;
    case Action::kTrap: return SCMP_ACT_TRAP;
    case Action::kLog: return SCMP_ACT_LOG;
    case Action::kTrace: return SCMP_ACT_TRACE(0);
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare to_cmp(Op op) {
  switch (op) {
    case Op::kEq: return SCMP_CMP_EQ;
    case Op::kNe: return SCMP_CMP_NE;
    case Op::kLt: return SCMP_CMP_LT;
    case Op::kLe: return SCMP_CMP_LE;
    case Op::kGt: return SCMP_CMP_GT;
    case Op::kGe: return SCMP_CMP_GE;
    case Op::kMaskedEq: return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

// libseccomp context, released on every path.
struct Filter {
  explicit Filter(uint32_t default_action) : ctx(seccomp_init(default_action)) {
    if (ctx == nullptr) throw Error("seccomp", "libseccomp could not create a filter");
  }
  ~Filter() { seccomp_release(ctx); }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  scmp_filter_ctx ctx;
};

void add_rule(Filter& f, const seccomp::Rule& rule, int nr, const std::string& name) {
  std::vector<scmp_arg_cmp> cmps;
  for (const seccomp::Arg& a : rule.args) {
    cmps.push_back({a.index, to_cmp(a.op), a.value, a.value_two});
  }
  int rc = seccomp_rule_add_array(f.ctx, to_scmp(rule.action, rule.errno_ret), nr,
                                  static_cast<unsigned>(cmps.size()), cmps.data());
  if (rc < 0) throw Error("seccomp", "libseccomp refused the rule for " + name, -rc);
}

std::vector<sock_filter> export_bpf(Filter& f) {
  UniqueFd mem(::memfd_create("nucleus-seccomp", MFD_CLOEXEC));
  if (!mem) throw_errno("seccomp", "memfd_create");
  if (int rc = seccomp_export_bpf(f.ctx, mem.get()); rc < 0) throw Error("seccomp", "export BPF", -rc);
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) throw Error("seccomp", "bad BPF size");
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size) throw_errno("seccomp", "read BPF");
  return prog;
}

void set_attrs(Filter& f, uint32_t bad_arch) {
  seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_NNP, 0);  // nucleus sets no_new_privs itself
  seccomp_attr_set(f.ctx, SCMP_FLTATR_ACT_BADARCH, bad_arch);
  seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);  // binary tree over ~300 calls
}

// The profile's rules by number, sorted into libseccomp's two programs: any rule whose
// action is the default becomes an exception (the second program) to a call with rules of its
// own; without other rules it would change nothing and is dropped. Tracing rules are
// exceptions too: they refine a call the first program allows whole.
struct Sorted {
  uint32_t default_action;
  std::vector<std::pair<int, const seccomp::Rule*>> main, exceptions;
};

Sorted sort_rules(const seccomp::Profile& profile) {
  Sorted out{.default_action = to_scmp(profile.default_action, profile.default_errno), .main = {}, .exceptions = {}};
  std::set<int> has_own_rules;
  std::vector<std::pair<int, const seccomp::Rule*>> resolved;
  for (const seccomp::Rule& r : profile.rules) {
    for (const std::string& name : r.names) {
      int nr = resolve_syscall(name);
      if (nr < 0) continue;  // not a call on this architecture
      resolved.emplace_back(nr, &r);
      if (to_scmp(r.action, r.errno_ret) != out.default_action) has_own_rules.insert(nr);
    }
  }
  for (const auto& [nr, rule] : resolved) {
    uint32_t action = to_scmp(rule->action, rule->errno_ret);
    if (rule->action == seccomp::Action::kTrace || (action == out.default_action && has_own_rules.count(nr))) {
      out.exceptions.emplace_back(nr, rule);
    } else if (action != out.default_action) {
      out.main.emplace_back(nr, rule);
    }
  }
  // Numbers newer than the profile (above kNewestKnown) that it does not name answer ENOSYS.
  if (profile.enosys_for_newer && kNewestKnown > 0 && out.default_action != SCMP_ACT_ALLOW) {
    static const seccomp::Rule kNewer = [] {
      seccomp::Rule r;
      r.names = {"a call newer than the profile"};
      r.action = seccomp::Action::kErrno;
      r.errno_ret = ENOSYS;
      return r;
    }();
    for (int nr = kNewestKnown + 1; nr < kFirstUnassigned; ++nr) {
      if (!has_own_rules.count(nr)) out.main.emplace_back(nr, &kNewer);
    }
  }
  return out;
}

// Every other ABI (i386 int 0x80, x32) is refused with the default errno (SYS-17).
uint32_t bad_arch_action(uint32_t default_action) {
  return default_action == SCMP_ACT_ALLOW ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM);
}

}  // namespace

SeccompPrograms compile_with_libseccomp(const seccomp::Profile& profile) {
  Sorted rules = sort_rules(profile);
  Filter main(rules.default_action);
  set_attrs(main, bad_arch_action(rules.default_action));
  Filter second(SCMP_ACT_ALLOW);
  set_attrs(second, SCMP_ACT_ALLOW);
  for (const auto& [nr, rule] : rules.main) add_rule(main, *rule, nr, rule->names.front());
  for (const auto& [nr, rule] : rules.exceptions) add_rule(second, *rule, nr, rule->names.front());
  SeccompPrograms out;
  out.main = export_bpf(main);
  if (!rules.exceptions.empty()) out.deny = export_bpf(second);
  return out;
}

std::optional<std::vector<sock_filter>> compile_with_nucleus(const seccomp::Profile& profile) {
#if defined(__x86_64__)
  Sorted rules = sort_rules(profile);
  seccomp::BpfInput input{.audit_arch = AUDIT_ARCH_X86_64, .default_verdict = rules.default_action,
                          .bad_arch = bad_arch_action(rules.default_action), .calls = {}};
  for (const auto& [nr, rule] : rules.main) {
    input.calls[nr].main.push_back({&rule->args, to_scmp(rule->action, rule->errno_ret)});
  }
  for (const auto& [nr, rule] : rules.exceptions) {
    input.calls[nr].exceptions.push_back({&rule->args, to_scmp(rule->action, rule->errno_ret)});
  }
  return seccomp::write_bpf(std::move(input));
#else
  (void)profile;
  return std::nullopt;
#endif
}

namespace {

// libseccomp, which may loop forever on a profile it does not refuse (core/sys/bounded_child.h),
// has this long in its child: its compile of a long profile takes some milliseconds.
constexpr std::chrono::milliseconds kLibseccompDeadline{10000};

// nucleus's one program where it writes the profile exactly (seccomp_bpf.h), else libseccomp's.
SeccompPrograms compile(const seccomp::Profile& profile) {
  if (std::optional<std::vector<sock_filter>> one = compile_with_nucleus(profile)) {
    SeccompPrograms out;
    out.main = std::move(*one);
    return out;
  }
  return compile_with_libseccomp_bounded(profile, kLibseccompDeadline);
}

// ---- the cache ------------------------------------------------------------------------

uint64_t fnv1a(std::string_view data, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : data) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The programs as bytes: the cache's files and the answer of libseccomp's child.
std::string encode(const SeccompPrograms& p) {
  std::string payload(reinterpret_cast<const char*>(p.main.data()), p.main.size() * sizeof(sock_filter));
  payload.append(reinterpret_cast<const char*>(p.deny.data()), p.deny.size() * sizeof(sock_filter));
  uint32_t sizes[2] = {static_cast<uint32_t>(p.main.size()), static_cast<uint32_t>(p.deny.size())};
  uint64_t sum = fnv1a(payload);
  std::string data(kCacheMagic, sizeof kCacheMagic);
  data.append(reinterpret_cast<const char*>(sizes), sizeof sizes);
  data.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return data + payload;
}

std::optional<SeccompPrograms> decode(std::string_view data) {
  uint32_t sizes[2];
  uint64_t sum;
  constexpr size_t kHeader = sizeof kCacheMagic + sizeof sizes + sizeof sum;
  if (data.size() < kHeader || std::memcmp(data.data(), kCacheMagic, sizeof kCacheMagic) != 0) return std::nullopt;
  std::memcpy(sizes, data.data() + sizeof kCacheMagic, sizeof sizes);
  std::memcpy(&sum, data.data() + sizeof kCacheMagic + sizeof sizes, sizeof sum);
  size_t bytes = (static_cast<size_t>(sizes[0]) + sizes[1]) * sizeof(sock_filter);
  if (data.size() != kHeader + bytes || sizes[0] == 0) return std::nullopt;
  std::string_view payload(data.data() + kHeader, bytes);
  if (fnv1a(payload) != sum) return std::nullopt;
  SeccompPrograms out;
  out.main.resize(sizes[0]);
  out.deny.resize(sizes[1]);
  std::memcpy(out.main.data(), payload.data(), sizes[0] * sizeof(sock_filter));
  std::memcpy(out.deny.data(), payload.data() + sizes[0] * sizeof(sock_filter), sizes[1] * sizeof(sock_filter));
  return out;
}

std::optional<SeccompPrograms> read_cache(const sys::PrivateDir& dir, const std::string& name) {
  std::optional<std::string> file = dir.read(name, 1u << 20);
  std::optional<SeccompPrograms> out = file ? decode(*file) : std::nullopt;
  if (out) out->from_cache = true;
  return out;
}

void write_cache(const sys::PrivateDir& dir, const std::string& name, const SeccompPrograms& p) {
  (void)dir.write(name, encode(p));  // a cache we cannot write is only slower
}

// Every build of nucleus names its programs anew (seccomp_cache_key): on a miss, the
// entries written longest ago go once there are more than kCacheEntries.
constexpr size_t kCacheEntries = 64;

void prune_cache(const sys::PrivateDir& dir) {
  int fd = ::openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (d == nullptr) {
    if (fd >= 0) ::close(fd);
    return;
  }
  std::vector<std::pair<timespec, std::string>> entries;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    struct stat st;
    if (n.size() > 4 && n.substr(n.size() - 4) == ".bpf" && ::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      entries.emplace_back(st.st_mtim, std::string(n));
    }
  }
  if (entries.size() > kCacheEntries) {
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return a.first.tv_sec != b.first.tv_sec ? a.first.tv_sec < b.first.tv_sec : a.first.tv_nsec < b.first.tv_nsec;
    });
    for (size_t i = 0; i + kCacheEntries < entries.size(); ++i) ::unlinkat(fd, entries[i].second.c_str(), 0);
  }
  ::closedir(d);
}

}  // namespace

int resolve_syscall(const std::string& name) {
  int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr >= 0) return nr;
  for (const auto& [n, number] : kNewerSyscalls) {
    if (name == n) return number;
  }
  return -1;  // unknown here, or a pseudo-call of a multiplexer this ABI does not have
}

std::optional<std::string> seccomp_cache_dir() {
  std::optional<sys::PrivateDir> dir = sys::open_cache_dir("seccomp");
  return dir ? std::optional<std::string>(dir->path()) : std::nullopt;
}

namespace {

// This binary's GNU build id (the linker's hash of its contents), or empty without one.
std::string_view own_build_id() {
  static const std::string id = [] {
    std::string out;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
          auto& found = *static_cast<std::string*>(data);
          for (int i = 0; i < info->dlpi_phnum && found.empty(); ++i) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_NOTE) continue;
            const char* at = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
            for (const char* end = at + ph.p_memsz; at + sizeof(ElfW(Nhdr)) <= end;) {
              auto* note = reinterpret_cast<const ElfW(Nhdr)*>(at);
              const char* name = at + sizeof(ElfW(Nhdr));
              const char* desc = name + ((note->n_namesz + 3) & ~3u);
              if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0 &&
                  desc + note->n_descsz <= end) {
                found.assign(desc, note->n_descsz);
                break;
              }
              at = desc + ((note->n_descsz + 3) & ~3u);
            }
          }
          return 1;  // the first object is the program itself
        },
        &out);
    return out;
  }();
  return id;
}

}  // namespace

// The cache key names what the program is made from, and by which writer: this binary's
// build id (nucleus's BPF writer is in it) and libseccomp's version. nucleus's own default
// profile is this binary's table: the build id and the conditions name it without resolving
// and writing out 500 rules at every start and exec; any other profile is named by its
// resolved text.
std::string seccomp_cache_key(const seccomp::Profile& profile, const seccomp::Conditions& when) {
  const scmp_version* v = seccomp_version();
  std::string_view build = own_build_id();
  std::string key = std::string("nucleus-seccomp-2|") + NUCLEUS_VERSION + "|" + hex(fnv1a(build)) + "|" +
                    std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro) +
                    "|" + kArch + "|";
  if (&profile == &seccomp::default_profile()) {  // prepare_seccomp keeps no cache without a build id
    return key + "default|" + std::to_string(when.caps) + "|" + (when.trusted ? "1" : "0");
  }
  return key + seccomp::serialize(seccomp::resolve(profile, when));
}

SeccompPrograms prepare_seccomp(const seccomp::Profile& profile, const seccomp::Conditions& when) {
  // Without a build id the key could not tell this binary's writer from another's: no cache.
  std::optional<sys::PrivateDir> dir = own_build_id().empty() ? std::nullopt : sys::open_cache_dir("seccomp");
  if (!dir) return compile(seccomp::resolve(profile, when));  // nothing to name it for
  const std::string name = hex(fnv1a(seccomp_cache_key(profile, when))) + ".bpf";
  if (auto cached = read_cache(*dir, name)) return std::move(*cached);
  SeccompPrograms programs = compile(seccomp::resolve(profile, when));
  write_cache(*dir, name, programs);
  prune_cache(*dir);
  return programs;
}

int load_seccomp(const SeccompPrograms& programs) noexcept {
  for (const std::vector<sock_filter>* prog : {&programs.main, &programs.deny}) {
    if (prog->empty()) continue;
    sock_fprog fprog = {static_cast<unsigned short>(prog->size()), const_cast<sock_filter*>(prog->data())};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return errno;
  }
  return 0;
}

SeccompPrograms compile_with_libseccomp_bounded(const seccomp::Profile& resolved, std::chrono::milliseconds deadline) {
  std::string bytes = sys::run_with_deadline("seccomp: libseccomp's compile of the profile", deadline,
                                             [&] { return encode(compile_with_libseccomp(resolved)); });
  std::optional<SeccompPrograms> programs = decode(bytes);
  if (!programs) throw Error("seccomp", "libseccomp's child answered with a damaged program");
  return std::move(*programs);
}

}  // namespace nucleus
