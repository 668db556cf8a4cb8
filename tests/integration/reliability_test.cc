// Issue 13, reliability: no lost output, no lost signal, no start that fails because another
// started, nothing read back from the state directory trusted blindly, nothing left behind.
// Each test drives the real CLI on both backends where the item applies; the native
// backend, which was right before, is the control of every gVisor case.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"

extern char** environ;

namespace nucleus::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::vector<std::string> kNative = {"--isolation", "standard"};
const std::vector<std::string> kGvisor = {"--isolation", "untrusted"};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// nucleus with the given fds as its 0, 1 and 2 (a file the test opened, a pipe, ...), as a
// shell's redirection would give them; returns the exit status the shell would see.
int run_with_stdio(const std::vector<std::string>& args, int in, int out, int err,
                   const std::vector<std::string>& env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  std::vector<std::string> words = {kNucleus};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.push_back(*e);
  environment.insert(environment.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, kNucleus.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

std::vector<std::string> run_args(const std::vector<std::string>& backend, std::vector<std::string> rest) {
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), backend.begin(), backend.end());
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

std::string backend_name(const ::testing::TestParamInfo<std::vector<std::string>>& param) {
  return param.param == kGvisor ? "gvisor" : "native";
}

class Reliability : public ContainerTest, public ::testing::WithParamInterface<std::vector<std::string>> {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (!IsSkipped()) dir_.emplace("/tmp", "nucleus-it-");
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::optional<TempDir> dir_;
};

// ---- 1. stdio: a file, a pipe, a terminal, whatever the caller gave ---------------------

// `{ echo AAAA; nucleus run -- echo hi; echo BBBB; } > f`: the workload's bytes land at the
// caller's offset, which they move (gVisor wrote from offset 0: "hi\nA\nBBBB").
TEST_P(Reliability, OutputToAFileGoesWhereTheCallersOffsetIs) {
  std::string file = path("out");
  UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  ASSERT_EQ(::write(out.get(), "AAAA\n", 5), 5);
  int status = run_with_stdio(run_args(GetParam(), {"--", "/bin/sh", "-c", "echo 1; echo E >&2; echo 2"}),
                              ::open("/dev/null", O_RDONLY | O_CLOEXEC), out.get(), out.get());
  ASSERT_EQ(status, 0);
  ASSERT_EQ(::write(out.get(), "BBBB\n", 5), 5);
  EXPECT_EQ(slurp(file), "AAAA\n1\nE\n2\nBBBB\n");
}

// O_APPEND (`>> f`): every write goes to the end, whoever else writes meanwhile.
TEST_P(Reliability, OutputAppendedToAFileIsAppended) {
  std::string file = path("log");
  write_text(file, "first\n");
  UniqueFd out(::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  UniqueFd err(::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));  // `>> f 2>> f`
  int status = run_with_stdio(run_args(GetParam(), {"--", "/bin/sh", "-c", "echo out; echo err >&2; echo out2"}),
                              ::open("/dev/null", O_RDONLY | O_CLOEXEC), out.get(), err.get());
  ASSERT_EQ(status, 0);
  std::string text = slurp(file);
  EXPECT_EQ(text.rfind("first\n", 0), 0u) << text;
  EXPECT_EQ(text.size(), std::string("first\nout\nerr\nout2\n").size()) << text;
  EXPECT_NE(text.find("out\n"), std::string::npos) << text;
  EXPECT_NE(text.find("err\n"), std::string::npos) << text;
}

// A stdin file is read from the caller's offset, and what the workload did not read is
// still there for the caller afterwards (gVisor read it from 0 again).
TEST_P(Reliability, StdinFromAFileStartsAndEndsWhereTheWorkloadRead) {
  std::string file = path("in");
  write_text(file, "line1\nline2\nline3\n");
  UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  char first[6];
  ASSERT_EQ(::read(in.get(), first, sizeof first), 6);  // the caller read line1
  std::string out_file = path("out");
  UniqueFd out(::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  int status = run_with_stdio(run_args(GetParam(), {"--", "/bin/sh", "-c", "dd bs=1 count=6 2>/dev/null"}), in.get(),
                              out.get(), out.get());
  ASSERT_EQ(status, 0);
  EXPECT_EQ(slurp(out_file), "line2\n");
  char rest[64] = {};
  EXPECT_EQ(::read(in.get(), rest, sizeof rest), 6);
  EXPECT_STREQ(rest, "line3\n");
}

// A pipe (both streams on one) and a terminal keep the order the workload wrote in.
TEST_P(Reliability, PipesAndTerminalsKeepTheOrder) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  int status = run_with_stdio(run_args(GetParam(), {"--", "/bin/sh", "-c", "echo 1; echo E >&2; echo 2"}),
                              ::open("/dev/null", O_RDONLY | O_CLOEXEC), write_end.get(), write_end.get());
  write_end.reset();
  ASSERT_EQ(status, 0);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(text, "1\nE\n2\n");
  RunOptions tty;
  tty.pty = true;
  std::vector<std::string> args = run_args(GetParam(), {"--", "/bin/sh", "-c", "echo 1; echo E >&2; echo 2"});
  Result r = run_nucleus(args, tty);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\r\nE\r\n2\r\n");
}

// ---- 3. a signal at any moment of a start --------------------------------------------------

// SIGTERM or SIGINT every 5 ms through the first 200 ms of a start: each ends the
// container with 128+N (nucleus itself dies of it before it has made anything) and leaves
// nothing behind. gVisor lost those that came while runsc was starting the sandbox.
TEST_P(Reliability, ASignalAtAnyMomentOfAStartEndsIt) {
  for (int ms = 0; ms <= 200; ms += 5) {
    int sig = ms % 10 == 0 ? SIGTERM : SIGINT;
    RunOptions o;
    o.timeout = 60s;
    NucleusProcess p(run_args(GetParam(), {"--", "/bin/sleep", "1000"}), o);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ASSERT_EQ(::kill(p.pid(), sig), 0);
    Result r = p.wait();
    EXPECT_EQ(r.status, 128 + sig) << "signal " << sig << " after " << ms << " ms: " << r.err;
  }
}

// ---- 6. the writable layer ------------------------------------------------------------

// A layer filled past its size: the write fails (ENOSPC) inside, the user is told as of an
// OOM kill, and the workload's own status stands.
TEST_P(Reliability, AFullLayerIsBoundedAndSaid) {
  Result r = run_nucleus(run_args(GetParam(), {"--rootfs", kRootfs, "--layer-size", "16M", "--", "/bin/sh", "-c",
                                               "dd if=/dev/zero of=/root/big bs=1M count=64 2>/dev/null; echo rc=$?"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "rc=1\n");
  EXPECT_NE(r.err.find("writable layer is full (limit 16M"), std::string::npos) << r.err;
  // Control: within the size, nothing is said.
  Result fits = run_nucleus(run_args(GetParam(), {"--rootfs", kRootfs, "--layer-size", "16M", "--", "/bin/sh", "-c",
                                                  "dd if=/dev/zero of=/root/big bs=1M count=4 2>/dev/null; echo rc=$?"}));
  EXPECT_EQ(fits.out, "rc=0\n");
  EXPECT_EQ(fits.err.find("writable layer"), std::string::npos) << fits.err;
}

// The layer is the container's memory: under -m it cannot hold more than the limit.
TEST_P(Reliability, TheLayerIsChargedToTheContainer) {
  Result r = run_nucleus(run_args(GetParam(), {"--rootfs", kRootfs, "-m", "48M", "--layer-size", "512M", "--",
                                               "/bin/sh", "-c", "dd if=/dev/zero of=/root/big bs=1M count=200 2>/dev/null; echo rc=$?"}));
  EXPECT_NE(r.out, "rc=0\n") << "200M written to the layer under a 48M limit: " << r.err;
}

// The default size when nothing is asked, and the YAML key.
TEST_P(Reliability, TheLayerHasADefaultSizeAndAYamlKey) {
  std::string file = path("w.yaml");
  write_text(file, "version: 1\nworkloads:\n  fill:\n    rootfs: " + kRootfs +
                       "\n    layer_size: 8M\n    command: [/bin/sh, -c, 'dd if=/dev/zero of=/root/big bs=1M count=32 2>/dev/null; echo rc=$?']\n");
  std::vector<std::string> args = {"run", "-f", file};
  args.insert(args.end(), GetParam().begin(), GetParam().end());
  args.push_back("fill");
  Result r = run_nucleus(args);
  EXPECT_EQ(r.out, "rc=1\n") << r.err;
  EXPECT_NE(r.err.find("(limit 8M"), std::string::npos) << r.err;
  Result bad = run_nucleus(run_args(GetParam(), {"--layer-size", "lots", "--", "/bin/true"}));
  EXPECT_EQ(bad.status, 125);
  EXPECT_NE(bad.err.find("--layer-size: invalid layer size 'lots'"), std::string::npos) << bad.err;
}

// ---- 8. parents made for --cgroup-parent -------------------------------------------------

TEST_P(Reliability, ParentsMadeForCgroupParentGoWithTheLastContainer) {
  Result r = run_nucleus(run_args(GetParam(), {"--cgroup-parent", "nucleus-it-parent/level", "--", "/bin/true"}));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const fs::directory_entry& h : fs::directory_iterator("/sys/fs/cgroup")) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(h.path(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it.depth() > 3) it.disable_recursion_pending();
      EXPECT_NE(it->path().filename(), "nucleus-it-parent") << it->path();
    }
  }
}

// ---- 8. the same checks of a config.json on both backends; hooks ------------------------

// An OCI bundle under a private --root, for either backend.
class OciBundle {
 public:
  explicit OciBundle(const std::string& dir) : dir_(dir), root_(dir + "/state"), bundle_(dir + "/bundle") {
    ::mkdir(bundle_.c_str(), 0755);
    run_nucleus({"spec", "--bundle", bundle_});
    pristine_ = json::parse(slurp(bundle_ + "/config.json"));
  }
  ~OciBundle() {
    Result list = nucleus({"list", "--quiet"});
    std::istringstream ids(list.out);
    for (std::string id; std::getline(ids, id);) nucleus({"delete", "--force", id});
  }
  // `nucleus spec`'s config with the busybox rootfs, the backend, and `change`.
  void write(const std::string& backend, const std::function<void(json&)>& change) {
    json c = pristine_;
    c["root"]["path"] = kRootfs;
    c["process"]["terminal"] = false;
    c["process"]["args"] = {"/bin/sleep", "100"};
    c["annotations"] = {{"run.nucleus.backend", backend}};
    if (change) change(c);
    std::ofstream(bundle_ + "/config.json") << c.dump(2);
  }
  Result nucleus(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root_});
    return run_nucleus(args);
  }
  Result create(const std::string& id) const { return nucleus({"create", "--bundle", bundle_, id}); }
  const std::string& root() const { return root_; }

 private:
  std::string dir_, root_, bundle_;
  json pristine_;
};

class ConfigChecks : public Reliability {};

TEST_P(ConfigChecks, BothBackendsRefuseTheSameConfigsInTheSameWords) {
  const std::string backend = GetParam() == kGvisor ? "gvisor" : "native";
  OciBundle b(dir_->path());
  struct Case {
    const char* what;
    std::function<void(json&)> change;
    const char* words;
  };
  const std::vector<Case> cases = {
      {"65-character hostname", [](json& c) { c["hostname"] = std::string(65, 'a'); }, "config.json: hostname: longer than 64"},
      {"host sysctl", [](json& c) { c["linux"]["sysctl"] = {{"kernel.core_pattern", "|/bin/false"}}; },
       "linux.sysctl.kernel.core_pattern: not a sysctl of the container's own namespaces"},
      {"cgroupsPath ..", [](json& c) { c["linux"]["cgroupsPath"] = "../../x"; }, "linux.cgroupsPath: '../../x' must not contain '..'"},
      {"unknown filesystem", [](json& c) { c["mounts"].push_back({{"destination", "/mnt"}, {"type", "nosuchfs"}, {"source", "none"}}); },
       "unknown filesystem type 'nosuchfs'"},
      {"not a namespace", [](json& c) {
         for (json& n : c["linux"]["namespaces"]) {
           if (n["type"] == "network") n["path"] = "/etc/hostname";
         }
       }, "'/etc/hostname' is not a network namespace"},
      {"missing root", [](json& c) { c["root"]["path"] = "/nonexistent-nucleus-root"; }, "root.path: '/nonexistent-nucleus-root' does not exist"},
      {"createContainer hook", [](json& c) { c["hooks"]["createContainer"] = {{{"path", "/bin/true"}}}; },
       "createContainer and startContainer hooks are not supported"},
  };
  int n = 0;
  for (const Case& k : cases) {
    b.write(backend, k.change);
    Result r = b.create("refused" + std::to_string(n++));
    EXPECT_EQ(r.status, 125) << k.what;
    EXPECT_NE(r.err.find(k.words), std::string::npos) << k.what << ": " << r.err;
  }
  EXPECT_EQ(b.nucleus({"list", "--quiet"}).out, "");
}

// A prestart hook's timeout holds (gVisor ignored it: create hung), and a failing hook is
// told by its exit code, not a raw wait status ("status 768").
TEST_P(ConfigChecks, HooksTimeOutAndFailInWords) {
  const std::string backend = GetParam() == kGvisor ? "gvisor" : "native";
  OciBundle b(dir_->path());
  b.write(backend, [](json& c) { c["hooks"]["prestart"] = {{{"path", "/bin/sleep"}, {"args", {"sleep", "60"}}, {"timeout", 1}}}; });
  Result slow = b.create("slowhook");
  EXPECT_EQ(slow.status, 125);
  EXPECT_NE(slow.err.find("prestart hook /bin/sleep: did not finish within 1s"), std::string::npos) << slow.err;
  b.write(backend, [](json& c) { c["hooks"]["prestart"] = {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "exit 3"}}}}; });
  Result failing = b.create("failinghook");
  EXPECT_EQ(failing.status, 125);
  EXPECT_NE(failing.err.find("prestart hook /bin/sh: failed: it exited with code 3"), std::string::npos) << failing.err;
  b.write(backend, [](json& c) { c["hooks"]["prestart"] = {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "kill -9 $$"}}}}; });
  Result killed = b.create("killedhook");
  EXPECT_NE(killed.err.find("was killed by signal 9 (KILL)"), std::string::npos) << killed.err;
  EXPECT_EQ(b.nucleus({"list", "--quiet"}).out, "");
}

// `kill` of a created container succeeds on both backends, as runc's does (gVisor said
// `runsc kill: cannot signal container ... in state created`), and the container ends.
TEST_P(ConfigChecks, KillOfACreatedContainerEndsIt) {
  const std::string backend = GetParam() == kGvisor ? "gvisor" : "native";
  OciBundle b(dir_->path());
  b.write(backend, {});
  ASSERT_EQ(b.create("created").status, 0);
  Result kill = b.nucleus({"kill", "created", "KILL"});
  EXPECT_EQ(kill.status, 0) << kill.err;
  std::string status;
  for (int i = 0; i < 500; ++i) {
    json state = json::parse(b.nucleus({"state", "created"}).out, nullptr, false);
    status = state.is_object() ? state.value("status", "") : "";
    if (status == "stopped") break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(status, "stopped");
  Result del = b.nucleus({"delete", "created"});
  EXPECT_EQ(del.status, 0) << del.err;
}

// ---- 4. a gVisor create runsc refuses ---------------------------------------------------

// runsc makes the container's cgroups, then refuses it (a bind of a missing source): no
// runsc state is left to delete them by, so nucleus removes them (they stayed, named
// after the id, in every v1 hierarchy).
TEST_F(Reliability, ARefusedGvisorCreateLeavesNoCgroup) {
  OciBundle b(dir_->path());
  b.write("gvisor", [](json& c) {
    c["mounts"].push_back({{"destination", "/mnt"}, {"type", "bind"}, {"source", "/nonexistent-nucleus-src"}, {"options", {"rbind"}}});
  });
  Result r = b.create("refusedbyrunsc");
  EXPECT_EQ(r.status, 125) << r.out;
  EXPECT_NE(r.err.find("runsc create"), std::string::npos) << r.err;
  for (const fs::directory_entry& h : fs::directory_iterator("/sys/fs/cgroup")) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(h.path(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it.depth() > 3) it.disable_recursion_pending();
      std::string name = it->path().filename();
      EXPECT_TRUE(name != "refusedbyrunsc" && name != "nucleus-oci-refusedbyrunsc") << it->path();
    }
  }
}

// ---- 5. a tampered record ---------------------------------------------------------------

// A cgroup of the test's own (below the test's cgroup), holding a process older than any
// container: what a tampered record points delete at.
class ForeignCgroup {
 public:
  explicit ForeignCgroup(const std::string& name) {
    std::string own = slurp("/proc/self/cgroup");
    size_t at = own.find(":pids:");
    std::string rel = at == std::string::npos ? "/" : own.substr(at + 6, own.find('\n', at) - at - 6);
    dir_ = "/sys/fs/cgroup/pids" + (rel == "/" ? "" : rel) + "/" + name;
    fs::create_directories(dir_);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::ofstream(dir_ + "/cgroup.procs") << "0";
      ::execl("/bin/sleep", "sleep", "300", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 100 && slurp(dir_ + "/cgroup.procs").empty(); ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(2500ms);  // older than the container by more than start times' slack
  }
  ~ForeignCgroup() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    for (int i = 0; i < 100 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(10ms);
    ::rmdir(fs::path(dir_).parent_path().c_str());
  }
  const std::string& dir() const { return dir_; }
  bool alive() const { return ::kill(pid_, 0) == 0 && slurp("/proc/" + std::to_string(pid_) + "/stat").find(") Z") == std::string::npos; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

void tamper_cgroups(const std::string& root, const std::string& id, const std::vector<std::string>& dirs) {
  std::string file = root + "/" + id + "/state.json";
  json state = json::parse(slurp(file));
  state["cgroup"] = dirs;
  std::ofstream(file) << state.dump();
}

TEST_P(ConfigChecks, ATamperedRecordIsRefusedAndNothingForeignTouched) {
  const std::string backend = GetParam() == kGvisor ? "gvisor" : "native";
  ForeignCgroup foreign("nucleus-it-foreign");
  // Named as nucleus names this container's cgroup, but holding an older process.
  ForeignCgroup lookalike("nucleus-it-lookalike/nucleus-oci-tampered");
  OciBundle b(dir_->path());
  b.write(backend, {});
  ASSERT_EQ(b.create("tampered").status, 0);
  for (const std::string& target : {foreign.dir(), lookalike.dir(), std::string("/sys/fs/cgroup/pids/../pids/x")}) {
    tamper_cgroups(b.root(), "tampered", {target});
    for (std::vector<std::string> verb : {std::vector<std::string>{"delete", "--force", "tampered"},
                                          {"kill", "--all", "tampered", "KILL"}, {"pause", "tampered"}, {"state", "tampered"}}) {
      if (verb[0] == "delete") verb = {"delete", "tampered"};  // not --force: that one is below
      Result r = b.nucleus(verb);
      EXPECT_EQ(r.status, 125) << verb[0] << " " << target;
      EXPECT_NE(r.err.find("not what nucleus wrote"), std::string::npos) << r.err;
    }
    EXPECT_TRUE(foreign.alive());
    EXPECT_TRUE(lookalike.alive());
  }
  // delete --force removes the record (and the container, found by its own cgroup), and
  // still not the process it was pointed at.
  Result forced = b.nucleus({"delete", "--force", "tampered"});
  EXPECT_EQ(forced.status, 0) << forced.err;
  EXPECT_TRUE(foreign.alive());
  EXPECT_TRUE(lookalike.alive());
  EXPECT_EQ(b.nucleus({"list", "--quiet"}).out, "");
}

// ---- 7. caches nucleus trusts ----------------------------------------------------------

// A cache base (the test-only NUCLEUS_TEST_CACHE_DIR stands for /var/cache) whose
// nucleus/ is a symlink to a directory of poisoned entries, or belongs to someone else:
// nucleus says so, runs without it, and writes nothing through it.
TEST_P(ConfigChecks, AHostileCacheIsNeitherReadNorWritten) {
  const std::string base = path("cache");
  const std::string elsewhere = path("elsewhere");
  fs::create_directories(base);
  fs::create_directories(elsewhere + "/gvisor");
  fs::create_directories(elsewhere + "/seccomp");
  ::chmod(dir_->path().c_str(), 0755);
  // A poisoned runsc entry for every key: a platform runsc does not have.
  struct stat st;
  ASSERT_EQ(::stat("/usr/bin/runsc", &st), 0);
  std::string key = "runsc-" + std::to_string(st.st_ino) + "-" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtime);
  write_text(elsewhere + "/gvisor/" + key, "0.0\nnosuchplatform\n");
  fs::create_symlink(elsewhere, base + "/nucleus");
  RunOptions o;
  o.env = {{"NUCLEUS_TEST_CACHE_DIR", base}};
  Result r = run_nucleus(run_args(GetParam(), {"--", "/bin/true"}), o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("not using the seccomp cache: " + base + "/nucleus is a symlink"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(elsewhere + "/seccomp"));
  // Someone else's directory is refused the same way.
  fs::remove(base + "/nucleus");
  fs::create_directories(base + "/nucleus");
  ASSERT_EQ(::chown((base + "/nucleus").c_str(), 65534, 65534), 0);
  Result foreign = run_nucleus(run_args(GetParam(), {"--", "/bin/true"}), o);
  EXPECT_EQ(foreign.status, 0) << foreign.err;
  EXPECT_NE(foreign.err.find("belongs to uid 65534"), std::string::npos) << foreign.err;
  EXPECT_TRUE(fs::is_empty(base + "/nucleus"));
}

// In a cache of nucleus's own, a planted temporary name (a symlink to a file of the
// test's) is never written through, and an entry that is not nucleus's is not believed.
TEST_F(Reliability, ACacheEntryOrTemporaryFilePlantedIsNotTrusted) {
  const std::string base = path("cache");
  fs::create_directories(base + "/nucleus/gvisor");
  fs::create_directories(base + "/nucleus/seccomp");
  ::chmod((base + "/nucleus").c_str(), 0700);
  ::chmod((base + "/nucleus/gvisor").c_str(), 0700);
  ::chmod((base + "/nucleus/seccomp").c_str(), 0700);
  struct stat st;
  ASSERT_EQ(::stat("/usr/bin/runsc", &st), 0);
  std::string key = "runsc-" + std::to_string(st.st_ino) + "-" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtime);
  std::string target = path("target");
  write_text(target, "untouched\n");
  fs::create_symlink(target, base + "/nucleus/gvisor/" + key + ".tmp");
  write_text(base + "/nucleus/gvisor/" + key, "0.0\nnosuchplatform\n");
  RunOptions o;
  o.env = {{"NUCLEUS_TEST_CACHE_DIR", base}};
  Result r = run_nucleus(run_args(kGvisor, {"--", "/bin/true"}), o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(slurp(target), "untouched\n");
  EXPECT_NE(slurp(base + "/nucleus/gvisor/" + key).find("ptrace"), std::string::npos) << "the entry is rewritten by runsc's answer";
}

// ---- 8. smaller faults ------------------------------------------------------------------

// A FIFO given as -f or --seccomp is refused at once (it hung forever, waiting for a writer).
TEST_F(Reliability, AFifoIsNotAFile) {
  std::string fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RunOptions quick;
  quick.timeout = 20s;
  Result f = run_nucleus({"run", "-f", fifo, "w"}, quick);
  EXPECT_EQ(f.status, 125);
  EXPECT_NE(f.err.find(fifo + " is not a regular file"), std::string::npos) << f.err;
  Result sec = run_nucleus({"run", "--seccomp", fifo, "--", "/bin/true"}, quick);
  EXPECT_EQ(sec.status, 125);
  EXPECT_NE(sec.err.find(fifo + " is not a regular file"), std::string::npos) << sec.err;
}

// docs/yaml-reference.md refuses explicit tags: on a mapping, a list and a key too.
TEST_F(Reliability, YamlTagsAreRefusedEverywhere) {
  const std::vector<std::string> files = {
      "version: 1\nworkloads: !!python/object/apply:os.system\n  w: {command: [/bin/true]}\n",
      "version: 1\nworkloads:\n  w:\n    command: !!python/object/apply:os.system [/bin/true]\n",
      "version: 1\nworkloads:\n  w:\n    !!binary Y29tbWFuZA==: [/bin/true]\n",
      "!!map\nversion: 1\nworkloads:\n  w: {command: [/bin/true]}\n",
  };
  for (const std::string& text : files) {
    std::string file = path("tagged.yaml");
    write_text(file, text);
    Result r = run_nucleus({"run", "-f", file, "w"});
    EXPECT_EQ(r.status, 125) << text;
    EXPECT_NE(r.err.find("explicit YAML tags are not supported"), std::string::npos) << text << r.err;
  }
}

// An error quotes a bounded part of what it names (a file of 20,000 workloads made one
// 149 KB line).
TEST_F(Reliability, ErrorsQuoteABoundedPart) {
  std::string text = "version: 1\nworkloads:\n";
  for (int i = 0; i < 20000; ++i) text += "  w" + std::to_string(i) + ": {command: [/bin/true]}\n";
  std::string file = path("many.yaml");
  write_text(file, text);
  Result r = run_nucleus({"run", "-f", file, "absent"});
  EXPECT_EQ(r.status, 125);
  EXPECT_LT(r.err.size(), 4200u);
  EXPECT_NE(r.err.find("w0, w1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("19990 more"), std::string::npos) << r.err;
  Result huge = run_nucleus({"run", "--hostname", std::string(100000, 'h'), "--", "/bin/true"});
  EXPECT_EQ(huge.status, 125);
  EXPECT_LT(huge.err.size(), 4200u);
}

// A record a nucleus left when it was killed before its cleanup keeper existed (an empty
// directory, no owner lock) is collected by a later start once it has been abandoned for a
// while; a fresh one (a record being made) is not.
TEST_F(Reliability, AnAbandonedRecordIsCollected) {
  const std::string root = path("state");
  fs::create_directories(root + "/abandoned");
  fs::create_directories(root + "/.gone-abandoned-1-1/r");
  fs::create_directories(root + "/fresh");
  for (const char* old : {"/abandoned", "/.gone-abandoned-1-1"}) {
    timespec times[2] = {{::time(nullptr) - 600, 0}, {::time(nullptr) - 600, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (root + old).c_str(), times, 0), 0);
  }
  for (const auto& backend : {kNative, kGvisor}) {
    std::vector<std::string> args = {"--root", root};
    std::vector<std::string> run = run_args(backend, {"--", "/bin/true"});
    args.insert(args.end(), run.begin(), run.end());
    EXPECT_EQ(run_nucleus(args).status, 0);
  }
  EXPECT_FALSE(fs::exists(root + "/abandoned"));
  EXPECT_FALSE(fs::exists(root + "/.gone-abandoned-1-1"));
  EXPECT_TRUE(fs::exists(root + "/fresh"));
}

// ---- 2. concurrent starts ------------------------------------------------------------------

// 50 native and 20 gVisor starts at once, each held in the window between claiming its id
// and locking it (NUCLEUS_TEST_CLAIM_DELAY_MS, test-only), half of the native ones under
// one shared --cgroup-parent that the last of them removes: none fails another.
TEST_F(Reliability, ConcurrentStartsNeverFailEachOther) {
  RunOptions slow;
  slow.env = {{"NUCLEUS_TEST_CLAIM_DELAY_MS", "300"}};
  slow.timeout = 300s;
  std::vector<std::unique_ptr<NucleusProcess>> starts;
  for (int i = 0; i < 70; ++i) {
    std::vector<std::string> args = i < 20 ? run_args(kGvisor, {}) : run_args(kNative, {});
    if (i >= 20 && i % 2 == 0) args.insert(args.end(), {"--cgroup-parent", "nucleus-it-shared"});
    args.insert(args.end(), {"--", "/bin/sh", "-c", "echo ok"});
    starts.push_back(std::make_unique<NucleusProcess>(args, slow));
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    Result r = starts[i]->wait();
    EXPECT_EQ(r.status, 0) << (i < 20 ? "gvisor" : "native") << " start " << i << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n") << i;
  }
}

// A start of the same name while the first is inside that window is refused, and the first
// is not collected as stale: it runs to its end.
TEST_F(Reliability, AClaimInItsWindowIsNotTakenForStale) {
  for (const auto& backend : {kNative, kGvisor}) {
    RunOptions slow;
    slow.env = {{"NUCLEUS_TEST_CLAIM_DELAY_MS", "1500"}};
    std::vector<std::string> args = run_args(backend, {"--name", "nucleus-it-window", "--", "/bin/sh", "-c", "echo first"});
    NucleusProcess first(args, slow);
    std::this_thread::sleep_for(500ms);
    Result second = run_nucleus(run_args(backend, {"--name", "nucleus-it-window", "--", "/bin/true"}));
    Result r = first.wait();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "first\n");
    EXPECT_EQ(second.status, 125);
    EXPECT_NE(second.err.find("already in use"), std::string::npos) << second.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ConfigChecks, ::testing::Values(kNative, kGvisor),
                         backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, Reliability, ::testing::Values(kNative, kGvisor),
                         backend_name);

}  // namespace
}  // namespace nucleus::test
