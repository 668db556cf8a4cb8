// The user-facing switches of the security layers: --seccomp unconfined and FILE.json,
// --cap-add/--cap-drop, --landlock, and the seccomp cache.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"
#include "tests/integration/probe.h"

namespace nucleus::test {
namespace {

using Options = ContainerTest;

TEST_F(Options, SeccompUnconfinedRemovesOnlyTheFilter) {
  Result r = run_sh("grep Seccomp: /proc/self/status | tr -s '\\t' ' '", {"--seccomp", "unconfined"});
  EXPECT_EQ(r.out, "Seccomp: 0\n");
  expect_rows({{"unconfined", "sys keyctl", "0"}, {"caps still hold", "sys mount-tmpfs", "EPERM"}},
              {"--seccomp", "unconfined"});
}

TEST_F(Options, ASeccompProfileFileIsHonoured) {
  TempDir dir("/tmp", "nucleus-it-");
  std::string path = dir.path() + "/profile.json";
  std::ofstream(path) << R"({"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                 {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                  "includes": {"caps": ["CAP_SYS_ADMIN"]}}]})";
  Result r = run_sh("mkdir /tmp/x 2>&1; grep Seccomp: /proc/self/status | tr -s '\\t' ' '",
                    {"--rootfs", kRootfs, "--seccomp", path});
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp: 2"), std::string::npos) << r.out;
  // The includes.caps row applies only when the workload holds CAP_SYS_ADMIN.
  expect_rows({{"file", "sys keyctl", "0"}, {"file", "sys getpid", "0"}}, {"--seccomp", path});
  expect_rows({{"file", "sys getpid", "EPERM"}}, {"--seccomp", path, "--cap-add", "SYS_ADMIN"});
  std::ofstream(path) << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscals": []})";
  Result bad = run_nucleus({"run", "--seccomp", path, "--", "/bin/true"});
  EXPECT_EQ(bad.status, 125);
  EXPECT_NE(bad.err.find("syscals: unknown key"), std::string::npos) << bad.err;
}

TEST_F(Options, CapAddAndDropAdjustThePreset) {
  auto caps = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--rootfs", kRootfs});
    return run_sh("grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status | tr -s '\\t' ' '", args).out;
  };
  EXPECT_EQ(caps({"--cap-add", "NET_BIND_SERVICE"}),
            "CapEff: 0000000000000400\nCapBnd: 0000000000000400\nCapAmb: 0000000000000000\n");
  // A non-root workload keeps an added capability across exec through the ambient set.
  EXPECT_EQ(caps({"--cap-add", "NET_BIND_SERVICE", "-u", "1000"}),
            "CapEff: 0000000000000400\nCapBnd: 0000000000000400\nCapAmb: 0000000000000400\n");
  EXPECT_EQ(caps({"--isolation", "trusted", "--cap-drop", "ALL", "--cap-add", "KILL"}),
            "CapEff: 0000000000000020\nCapBnd: 0000000000000020\nCapAmb: 0000000000000000\n");
  EXPECT_EQ(caps({"--isolation", "trusted", "--cap-drop", "NET_RAW"}),
            "CapEff: 00000000a80405fb\nCapBnd: 00000000a80405fb\nCapAmb: 0000000000000000\n");
  // The capability is real: raw sockets open with NET_RAW added, and not without.
  expect_rows({{"cap-add", "socket 2 3 1", "0"}}, {"--cap-add", "NET_RAW"});
}

TEST_F(Options, LandlockOnAndOff) {
  Result off = run_sh("mkdir /newtop && echo made", {"--rootfs", kRootfs, "--landlock", "off"});
  EXPECT_EQ(off.out, "made\n");
  Result on = run_sh("mkdir /newtop 2>&1; mkdir /home/new && echo nested-ok", {"--rootfs", kRootfs});
  EXPECT_NE(on.out.find("Permission denied"), std::string::npos) << on.out;
  EXPECT_NE(on.out.find("nested-ok"), std::string::npos) << on.out;
  Result trusted_on = run_sh("touch /tmp/ok && echo tmp-ok; echo x > /etc/x 2>&1",
                             {"--rootfs", kRootfs, "--isolation", "trusted", "--landlock", "on"});
  EXPECT_NE(trusted_on.out.find("tmp-ok"), std::string::npos) << trusted_on.out;
}

// The filter is compiled once: afterwards its bytes come from a private cache, and a file
// there that someone else could have written, or a damaged one, is never used.
std::vector<std::string> cached_programs(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = ::opendir(dir.c_str());
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    std::string name = e->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".bpf") == 0) files.push_back(dir + "/" + name);
  }
  if (d) ::closedir(d);
  return files;
}

mode_t mode_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

TEST_F(Options, SeccompCacheIsPrivateAndChecked) {
  const std::string dir = "/var/cache/nucleus/seccomp";
  for (const std::string& f : cached_programs(dir)) ::unlink(f.c_str());  // start from a cold cache
  ASSERT_EQ(run_nucleus({"run", "--", "/bin/true"}).status, 0);
  EXPECT_EQ(mode_of(dir), 0700u);
  const std::vector<std::string> files = cached_programs(dir);
  ASSERT_FALSE(files.empty());
  for (const std::string& f : files) {
    EXPECT_EQ(mode_of(f), 0600u) << f;
    std::ofstream(f, std::ios::trunc) << "garbage";  // damaged: recompiled, rewritten
  }
  expect_rows({{"after damage", "sys mount", "EPERM"}, {"after damage", "sys chmod", "EFAULT"}});
  for (const std::string& f : files) ::chmod(f.c_str(), 0666);  // writable by others: ignored
  expect_rows({{"after chmod", "sys keyctl", "EPERM"}});
  ASSERT_EQ(run_nucleus({"run", "--", "/bin/true"}).status, 0);
  for (const std::string& f : files) EXPECT_EQ(mode_of(f), 0600u) << f << " was not replaced";
  for (const std::string& f : cached_programs(dir)) {
    if (mode_of(f) != 0600u) ::unlink(f.c_str());
  }
}

}  // namespace
}  // namespace nucleus::test
