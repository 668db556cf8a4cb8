// Issue 13, reliability, what nucleus reads back or is given: a config.json checked alike
// on both backends, hooks, a create runsc refuses, a tampered record, caches, and smaller
// faults; nothing trusted blindly, nothing left behind. Fixture: reliability_fixture.h; the
// rest of the issue: reliability_io_test.cc.
#include "tests/integration/reliability_fixture.h"

namespace nucleus::test {
namespace {

// ---- 8. the same checks of a config.json on both backends; hooks ------------------------

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

INSTANTIATE_TEST_SUITE_P(Backends, ConfigChecks, ::testing::Values(kNative, kGvisor),
                         backend_name);

}  // namespace
}  // namespace nucleus::test
