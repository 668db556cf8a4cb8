// The default profile, the JSON reader, and compiled filters loaded into a real (forked)
// process: a denial is observed as the errno of a raw syscall, next to an allowed control.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "core/policy/seccomp_compile.h"
#include "core/sys/error.h"
#include "core/policy/seccomp_json.h"
#include "core/policy/seccomp_profile.h"

namespace nucleus::native {
namespace {

using seccomp::Profile;

// Runs fn in a child that installed `programs`; returns the errno fn reported (or 200+).
int errno_under(const SeccompPrograms& programs, const std::function<long()>& fn) {
  int pipefd[2];
  EXPECT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (load_seccomp(programs) != 0) _exit(201);
    errno = 0;
    long ret = fn();
    int err = ret < 0 ? errno : 0;
    (void)!write(pipefd[1], &err, sizeof err);
    _exit(0);
  }
  close(pipefd[1]);
  int err = 200;
  if (read(pipefd[0], &err, sizeof err) != sizeof err) err = 202;
  close(pipefd[0]);
  int status;
  waitpid(pid, &status, 0);
  return err;
}

SeccompPrograms standard() { return prepare_seccomp(seccomp::default_profile(), {}); }

TEST(SeccompProfile, EveryNameResolvesOnThisArchitecture) {
#if defined(__x86_64__)
  for (const seccomp::Rule& rule : seccomp::default_profile().rules) {
    for (const std::string& name : rule.names) EXPECT_GE(resolve_syscall(name), 0) << name;
  }
#else
  GTEST_SKIP() << "the table is checked on x86_64";
#endif
}

TEST(SeccompProfile, GatedRowsNeedTheirCapabilityAndLevel) {
  auto count = [](const Profile& p, const std::string& name) {
    int n = 0;
    for (const auto& r : p.rules) n += std::count(r.names.begin(), r.names.end(), name);
    return n;
  };
  const Profile& def = seccomp::default_profile();
  EXPECT_EQ(count(seccomp::resolve(def, {}), "chroot"), 0);
  EXPECT_EQ(count(seccomp::resolve(def, {.caps = CapSet{1} << 18}), "chroot"), 1);
  EXPECT_EQ(count(seccomp::resolve(def, {.caps = CapSet{1} << 19}), "ptrace"), 0);  // trusted only
  EXPECT_EQ(count(seccomp::resolve(def, {.caps = CapSet{1} << 19, .trusted = true}), "ptrace"), 1);
  for (const char* never : {"mount", "unshare", "setns", "bpf", "keyctl", "io_uring_setup", "userfaultfd",
                            "kexec_load", "init_module", "perf_event_open", "open_by_handle_at"}) {
    EXPECT_EQ(count(seccomp::resolve(def, {.caps = all_capabilities(), .trusted = true}), never),
              std::string(never) == "unshare" ? 1 : 0)
        << never;
  }
}

TEST(SeccompFilter, DeniesWithEpermAndAllowsTheControls) {
  SeccompPrograms p = standard();
  ASSERT_FALSE(p.main.empty());
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_mount, "none", "/", 1L, 0, 0); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_keyctl, 0, -3, 0, 0, 0); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_unshare, CLONE_NEWUSER); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_clone3, 1L, 88L); }), ENOSYS);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_personality, 0x400000L); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_personality, 0xffffffffL); }), 0);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_socket, 40, SOCK_STREAM, 0); }), EPERM);  // AF_VSOCK
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_socket, AF_INET, SOCK_RAW, 1); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); }), 0);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0); }), 0);
  // TIOCSTI is refused on its low 32 bits, high bits or not (CVE-2019-10063); others pass.
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_ioctl, -1, TIOCSTI, 1L); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_ioctl, -1, TIOCSTI | (1UL << 32), 1L); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_ioctl, -1, TIOCLINUX, 1L); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_ioctl, -1, TIOCGWINSZ, 1L); }), EBADF);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_chmod, 1L, 0); }), EFAULT);
#if defined(__x86_64__)
  EXPECT_EQ(errno_under(p, [] { return syscall(500); }), ENOSYS);             // newer than the profile
  EXPECT_EQ(errno_under(p, [] { return syscall(165 | 0x40000000, 0, 0, 0); }), EPERM);  // x32 mount
#endif
}

// Under gVisor: the rows standing in for what the Sentry does not check, on top of the
// profile or alone (--seccomp unconfined), and PID 1's own allow-list.
TEST(SeccompFilter, SentryRowsRefuseDevicesAndStopTheStatxCallsTheyName) {
  constexpr CapSet kMknod = CapSet{1} << 27;
  seccomp::SentryGaps gaps{.unchecked_mknod = true, .rejects_no_automount = true};
  auto mknod_dev = [] { return syscall(SYS_mknodat, AT_FDCWD, 1L, S_IFCHR | 0600, 0x0101); };
  auto mknod_blk = [] { return syscall(SYS_mknodat, AT_FDCWD, 1L, S_IFBLK | 0600, 0x0800); };
  auto mknod_fifo = [] { return syscall(SYS_mknodat, AT_FDCWD, 1L, S_IFIFO | 0600, 0); };
  // Without a tracer, SECCOMP_RET_TRACE answers ENOSYS: the call did stop.
  auto statx_no_automount = [] { return syscall(SYS_statx, AT_FDCWD, "/", AT_NO_AUTOMOUNT, 0x7ffU, 1L); };
  auto statx_plain = [] { return syscall(SYS_statx, AT_FDCWD, "/", 0, 0x7ffU, 1L); };
  auto fstatat_no_automount = [] { return syscall(SYS_newfstatat, AT_FDCWD, "/", 1L, AT_NO_AUTOMOUNT); };
  for (bool unconfined : {false, true}) {
    std::optional<Profile> base;
    if (!unconfined) base = seccomp::resolve(seccomp::default_profile(), {});
    SeccompPrograms p = prepare_seccomp(seccomp::for_sentry(base, gaps, 0), {});
    EXPECT_EQ(errno_under(p, mknod_dev), EPERM) << unconfined;
    EXPECT_EQ(errno_under(p, mknod_blk), EPERM) << unconfined;
    EXPECT_EQ(errno_under(p, mknod_fifo), EFAULT) << unconfined;  // reached the kernel
    EXPECT_EQ(errno_under(p, statx_no_automount), ENOSYS) << unconfined;
    EXPECT_EQ(errno_under(p, fstatat_no_automount), ENOSYS) << unconfined;
    EXPECT_EQ(errno_under(p, statx_plain), EFAULT) << unconfined;
  }
  // CAP_MKNOD keeps device nodes to the kernel's judgement, as natively.
  SeccompPrograms with_mknod = prepare_seccomp(seccomp::for_sentry(std::nullopt, gaps, kMknod), {});
  EXPECT_EQ(errno_under(with_mknod, mknod_dev), EFAULT);
  // A Sentry without the gaps gets no rows.
  EXPECT_TRUE(seccomp::for_sentry(std::nullopt, {}, 0).rules.empty());
}

TEST(SeccompFilter, TheSupervisorMayOnlyWaitTraceSignalAndExit) {
  SeccompPrograms p = prepare_seccomp(seccomp::supervisor_profile(), {});
  EXPECT_TRUE(p.deny.empty());
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_wait4, -1, 0L, WNOHANG, 0L); }), ECHILD);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_ptrace, PTRACE_CONT, 0, 0L, 0L); }), ESRCH);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_kill, 0x7ffffff0, 0); }), ESRCH);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_execve, "/bin/true", 0L, 0L); }), EPERM);
  EXPECT_EQ(errno_under(p, [] { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }), EPERM);
}

TEST(SeccompFilter, TheSecondCompileComesFromTheCache) {
  if (!seccomp_cache_dir()) GTEST_SKIP() << "no cache directory for this user";
  SeccompPrograms first = prepare_seccomp(seccomp::default_profile(), {.caps = 1, .trusted = true});
  SeccompPrograms second = prepare_seccomp(seccomp::default_profile(), {.caps = 1, .trusted = true});
  EXPECT_TRUE(second.from_cache);
  ASSERT_EQ(first.main.size(), second.main.size());
  EXPECT_EQ(std::memcmp(first.main.data(), second.main.data(), first.main.size() * sizeof(sock_filter)), 0);
}

bool same_programs(const SeccompPrograms& a, const SeccompPrograms& b) {
  auto same = [](const std::vector<sock_filter>& x, const std::vector<sock_filter>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(sock_filter)) == 0;
  };
  return same(a.main, b.main) && same(a.deny, b.deny);
}

// The default profile is cached under this build's id and the conditions, not its text: the
// program so found is the one its rules compile to, and other conditions find their own.
TEST(SeccompFilter, TheDefaultProfileIsCachedUnderTheBuildAndTheConditions) {
  if (!seccomp_cache_dir()) GTEST_SKIP() << "no cache directory for this user";
  const seccomp::Conditions plain{.caps = 0, .trusted = false};
  const seccomp::Conditions admin{.caps = CapSet{1} << 19, .trusted = true};  // trusted, CAP_SYS_PTRACE
  const Profile copy = seccomp::default_profile();  // same rules, named by their text
  EXPECT_NE(seccomp_cache_key(seccomp::default_profile(), plain), seccomp_cache_key(seccomp::default_profile(), admin));
  prepare_seccomp(seccomp::default_profile(), plain);
  SeccompPrograms by_build = prepare_seccomp(seccomp::default_profile(), plain);
  EXPECT_TRUE(by_build.from_cache);
  EXPECT_TRUE(same_programs(by_build, prepare_seccomp(copy, plain)));
  EXPECT_FALSE(same_programs(by_build, prepare_seccomp(seccomp::default_profile(), admin)));
}

// Every build names its default programs anew: a miss prunes the cache to its size.
TEST(SeccompFilter, AMissPrunesTheOldestCacheEntries) {
  char tmpl[] = "/tmp/seccomp-cache-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string base = tmpl;
  ::setenv("NUCLEUS_TEST_CACHE_DIR", base.c_str(), 1);
  auto dir = seccomp_cache_dir();
  ASSERT_TRUE(dir);
  for (int i = 0; i < 80; ++i) {
    std::string name = *dir + "/old" + std::to_string(i) + ".bpf";
    int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
    timespec times[2] = {{1000 + i, 0}, {1000 + i, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, name.c_str(), times, 0), 0);
  }
  prepare_seccomp(seccomp::default_profile(), {});  // a miss in this empty cache
  SeccompPrograms again = prepare_seccomp(seccomp::default_profile(), {});
  int count = 0;
  bool oldest_gone = true;
  for (const auto& e : std::filesystem::directory_iterator(*dir)) {
    count += e.path().extension() == ".bpf";
    oldest_gone = oldest_gone && e.path().filename() != "old0.bpf";
  }
  ::unsetenv("NUCLEUS_TEST_CACHE_DIR");
  std::filesystem::remove_all(base);
  EXPECT_TRUE(again.from_cache);  // the new entry stayed
  EXPECT_EQ(count, 64);
  EXPECT_TRUE(oldest_gone);
}

TEST(SeccompJson, DockerAndOciProfilesParse) {
  Profile p = seccomp::parse_json_profile(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "io"},
      {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}},
      {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
    ]})", "p.json");
  EXPECT_EQ(p.default_action, seccomp::Action::kErrno);
  ASSERT_EQ(p.rules.size(), 5u);  // the s390x row is not for this host
  EXPECT_EQ(p.rules[1].requires_caps, CapSet{1} << 18);
  EXPECT_EQ(p.rules[2].errno_ret, 38);
  EXPECT_EQ(p.rules[2].excludes_caps, CapSet{1} << 21);
  EXPECT_EQ(p.rules[4].args[0].value, 8u);
  EXPECT_FALSE(p.enosys_for_newer);
}

TEST(SeccompJson, MistakesNameTheirPlace) {
  auto error = [](const std::string& json) {
    try {
      seccomp::parse_json_profile(json, "p.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error("{"), error("{"));  // stable
  EXPECT_NE(error("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error(R"({"syscalls": []})").find("defaultAction: missing"), std::string::npos);
  EXPECT_NE(error(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultActon": 1})").find("defaultActon: unknown key"),
            std::string::npos);
  EXPECT_NE(error(R"({"defaultAction": "SCMP_ACT_NOTIFY"})").find("unsupported action"), std::string::npos);
  EXPECT_NE(error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]})")
                .find("syscalls[0].args[0].op: unknown operator"),
            std::string::npos);
  EXPECT_NE(error(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x"})").find("not supported"),
            std::string::npos);
  EXPECT_NE(error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW",
               "includes": {"caps": ["CAP_FLY"]}}]})")
                .find("unknown capability"),
            std::string::npos);
}

TEST(SeccompJson, AUserProfileIsEnforced) {
  // Allow everything except mkdir, which answers EACCES: a rule the default action is not.
  Profile p = seccomp::parse_json_profile(
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})",
      "p.json");
  SeccompPrograms programs = prepare_seccomp(p, {});
  EXPECT_EQ(errno_under(programs, [] { return syscall(SYS_mkdirat, AT_FDCWD, 1L, 0); }), EACCES);
  EXPECT_EQ(errno_under(programs, [] { return syscall(SYS_chmod, 1L, 0); }), EFAULT);
}

}  // namespace
}  // namespace nucleus::native
