// Issue #14: what runc and crun accept, nucleus accepts, on both backends. Bundles as other
// OCI tools make them: the unmodified `runc spec`, `crun spec` and `nucleus spec` outputs
// (rootless too; tests/integration/data/specs, written by runc 1.1.5 and crun 1.8.1 as
// root), a config's own seccomp allow-list, mounts as written, each rootfsPropagation, a
// mount namespace joined by path, runc's `run ID` form, hooks' state, unknown and
// label-only fields.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"
#include "tests/support/slurp.h"

namespace nucleus::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class OciConformance : public ContainerTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (IsSkipped()) return;
    dir_.emplace("/tmp", "nucleus-it-");
    root_ = dir_->path() + "/state";
    bundle_ = dir_->path() + "/bundle";
    ASSERT_EQ(::mkdir(bundle_.c_str(), 0755), 0);
  }
  void TearDown() override {
    if (dir_) {
      Result list = nucleus({"list", "--quiet"});
      std::istringstream ids(list.out);
      for (std::string id; std::getline(ids, id);) nucleus({"delete", "--force", id});
    }
    ContainerTest::TearDown();
  }
  bool gvisor() const { return GetParam() == "gvisor"; }

  // A generator's config.json with only what running it here needs: root.path pointed at
  // the busybox rootfs, a command that ends, no terminal (no console socket in a test), the
  // backend under test.
  json generated(const std::string& name) const {
    json c = json::parse(slurp(std::string(OCI_SPEC_DIR) + "/" + name + ".json"));
    c["root"]["path"] = kRootfs;
    c["process"]["terminal"] = false;
    c["annotations"]["run.nucleus.backend"] = GetParam();
    return c;
  }
  json nucleus_spec(bool rootless) const {
    std::string out = dir_->path() + "/gen";
    ::mkdir(out.c_str(), 0755);
    std::vector<std::string> args = {"spec", "--bundle", out};
    if (rootless) args.push_back("--rootless");
    EXPECT_EQ(run_nucleus(args).status, 0);
    json c = json::parse(slurp(out + "/config.json"));
    ::unlink((out + "/config.json").c_str());
    c["root"]["path"] = kRootfs;
    c["process"]["terminal"] = false;
    c["annotations"]["run.nucleus.backend"] = GetParam();
    return c;
  }
  // The runc spec bundle with a command, changed by `change`.
  json config(const std::vector<std::string>& args, const std::function<void(json&)>& change = {}) const {
    json c = generated("runc-spec");
    c["process"]["args"] = args;
    if (change) change(c);
    return c;
  }
  void write(const json& c) const { std::ofstream(bundle_ + "/config.json") << c.dump(2); }

  Result nucleus(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root_});
    return run_nucleus(args);
  }
  // runc's own form: create, start and wait in one command.
  Result run_bundle(const std::string& id, std::vector<std::string> flags = {}) const {
    std::vector<std::string> args = {"run", "--bundle", bundle_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(id);
    return nucleus(args);
  }
  // The same through /bin/sh, which opens fd 3 on `file` first (for --preserve-fds). Output
  // goes to files: a created container keeps its stdout open, so a pipe would never end.
  Result with_fd3(const std::string& file, const std::vector<std::string>& args) const {
    std::string cmd = "exec 3<" + shell_quote(file) + "; exec " + shell_quote(kNucleus) + " --root " + shell_quote(root_);
    for (const std::string& a : args) cmd += " " + shell_quote(a);
    const std::string out = dir_->path() + "/fd3.out", err = dir_->path() + "/fd3.err";
    int status = std::system(("/bin/sh -c " + shell_quote(cmd) + " >" + shell_quote(out) + " 2>" + shell_quote(err)).c_str());
    Result r;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  json state(const std::string& id) const {
    Result r = nucleus({"state", id});
    return r.status == 0 ? json::parse(r.out) : json{{"error", r.err}};
  }
  bool wait_status(const std::string& id, const std::string& want) const {
    for (auto end = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < end;) {
      if (state(id).value("status", "") == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::optional<TempDir> dir_;
  std::string root_, bundle_;
};

// Item 0: every generator's output runs as written (runc's and crun's list ambient
// capabilities without an inheritable set: they are not raised, as runc and crun do).
TEST_P(OciConformance, GeneratedSpecsRunUnchanged) {
  std::vector<std::pair<std::string, json>> specs;
  for (const char* name : {"runc-spec", "runc-spec-rootless", "crun-spec", "crun-spec-rootless"}) {
    specs.emplace_back(name, generated(name));
  }
  specs.emplace_back("nucleus spec", nucleus_spec(false));
  specs.emplace_back("nucleus spec --rootless", nucleus_spec(true));
  for (auto& [name, c] : specs) {
    c["process"]["args"] = {"sh", "-c", "echo ran; grep -E '^Cap(Inh|Amb)' /proc/self/status"};
    write(c);
    Result r = run_bundle("gen");
    EXPECT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_EQ(r.out.rfind("ran\n", 0), 0u) << name << ": " << r.out;
    if (!gvisor()) {
      EXPECT_NE(r.out.find("CapAmb:\t0000000000000000"), std::string::npos) << name << ": " << r.out;
    }
  }
  EXPECT_EQ(nucleus({"list", "--quiet"}).out, "");
}

// Item 1: a config's own allow-list without close_range, and one with little more than what a
// static busybox needs, run: only the workload feels the profile.
TEST_P(OciConformance, MinimalSeccompAllowListsRun) {
  auto profile = [](std::vector<std::string> allowed) {
    return json{{"defaultAction", "SCMP_ACT_ERRNO"},
                {"architectures", {"SCMP_ARCH_X86_64"}},
                {"syscalls", {{{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}}}}};
  };
  // A shell's needs, as an old profile lists them: no close_range.
  std::vector<std::string> shell = {
      "read", "write", "open", "openat", "close", "fstat", "newfstatat", "stat", "lstat", "statx", "mmap", "mprotect",
      "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl", "access", "execve", "exit",
      "exit_group", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "arch_prctl", "set_tid_address",
      "set_robust_list", "rseq", "prlimit64", "getrandom", "readlink", "fcntl", "dup2", "dup3", "wait4", "clone",
      "fork", "vfork", "getcwd", "chdir", "uname", "lseek", "getdents64", "futex", "prctl", "sysinfo", "pipe2"};
  write(config({"sh", "-c", "echo shell; /bin/true"}, [&](json& c) { c["linux"]["seccomp"] = profile(shell); }));
  Result r = run_bundle("allow-list");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "shell\n") << r.err;

  // A static program's start and its one write, and nothing else.
  std::vector<std::string> minimal = {"execve", "exit_group", "brk", "arch_prctl", "set_tid_address", "write",
                                      "readlink", "prlimit64", "getrandom", "mprotect", "getuid"};
  write(config({"/bin/echo", "minimal"}, [&](json& c) { c["linux"]["seccomp"] = profile(minimal); }));
  Result m = run_bundle("minimal");
  EXPECT_EQ(m.status, 0) << m.err;
  EXPECT_EQ(m.out, "minimal\n") << m.err;
  // The profile binds the workload: a call it leaves out fails inside.
  write(config({"sh", "-c", "kill -0 $$ && echo allowed || echo refused"},
               [&](json& c) { c["linux"]["seccomp"] = profile(shell); }));
  EXPECT_EQ(run_bundle("binds").out, "refused\n");
}

// Item 2: mounts in the config's order with its options, as /proc/self/mountinfo shows them.
TEST_P(OciConformance, MountsAppearInOrderWithTheirOptions) {
  write(config({"sh", "-c", "cat /proc/self/mountinfo; stat -c 'shm %a' /dev/shm"}, [](json& c) {
    c["mounts"].push_back({{"destination", "/work"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"size=1m", "mode=700", "noexec"}}});
    c["mounts"].push_back({{"destination", "/work/inner"}, {"type", "tmpfs"}, {"source", "inner"}, {"options", {"size=2m", "nodev"}}});
    c["mounts"].push_back({{"destination", "/work/inner/ro"}, {"type", "bind"}, {"source", "/etc"}, {"options", {"rbind", "ro"}}});
  }));
  Result r = run_bundle("mounts");
  ASSERT_EQ(r.status, 0) << r.err;
  // Mount points in the order they were made, the config's first.
  std::vector<std::string> points;
  std::map<std::string, std::string> line_of;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    points.push_back(point);
    line_of[point] = line;
  }
  auto position = [&](const std::string& point) {
    return std::find(points.begin(), points.end(), point) - points.begin();
  };
  EXPECT_NE(r.out.find("shm 1777"), std::string::npos) << r.out;
  if (gvisor()) {
    // runsc mounts the Sentry's /proc, /sys and /dev first and the rest parents first: every
    // mount is there with the config's options, each below its parent.
    for (const char* p : {"/dev/shm", "/work", "/work/inner", "/work/inner/ro"}) {
      EXPECT_LT(position(p), static_cast<long>(points.size())) << p << " missing: " << r.out;
    }
    EXPECT_LT(position("/dev"), position("/dev/shm"));
    EXPECT_LT(position("/work"), position("/work/inner"));
    EXPECT_LT(position("/work/inner"), position("/work/inner/ro"));
    EXPECT_NE(line_of["/dev/shm"].find("mode=1777,size=65536k"), std::string::npos) << line_of["/dev/shm"];
    EXPECT_NE(line_of["/work"].find("size=1m,mode=700"), std::string::npos) << line_of["/work"];
    EXPECT_NE(line_of["/work/inner/ro"].find(" ro "), std::string::npos) << line_of["/work/inner/ro"];
  } else {
    // The config's mounts in its order (the kernel lists them as they were made).
    std::vector<std::string> listed = {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/work", "/work/inner", "/work/inner/ro"};
    size_t at = 0;
    for (const std::string& p : points) {
      if (at < listed.size() && p == listed[at]) ++at;
    }
    EXPECT_EQ(at, listed.size()) << r.out;
    EXPECT_NE(line_of["/dev/shm"].find("nosuid,nodev,noexec"), std::string::npos) << line_of["/dev/shm"];
    EXPECT_NE(line_of["/dev/shm"].find("size=65536k"), std::string::npos) << line_of["/dev/shm"];
    EXPECT_NE(line_of["/work"].find("size=1024k,mode=700"), std::string::npos) << line_of["/work"];
    EXPECT_NE(line_of["/work/inner/ro"].find(" ro,"), std::string::npos) << line_of["/work/inner/ro"];
  }
}

// Item 3: every linux.rootfsPropagation value gives a container; natively the root shows it.
TEST_P(OciConformance, EachRootfsPropagationWorks) {
  for (const char* p : {"shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"}) {
    write(config({"sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"}, [&](json& c) { c["linux"]["rootfsPropagation"] = p; }));
    Result r = run_bundle("propagation");
    ASSERT_EQ(r.status, 0) << p << ": " << r.err;
    if (gvisor()) continue;
    std::string prop(p);
    bool shared = prop.find("shared") != std::string::npos, unbindable = prop.find("unbindable") != std::string::npos;
    EXPECT_EQ(r.out.find(" shared:") != std::string::npos, shared) << p << ": " << r.out;
    EXPECT_EQ(r.out.find(" unbindable") != std::string::npos, unbindable) << p << ": " << r.out;
    EXPECT_EQ(r.out.find(" master:"), std::string::npos) << p << ": nothing of the host's reaches it: " << r.out;
  }
}

// Item 4: a mount namespace named by path is the container's.
TEST_P(OciConformance, MountNamespaceJoinedByPath) {
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(1);
    ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
    ::pause();
    ::_exit(0);
  }
  std::string ns = "/proc/" + std::to_string(holder) + "/ns/mnt";
  struct stat own{}, joined{};
  for (int i = 0; i < 200 && ::stat(ns.c_str(), &joined) == 0 && ::stat("/proc/self/ns/mnt", &own) == 0 && joined.st_ino == own.st_ino; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(joined.st_ino, own.st_ino);
  write(config({"sh", "-c", "stat -L -c %i /proc/self/ns/mnt"}, [&](json& c) {
    for (json& n : c["linux"]["namespaces"]) {
      if (n["type"] == "mount") n["path"] = ns;
    }
  }));
  Result r = run_bundle("joined");
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  if (gvisor()) {
    // runsc would ignore the path: the Sentry's mount namespace is its own.
    EXPECT_EQ(r.status, 125);
    EXPECT_EQ(r.err, "nucleus: config.json: linux.namespaces: mount: the gVisor backend cannot join a mount namespace (the Sentry's is its own)\n");
    return;
  }
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(joined.st_ino) + "\n") << r.err;
}

// Item 4: without a mount namespace the container shares the caller's and is chrooted into
// its root, as with crun and runc; nucleus mounts nothing in a namespace not the container's.
TEST_P(OciConformance, NoMountNamespaceChrootsIntoTheRoot) {
  auto without_mounts = [](json& c) {
    json kept = json::array();
    for (const json& n : c["linux"]["namespaces"]) {
      if (n["type"] != "mount") kept.push_back(n);
    }
    c["linux"]["namespaces"] = kept;
  };
  write(config({"sh", "-c", "cat /etc/rootfs-marker; stat -L -c %i /proc/self/ns/mnt 2>/dev/null || echo no-proc"}, [&](json& c) {
    without_mounts(c);
    c["mounts"] = json::array();
    c["linux"].erase("maskedPaths");
    c["linux"].erase("readonlyPaths");
    c["root"]["readonly"] = false;
  }));
  Result r = run_bundle("chrooted");
  EXPECT_EQ(r.status, 0) << r.err;
  if (!gvisor()) {
    EXPECT_EQ(r.out, "nucleus-test-rootfs\nno-proc\n") << r.err;  // the rootfs, and nothing mounted in it
    write(config({"/bin/true"}, without_mounts));  // the config's mounts would land on the host
    Result refused = run_bundle("mounts");
    EXPECT_EQ(refused.status, 125);
    EXPECT_EQ(refused.err, "nucleus: config.json: mounts: needs a mount namespace (linux.namespaces lists none)\n");
  } else {
    EXPECT_EQ(r.out.rfind("nucleus-test-rootfs\n", 0), 0u) << r.out;
  }
}

// Item 6: runc's `run ID`: foreground with the exit status, --keep, --detach, --preserve-fds.
TEST_P(OciConformance, RunBundleForegroundKeepAndDetach) {
  write(config({"sh", "-c", "echo in $(hostname); exit 3"}));
  Result r = run_bundle("fg");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "in runc\n");
  EXPECT_EQ(nucleus({"list", "--quiet"}).out, "");  // deleted once it ended

  Result kept = run_bundle("kept", {"--keep"});
  EXPECT_EQ(kept.status, 3) << kept.err;
  EXPECT_EQ(state("kept")["status"], "stopped");
  EXPECT_EQ(state("kept")["bundle"], bundle_);
  EXPECT_EQ(nucleus({"delete", "kept"}).status, 0);

  write(config({"sleep", "60"}));
  Result detached = run_bundle("bg", {"--detach", "--pid-file", dir_->path() + "/bg.pid"});
  ASSERT_EQ(detached.status, 0) << detached.err;
  EXPECT_EQ(state("bg")["status"], "running");
  EXPECT_EQ(std::to_string(state("bg")["pid"].get<int>()), slurp(dir_->path() + "/bg.pid"));
  ASSERT_EQ(nucleus({"kill", "bg", "KILL"}).status, 0);
  EXPECT_TRUE(wait_status("bg", "stopped"));
  EXPECT_EQ(nucleus({"delete", "bg"}).status, 0);

  // The flags form keeps its meaning: a word after the options is a command.
  Result flags = run_nucleus({"run", "--", "/bin/sh", "-c", "echo flags"});
  EXPECT_EQ(flags.out, "flags\n") << flags.err;
}

TEST_P(OciConformance, PreserveFdsOnRunCreateAndExec) {
  std::string file = dir_->path() + "/passed";
  std::ofstream(file) << "through fd 3\n";
  write(config({"sh", "-c", "cat <&3; ls /proc/self/fd | wc -l"}));
  Result r = with_fd3(file, {"run", "--preserve-fds", "1", "--bundle", bundle_, "fds"});
  if (gvisor()) {
    EXPECT_EQ(r.status, 125);
    EXPECT_EQ(r.err, "nucleus: --preserve-fds: runsc cannot pass extra file descriptors to a gVisor container\n");
    return;
  }
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "through fd 3\n5\n") << r.err;  // 0-2, 3, and ls's own directory fd

  // Without it, nothing of the caller's above 2 gets in.
  Result none = with_fd3(file, {"run", "--bundle", bundle_, "nofds"});
  EXPECT_EQ(none.out, "4\n") << none.err;

  // A closed fd is refused: nucleus's own would take its place.
  Result closed = nucleus({"run", "--preserve-fds", "5", "--bundle", bundle_, "closed"});
  EXPECT_EQ(closed.status, 125);
  EXPECT_NE(closed.err.find("--preserve-fds: fd "), std::string::npos) << closed.err;

  write(config({"sleep", "60"}));
  Result created = with_fd3(file, {"create", "--preserve-fds", "1", "--bundle", bundle_, "created"});
  ASSERT_EQ(created.status, 0) << created.err;
  ASSERT_EQ(nucleus({"start", "created"}).status, 0);
  Result in = with_fd3(file, {"exec", "--preserve-fds", "1", "created", "/bin/sh", "-c", "cat <&3; cat /proc/1/fdinfo/3 >/dev/null && echo init-has-3"});
  EXPECT_EQ(in.out, "through fd 3\ninit-has-3\n") << in.err;
  EXPECT_EQ(nucleus({"delete", "--force", "created"}).status, 0);
}

// Item 7: each hook reads the container's state: the caller's bundle, and the status of its
// moment (poststart: running).
TEST_P(OciConformance, HooksSeeTheCallersBundleAndTheirStatus) {
  const std::string out = dir_->path() + "/hooks";
  ASSERT_EQ(::mkdir(out.c_str(), 0755), 0);
  auto hook = [&](const std::string& phase) {
    return json{{"path", "/bin/sh"}, {"args", {"sh", "-c", "cat > " + out + "/" + phase + ".json"}}};
  };
  write(config({"sleep", "60"}, [&](json& c) {
    c["hooks"] = {{"prestart", {hook("prestart")}},
                  {"createRuntime", {hook("createRuntime")}},
                  {"poststart", {hook("poststart")}},
                  {"poststop", {hook("poststop")}}};
  }));
  ASSERT_EQ(nucleus({"create", "--bundle", bundle_, "hooked"}).status, 0);
  ASSERT_EQ(nucleus({"start", "hooked"}).status, 0);
  ASSERT_EQ(nucleus({"kill", "hooked", "KILL"}).status, 0);
  ASSERT_TRUE(wait_status("hooked", "stopped"));
  ASSERT_EQ(nucleus({"delete", "hooked"}).status, 0);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"prestart", "created"}, {"createRuntime", "created"}, {"poststart", "running"}, {"poststop", "stopped"}};
  for (const auto& [phase, status] : want) {
    json s = json::parse(slurp(out + "/" + phase + ".json"), nullptr, false);
    ASSERT_TRUE(s.is_object()) << phase;
    EXPECT_EQ(s["bundle"], bundle_) << phase;
    EXPECT_EQ(s["status"], status) << phase;
    EXPECT_EQ(s["id"], "hooked") << phase;
  }
}

// Item 5: unknown keys are ignored; labels and profiles mean nothing on a host without
// AppArmor and SELinux (this one); a known field nucleus cannot honour is still refused.
TEST_P(OciConformance, UnknownAndLabelOnlyFields) {
  if (::access("/sys/fs/selinux/enforce", F_OK) == 0) GTEST_SKIP() << "SELinux is enabled here";
  write(config({"/bin/echo", "ignored"}, [](json& c) {
    c["futureTopLevel"] = {{"x", 1}};
    c["process"]["futureProcessKey"] = true;
    c["linux"]["futureLinuxKey"] = "y";
    c["linux"]["resources"]["futureResource"] = {{"z", 2}};
    c["mounts"][0]["futureMountKey"] = 1;
    c["process"]["apparmorProfile"] = "docker-default";
    c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
    c["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
  }));
  Result r = run_bundle("lenient");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ignored\n");

  write(config({"/bin/true"}, [](json& c) { c["linux"]["intelRdt"] = {{"closID", "x"}}; }));
  Result refused = run_bundle("rdt");
  EXPECT_EQ(refused.status, 125);
  EXPECT_EQ(refused.err, "nucleus: config.json: linux.intelRdt: not supported by nucleus\n");

  // disableOOMKiller: runsc applies it to the cgroup it manages; the native backend cannot.
  write(config({"/bin/true"}, [](json& c) { c["linux"]["resources"]["memory"] = {{"disableOOMKiller", true}}; }));
  Result oom = run_bundle("oom");
  if (gvisor()) {
    EXPECT_EQ(oom.status, 0) << oom.err;
  } else {
    EXPECT_EQ(oom.status, 125);
    EXPECT_EQ(oom.err, "nucleus: config.json: linux.resources.memory.disableOOMKiller: not supported by the native backend\n");
  }
  EXPECT_EQ(nucleus({"list", "--quiet"}).out, "");
}

INSTANTIATE_TEST_SUITE_P(BothBackends, OciConformance, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace nucleus::test
