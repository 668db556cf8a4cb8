// Capabilities, no_new_privs, the filesystem view and fds (security-bar CAP, NNP, FS, FD),
// observed from inside, with the ablation runs for FS-03, FS-05 and NNP-01.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"
#include "tests/integration/probe.h"

namespace nucleus::test {
namespace {

using Filesystem = ContainerTest;

std::string status_lines(const std::vector<std::string>& run_args, const std::string& fields) {
  std::vector<std::string> args = {"--rootfs", kRootfs};
  args.insert(args.end(), run_args.begin(), run_args.end());
  Result r = run_sh("grep -E '^(" + fields + "):' /proc/self/status | tr -s '\\t' ' '", args);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

TEST_F(Filesystem, Cap01NonRootHoldsNoCapabilities) {
  EXPECT_EQ(status_lines({"--user", "1000:1000"}, "Cap(Inh|Prm|Eff|Bnd|Amb)"),
            "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\n"
            "CapBnd: 0000000000000000\nCapAmb: 0000000000000000\n");
}

TEST_F(Filesystem, Cap02RootCannotRaiseAnything) {
  EXPECT_EQ(status_lines({}, "Cap(Inh|Eff|Bnd|Amb)"),
            "CapInh: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000\n"
            "CapAmb: 0000000000000000\n");
  EXPECT_EQ(status_lines({"--isolation", "trusted"}, "Cap(Inh|Eff|Bnd|Amb)"),
            "CapInh: 0000000000000000\nCapEff: 00000000a80425fb\nCapBnd: 00000000a80425fb\n"
            "CapAmb: 0000000000000000\n");
  expect_rows({{"CAP-02", "capset-raise 21", "EPERM"},
               {"CAP-02", "ambient-raise 10", "EPERM"},
               {"control", "caps", "0"}});
  Result fcap = run_sh("/opt/fcap-probe caps", {"--rootfs", kRootfs});
  EXPECT_NE(fcap.out.find("eff=0000000000000000"), std::string::npos) << fcap.out;
}

// CAP-03: exactly the configured ids; the caller's own supplementary groups never follow.
TEST_F(Filesystem, Cap03IdentityIsExactAndFinal) {
  RunOptions in_disk_group;
  in_disk_group.setpriv = {"--groups", "6,27"};
  Result r = run_sh("/nprobe ids; grep Groups /proc/self/status | tr -s '\\t' ' '",
                    {"--rootfs", kRootfs, "--user", "1000:1000", "--group-add", "2000"}, in_disk_group);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "uid=1000,1000,1000 gid=1000,1000,1000 groups=2000\nGroups: 2000 \n");
  expect_rows({{"CAP-03", "setuid 0", "EPERM"}, {"CAP-03", "setgroups 0", "EPERM"}}, {"--user", "1000:1000"});
}

TEST_F(Filesystem, Nnp01EveryProcessHasNoNewPrivsAndAFilter) {
  Result r = run_sh("grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status /proc/1/status | tr -s '\\t' ' '; "
                    "sh -c 'grep -E \"^(NoNewPrivs|Seccomp):\" /proc/self/status' | tr -s '\\t' ' '",
                    {"--rootfs", kRootfs});
  EXPECT_EQ(r.out,
            "/proc/self/status:NoNewPrivs: 1\n/proc/self/status:Seccomp: 2\n"
            "/proc/1/status:NoNewPrivs: 1\n/proc/1/status:Seccomp: 2\n"
            "NoNewPrivs: 1\nSeccomp: 2\n");
  Result suid = run_sh("/opt/suid-probe ids; /opt/fcap-probe caps | head -1", {"--rootfs", kRootfs, "-u", "1000"});
  EXPECT_EQ(suid.out.substr(0, 19), "uid=1000,1000,1000 ") << suid.out;
  EXPECT_NE(suid.out.find("eff=0000000000000000"), std::string::npos) << suid.out;
}

// Ablation: no_new_privs off; the empty bounding set and nosuid still give nothing.
TEST_F(Filesystem, Nnp01WithoutNoNewPrivsNothingIsGainedEither) {
  RunOptions ablate;
  ablate.env = {{"NUCLEUS_TEST_ABLATE", "nnp"}};
  Result r = run_sh("grep NoNewPrivs /proc/self/status | tr -s '\\t' ' '; /opt/suid-probe ids; "
                    "/opt/fcap-probe caps | head -1",
                    {"--rootfs", kRootfs, "-u", "1000"}, ablate);
  EXPECT_NE(r.out.find("NoNewPrivs: 0\n"), std::string::npos) << r.out;  // the layer really is off
  EXPECT_NE(r.out.find("uid=1000,1000,1000 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("eff=0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("NUCLEUS_TEST_ABLATE=nnp: test-only"), std::string::npos) << r.err;
}

// NNP-02: every writable mount is nosuid,nodev (device nodes and devpts excepted: they must
// stay devices); a setuid copy made in /tmp elevates nothing.
TEST_F(Filesystem, Nnp02WritableMountsAreNosuidNodev) {
  TempDir vol("/tmp", "nucleus-it-vol-");
  Result r = run_sh(
      "awk '{split($6, o, \",\"); rw = 0; s = 0; d = 0; for (i in o) { if (o[i] == \"rw\") rw = 1; "
      "if (o[i] == \"nosuid\") s = 1; if (o[i] == \"nodev\") d = 1 } "
      "if (rw && !(s && d) && $9 != \"devpts\" && $5 !~ /^\\/dev\\/(null|zero|full|random|urandom|tty)$/) "
      "print \"weak:\", $5, $6}' /proc/self/mountinfo; "
      "cp /opt/suid-probe /tmp/s && chmod 4755 /tmp/s && /tmp/s ids",
      {"--rootfs", kRootfs, "-u", "1000", "-v", vol.path() + ":/vol", "--tmpfs", "/scratch"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("weak:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("uid=1000,1000,1000 "), std::string::npos) << r.out;
}

TEST_F(Filesystem, Fs02MasksReadEmptyAndStayPut) {
  Result r = run_sh(
      "for f in kcore keys timer_list timer_stats sched_debug latency_stats interrupts; do "
      "[ -e /proc/$f ] && echo \"$f $(wc -c < /proc/$f)\"; done; "
      "for d in /proc/acpi /proc/asound /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do "
      "[ -d $d ] && echo \"$d $(ls -A $d | wc -l)\"; done; "
      "umount /proc/interrupts 2>&1; echo x > /proc/interrupts 2>&1; "
      "grep -c ' /proc/interrupts ' /proc/self/mountinfo",
      {"--rootfs", kRootfs});
  for (const std::string& line : lines_of(r.out)) {
    if (line.rfind("umount", 0) == 0 || line.find("can't") != std::string::npos) continue;
    if (line.size() == 1) {
      EXPECT_EQ(line, "1") << "each mask is mounted once";
      continue;
    }
    EXPECT_EQ(line.substr(line.rfind(' ')), " 0") << line;
  }
  EXPECT_NE(r.out.find("interrupts 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/sys/firmware 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;  // umount
}

// The rows for the kernel knobs this host has (modprobe and sysrq-trigger depend on the
// kernel's configuration). The kernel checks the sysctl's owner before the mount: under a
// user namespace container root is not host root (EACCES); as real root (trusted, run by
// root) the read-only path answers (EROFS). A knob of the container's own network
// namespace belongs to container root, so its mount answers (EROFS).
std::vector<Row> knob_rows(const char* host_knob_errno) {
  std::vector<Row> rows;
  for (const char* knob : {"/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
                           "/proc/sys/vm/overcommit_memory"}) {
    if (::access(knob, F_OK) == 0) rows.push_back({"FS-03", std::string("write-back ") + knob, host_knob_errno});
  }
  if (::access("/proc/sysrq-trigger", F_OK) == 0) rows.push_back({"FS-03", "open /proc/sysrq-trigger w", "EROFS"});
  rows.push_back({"FS-04", "write-back /sys/class/net/lo/mtu", "EROFS"});
  rows.push_back({"FS-04", "open /sys/fs/cgroup/cgroup.procs w", "ENOENT"});
  rows.push_back({"control", "open /proc/sys/kernel/core_pattern r", "0"});
  return rows;
}

TEST_F(Filesystem, Fs03KernelKnobsAreReadOnly) {
  std::string core_pattern = read_host_file("/proc/sys/kernel/core_pattern");
  expect_rows(knob_rows("EACCES"));
  expect_rows(knob_rows("EROFS"), {"--isolation", "trusted"});
  EXPECT_EQ(read_host_file("/proc/sys/kernel/core_pattern"), core_pattern);
}

// Ablation: without the read-only paths, the user namespace refuses (container root is not
// host root); as real root without them, Landlock does. (The last layer alone is never
// removed here: that run would write the host's core_pattern.)
TEST_F(Filesystem, Fs03WithoutTheReadOnlyPathsTheNextLayersRefuse) {
  RunOptions ablate;
  ablate.env = {{"NUCLEUS_TEST_ABLATE", "masks"}};
  std::string core_pattern = read_host_file("/proc/sys/kernel/core_pattern");
  Row row = {"FS-03", "write-back /proc/sys/kernel/core_pattern", "EACCES"};
  expect_rows({row}, {"--landlock", "off"}, ablate);
  expect_rows({row}, {"--isolation", "trusted", "--landlock", "on"}, ablate);
  EXPECT_EQ(read_host_file("/proc/sys/kernel/core_pattern"), core_pattern);
}

// FS-05: a fresh, unmasked procfs. Refused at unshare; with seccomp relaxed and nested user
// namespaces allowed, the kernel still refuses the mount because the container's /proc is
// overmounted (mount_too_revealing). Control: without the masks the same mount works.
TEST_F(Filesystem, Fs05NoFreshUnmaskedProc) {
  expect_rows({{"FS-05", "unshare USER", "EPERM"}});
  // busybox's unshare -r writes /proc/self/{setgroups,uid_map} (Landlock off as well) and
  // maps uid 0, which the kernel allows only with CAP_SETFCAP (5.12+; granted here).
  const std::string script = "unshare -Urmpf sh -c 'mount -t proc p /proc && echo mounted' 2>&1";
  const std::vector<std::string> relaxed = {"--rootfs", kRootfs, "--seccomp", "unconfined", "--landlock", "off",
                                            "--cap-add", "SETFCAP"};
  RunOptions ablate;
  ablate.env = {{"NUCLEUS_TEST_ABLATE", "userns-clamp"}};
  Result r = run_sh(script, relaxed, ablate);
  EXPECT_EQ(r.out.find("mounted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("permission denied"), std::string::npos) << r.out;
  ablate.env = {{"NUCLEUS_TEST_ABLATE", "userns-clamp,masks"}};
  Result control = run_sh(script, relaxed, ablate);
  EXPECT_NE(control.out.find("mounted"), std::string::npos) << control.out;
}

// Without CAP_SETFCAP the nested user namespace cannot even map root (another layer).
TEST_F(Filesystem, Fs05NestedRootNeedsSetfcap) {
  RunOptions ablate;
  ablate.env = {{"NUCLEUS_TEST_ABLATE", "userns-clamp"}};
  Result r = run_sh("unshare -Ur true 2>&1 && echo mapped",
                    {"--rootfs", kRootfs, "--seccomp", "unconfined", "--landlock", "off"}, ablate);
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("mapped"), std::string::npos) << r.out;
}

TEST_F(Filesystem, Fs06HostDataIsNotInTheView) {
  std::string tag = "nc-canary-" + std::to_string(::getpid());
  std::ofstream("/root/." + tag) << "secret";
  std::ofstream("/var/lib/" + tag) << "secret";
  Result r = run_sh("for p in /root/." + tag + " /var/lib/" + tag + " /etc/shadow; do cat $p 2>&1; done; "
                    "find / -xdev -name '*" + tag + "*' 2>/dev/null; echo done");
  ::unlink(("/root/." + tag).c_str());
  ::unlink(("/var/lib/" + tag).c_str());
  EXPECT_EQ(r.out.find("secret"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;  // three "No such file", done
  EXPECT_NE(r.out.find("/etc/shadow: No such file or directory"), std::string::npos) << r.out;
}

// FS-07: Landlock holds where a mount flag is wrong (test-only: ro volumes mounted rw).
TEST_F(Filesystem, Fs07LandlockRefusesWritesAWrongMountFlagWouldAllow) {
  TempDir vol("/tmp", "nucleus-it-vol-");
  ASSERT_EQ(::chown(vol.path().c_str(), 100000, 100000), 0);  // DAC would let container root in
  RunOptions ablate;
  ablate.env = {{"NUCLEUS_TEST_ABLATE", "ro-mounts"}};
  std::vector<std::string> args = {"--rootfs", kRootfs, "-v", vol.path() + ":/data:ro"};
  Result r = run_sh("grep ' /data ' /proc/self/mountinfo | cut -d' ' -f6; touch /data/x 2>&1; "
                    "touch /tmp/y && echo tmp-ok", args, ablate);
  EXPECT_EQ(r.out.rfind("rw,", 0), 0u) << "the mount flag really is wrong: " << r.out;
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tmp-ok"), std::string::npos) << r.out;
  args.insert(args.end(), {"--landlock", "off"});
  Result control = run_sh("touch /data/x && echo written", args, ablate);
  EXPECT_NE(control.out.find("written"), std::string::npos) << control.out;
}

TEST_F(Filesystem, Fs08NoDeviceNodes) {
  // Landlock answers first (EACCES); without it, the missing CAP_MKNOD (EPERM).
  expect_rows({{"FS-08", "mknod /tmp/sda b 8 0", "EACCES"},
               {"FS-08", "mknod /tmp/mem c 1 1", "EACCES"},
               {"FS-08", "open /dev/mem r", "ENOENT"},
               {"control", "mknod /tmp/fifo p 0 0", "0"}});
  expect_rows({{"FS-08", "mknod /tmp/sda b 8 0", "EPERM"}}, {"--landlock", "off"});
  Result ls = run_sh("ls /dev | tr '\\n' ' '", {"--rootfs", kRootfs});
  EXPECT_EQ(ls.out, "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero ");
  // trusted keeps MKNOD (Docker's set): the node can be made but never opened (nodev).
  expect_rows({{"FS-08", "mknod /tmp/sda b 8 0", "0"}, {"FS-08", "open /tmp/sda r", "EACCES"}},
              {"--isolation", "trusted"});
}

// FS-09: an image cannot redirect /dev: it is rebuilt, and /dev/null is the real one.
TEST_F(Filesystem, Fs09AnImagesDevIsNeverTrusted) {
  TempDir dir("/tmp", "nucleus-it-img-");
  ASSERT_EQ(::system(("cp -a " + kRootfs + "/. " + dir.path()).c_str()), 0);
  ::unlink((dir.path() + "/dev/null").c_str());
  ASSERT_EQ(::symlink("/proc/sys/kernel/core_pattern", (dir.path() + "/dev/null").c_str()), 0);
  std::string core_pattern = read_host_file("/proc/sys/kernel/core_pattern");
  Result r = run_nucleus({"run", "--rootfs", dir.path(), "--", "/nprobe", "statfs", "/dev/null"});
  EXPECT_NE(r.out.find("rdev=1:3"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(read_host_file("/proc/sys/kernel/core_pattern"), core_pattern);
  std::string dev = dir.path() + "/dev";
  ASSERT_EQ(::system(("rm -rf " + dev).c_str()), 0);
  ASSERT_EQ(::symlink("/tmp", dev.c_str()), 0);
  Result refused = run_nucleus({"run", "--rootfs", dir.path(), "--", "/bin/true"});
  EXPECT_EQ(refused.status, 125);
  EXPECT_NE(refused.err.find("/dev must be an ordinary directory"), std::string::npos) << refused.err;
}

// FS-10: container A swaps a directory and a symlink to "/" in a shared volume while B starts
// over and over with a bind destination beneath it. Each start fails cleanly or mounts
// inside B's own root (RESOLVE_IN_ROOT); nothing appears on the host.
TEST_F(Filesystem, Fs10SymlinkRacesStayInsideTheRoot) {
  TempDir shared("/tmp", "nucleus-it-shared-");
  TempDir source("/tmp", "nucleus-it-src-");
  std::ofstream(source.path() + "/marker") << "src";
  ASSERT_EQ(::mkdir((shared.path() + "/d").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("/", (shared.path() + "/l").c_str()), 0);
  ASSERT_EQ(::system(("chown -hR 100000:100000 " + shared.path()).c_str()), 0);
  std::string name = "nucleus-fs10-" + std::to_string(::getpid());
  NucleusProcess racer({"run", "--rootfs", kRootfs, "-v", shared.path() + ":/v", "--", "/nprobe", "exchange-loop",
                        "/v/d", "/v/l", "4"});
  ASSERT_TRUE(racer.wait_for_output("ready"));
  int started = 0;
  for (int i = 0; i < 50; ++i) {
    Result r = run_nucleus({"run", "--rootfs", kRootfs, "-v", shared.path() + ":/shared", "-v",
                            source.path() + ":/shared/d/" + name + ":ro", "--", "/bin/true"});
    EXPECT_TRUE(r.status == 0 || r.status == 125) << r.err;
    started += r.status == 0;
  }
  Result racing = racer.wait();
  EXPECT_NE(racing.out.find("errno=0"), std::string::npos) << racing.out;  // it really swapped
  EXPECT_GT(started, 0);
  struct stat st;
  EXPECT_NE(::lstat(("/" + name).c_str(), &st), 0) << "a mount point escaped onto the host's /";
  EXPECT_EQ(read_host_file(source.path() + "/marker"), "src");
}

// FD-01: fds nucleus inherited never reach the workload.
TEST_F(Filesystem, Fd01OnlyStdioCrossesIntoTheWorkload) {
  // nucleus starts holding extra fds: a host directory, a host file, /dev/null read-write.
  std::string cmd = "exec 7</ 8</etc/hostname 9<>/dev/null; exec " + kNucleus + " run --rootfs " + kRootfs +
                    " -- /nprobe fds";
  FILE* f = ::popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[256];
  while (::fgets(buf, sizeof buf, f)) out += buf;
  int status = ::pclose(f);
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_NE(out.find("fds extra=0"), std::string::npos) << out;
  EXPECT_EQ(out.find("fd 7"), std::string::npos) << out;
  EXPECT_NE(out.find("fd 0"), std::string::npos) << "control: the probe lists what it has: " << out;
}

TEST_F(Filesystem, Fd02CwdIsInsideTheRoot) {
  Result r = run_sh("readlink /proc/self/cwd; /nprobe cwd | head -1; "
                    "i=0; while [ $i -lt 50 ]; do cd ..; i=$((i+1)); done; pwd; ls /etc/rootfs-marker",
                    {"--rootfs", kRootfs, "-w", "/work"});
  EXPECT_EQ(r.out, "/work\ncwd=/work\n/\n/etc/rootfs-marker\n");
}

// FD-03: the supervisor is unreachable: its exe cannot be reopened, its environ not read,
// and it survives SIGKILL from inside; the host's nucleus binary is unchanged.
TEST_F(Filesystem, Fd03TheSupervisorIsUntouchable) {
  std::string binary = read_host_file(kNucleus);
  Result r = run_sh("/nprobe exe-write /proc/1/exe; cat /proc/1/environ > /dev/null 2>&1 || echo environ-denied; "
                    "kill -9 1 2>/dev/null; sleep 0.1; cat /proc/1/comm",
                    {"--rootfs", kRootfs});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "exe-write ret=-1 errno=EACCES\nenviron-denied\nnucleus-init\n");
  EXPECT_TRUE(read_host_file(kNucleus) == binary);
}

}  // namespace
}  // namespace nucleus::test
