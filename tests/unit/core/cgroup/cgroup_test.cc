// The cgroup drivers against a recording fake (exact files, values and order), the
// hierarchy parsers on captured text, the limit parsers, and (as root, on a host with a
// cgroup2 mount) the v2 driver against the real cgroup2 for what needs no controller.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "config/resources.h"
#include "core/cgroup/cgroup.h"
#include "core/sys/error.h"
#include "core/cgroup/self_cgroup.h"

namespace nucleus {
namespace {

// A cgroupfs that records what the drivers do. mkdir gives a directory the control files a
// kernel would; a path can be made to fail with an errno.
class RecordingFs : public cgroupfs::Fs {
 public:
  mutable std::vector<std::string> log;
  mutable std::map<std::string, std::string> files;
  std::set<std::string> dirs;
  mutable std::set<std::string> made;  // by make_dir
  std::map<std::string, int> failures;  // path -> errno for write/mkdir
  std::string new_controllers;          // a new directory's cgroup.controllers
  std::vector<std::string> created_files = {"cgroup.procs", "cgroup.kill", "memory.max", "memory.swap.max",
                                            "pids.max",     "cpu.max",     "io.weight",  "io.max"};

  std::optional<std::string> read(const std::string& path) const override {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
  int write(const std::string& path, const std::string& value) const override {
    log.push_back("write " + path + " " + value);
    if (auto f = failures.find(path); f != failures.end()) return f->second;
    if (!files.count(path)) return ENOENT;
    files[path] = value;
    return 0;
  }
  // A directory exists when listed, or when a file lies below it.
  bool exists(const std::string& path) const override {
    if (files.count(path) || dirs.count(path) || made.count(path)) return true;
    auto it = files.lower_bound(path + "/");
    return it != files.end() && it->first.rfind(path + "/", 0) == 0;
  }
  // As the kernel's: ENOENT under a parent that is not there.
  int make_dir(const std::string& path) const override {
    log.push_back("mkdir " + path);
    if (auto f = failures.find(path); f != failures.end()) return f->second;
    if (!exists(path.substr(0, path.find_last_of('/')))) return ENOENT;
    made.insert(path);
    for (const std::string& f : created_files) files[path + "/" + f] = f == "cgroup.controllers" ? new_controllers : "";
    return 0;
  }
  int remove_dir(const std::string& path) const override {
    log.push_back("rmdir " + path);
    return 0;
  }
  int open_dir(const std::string&) const override { return ::dup(0); }
  mutable std::set<std::string> marked;
  int mark_made_parent(const std::string& path) const override {
    log.push_back("mark " + path);
    marked.insert(path);
    return 0;
  }
  bool is_made_parent(const std::string& path) const override { return marked.count(path) != 0; }
};

TEST(CgroupV2, WritesExactlyTheLimitsAsked) {
  RecordingFs fs;
  fs.files["/cg/p/cgroup.controllers"] = "cpuset cpu io memory pids\n";
  fs.files["/cg/p/cgroup.subtree_control"] = "memory\n";
  CgroupLimits limits;
  limits.memory_bytes = 64ull << 20;
  limits.cpus = 0.25;
  limits.pids = 64;
  limits.io_weight = 200;
  limits.io_max.push_back(parse_io_max("8:0 wbps=1M riops=100", "--io-max"));
  {
    auto cg = create_v2_cgroup("/cg/p", "nucleus-1-abc", limits, fs);
    cg->apply(limits);
    EXPECT_EQ(cg->directories(), std::vector<std::string>{"/cg/p/nucleus-1-abc"});
    EXPECT_GE(cg->directory_fd(), 0);  // for clone3(CLONE_INTO_CGROUP)
    EXPECT_EQ(cg->self_join_files(), std::vector<std::string>{"/cg/p/nucleus-1-abc/cgroup.procs"});
  }
  const std::vector<std::string> expected = {
      // memory is already enabled below the parent: only the others are added
      "write /cg/p/cgroup.subtree_control +pids",
      "write /cg/p/cgroup.subtree_control +cpu",
      "write /cg/p/cgroup.subtree_control +io",
      "mkdir /cg/p/nucleus-1-abc",
      "write /cg/p/nucleus-1-abc/memory.max 67108864",
      "write /cg/p/nucleus-1-abc/memory.swap.max 0",
      "write /cg/p/nucleus-1-abc/pids.max 64",
      "write /cg/p/nucleus-1-abc/cpu.max 25000 100000",
      "write /cg/p/nucleus-1-abc/io.weight default 200",
      "write /cg/p/nucleus-1-abc/io.max 8:0 wbps=1048576 riops=100",
      // removal: whatever is left is killed at once, then the directory goes
      "write /cg/p/nucleus-1-abc/cgroup.kill 1",
      "rmdir /cg/p/nucleus-1-abc",
  };
  EXPECT_EQ(fs.log, expected);
}

TEST(CgroupV2, UnlimitedPidsAndTinyQuotas) {
  RecordingFs fs;
  fs.files["/cg/cgroup.controllers"] = "cpu pids";
  fs.files["/cg/cgroup.subtree_control"] = "cpu pids";
  CgroupLimits limits;
  limits.pids = -1;
  limits.cpus = 0.001;  // below the kernel's 1 ms floor
  auto cg = create_v2_cgroup("/cg", "c", limits, fs);
  cg->apply(limits);
  EXPECT_EQ(fs.files["/cg/c/pids.max"], "max");
  EXPECT_EQ(fs.files["/cg/c/cpu.max"], "1000 100000");
}

TEST(CgroupV2, MissingControllerIsNamed) {
  RecordingFs fs;
  fs.files["/cg/cgroup.controllers"] = "cpu io\n";
  fs.files["/cg/cgroup.subtree_control"] = "";
  CgroupLimits limits;
  limits.memory_bytes = 1 << 30;
  try {
    create_v2_cgroup("/cg", "c", limits, fs);
    FAIL() << "no memory controller, no cgroup";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cgroups: the memory controller is not available in /cg (cgroup.controllers: 'cpu io')");
  }
  EXPECT_EQ(std::count_if(fs.log.begin(), fs.log.end(), [](const std::string& l) { return l.rfind("mkdir", 0) == 0; }), 0);
}

TEST(CgroupV2, ParentHoldingProcessesIsExplained) {
  RecordingFs fs;
  fs.files["/cg/cgroup.controllers"] = "memory pids";
  fs.files["/cg/cgroup.subtree_control"] = "";
  fs.failures["/cg/cgroup.subtree_control"] = EBUSY;  // "no internal processes"
  CgroupLimits limits;
  limits.pids = 10;
  try {
    create_v2_cgroup("/cg", "c", limits, fs);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot enable pids below /cg: it holds processes"), std::string::npos) << e.what();
  }
}

TEST(CgroupV2, NoDelegationIsExplained) {
  RecordingFs fs;
  fs.files["/cg/cgroup.controllers"] = "pids";
  fs.files["/cg/cgroup.subtree_control"] = "pids";
  fs.failures["/cg/c"] = EACCES;
  CgroupLimits limits;
  limits.pids = 10;
  try {
    create_v2_cgroup("/cg", "c", limits, fs);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cgroups: create /cg/c: the caller may not create cgroups here (no delegation): Permission denied");
  }
}

TEST(CgroupV1, OneDirectoryPerHierarchyCoMountedOnce) {
  RecordingFs fs;
  fs.dirs = {"/v1", "/v1/memory", "/v1/memory/me", "/v1/pids", "/v1/cpu,cpuacct", "/v1/blkio"};
  fs.created_files = {"cgroup.procs", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "pids.max",
                      "cpu.cfs_period_us", "cpu.cfs_quota_us", "blkio.throttle.write_bps_device"};
  CgroupLimits limits;
  limits.memory_bytes = 64ull << 20;
  limits.pids = 100;
  limits.cpus = 1.5;
  limits.io_max.push_back(parse_io_max("254:0 wbps=2048", "--io-max"));
  {
    auto cg = create_v1_cgroup({{"memory", "/v1/memory/me/c"},
                                {"pids", "/v1/pids/c"},
                                {"cpu", "/v1/cpu,cpuacct/c"},
                                {"cpuacct", "/v1/cpu,cpuacct/c"},
                                {"blkio", "/v1/blkio/c"}},
                               fs);
    cg->apply(limits);
    EXPECT_EQ(cg->directories().size(), 4u);
    EXPECT_EQ(cg->directory_fd(), -1);  // no CLONE_INTO_CGROUP on v1
    // A process joins by itself, one `tasks` per directory (no threadgroup lock to wait for).
    const std::vector<std::string> join = {"/v1/memory/me/c/tasks", "/v1/pids/c/tasks",
                                           "/v1/cpu,cpuacct/c/tasks", "/v1/blkio/c/tasks"};
    EXPECT_EQ(cg->self_join_files(), join);
  }
  const std::vector<std::string> expected = {
      "mkdir /v1/memory/me/c",
      "mkdir /v1/pids/c",
      "mkdir /v1/cpu,cpuacct/c",
      "mkdir /v1/blkio/c",
      "write /v1/memory/me/c/memory.limit_in_bytes 67108864",
      "write /v1/memory/me/c/memory.memsw.limit_in_bytes 67108864",  // and no swap
      "write /v1/pids/c/pids.max 100",
      "write /v1/cpu,cpuacct/c/cpu.cfs_period_us 100000",
      "write /v1/cpu,cpuacct/c/cpu.cfs_quota_us 150000",
      "write /v1/blkio/c/blkio.throttle.write_bps_device 254:0 2048",
      "rmdir /v1/memory/me/c",
      "rmdir /v1/pids/c",
      "rmdir /v1/cpu,cpuacct/c",
      "rmdir /v1/blkio/c",
  };
  EXPECT_EQ(fs.log, expected);
}

TEST(CgroupV1, FailureMidwayRemovesWhatWasMade) {
  RecordingFs fs;
  fs.dirs = {"/v1", "/v1/memory", "/v1/pids"};
  fs.failures["/v1/pids/c"] = EPERM;
  EXPECT_THROW(create_v1_cgroup({{"memory", "/v1/memory/c"}, {"pids", "/v1/pids/c"}}, fs), Error);
  EXPECT_EQ(fs.log, (std::vector<std::string>{"mkdir /v1/memory/c", "mkdir /v1/pids/c", "rmdir /v1/memory/c"}));
}

// --cgroup-parent a/b: the parents nucleus makes are marked, and go with the container once
// empty; a parent that was there before is never touched (issue 13).
TEST(CgroupV1, ParentsItMadeGoWithIt) {
  RecordingFs fs;
  fs.dirs = {"/v1", "/v1/pids", "/v1/pids/existing"};
  create_v1_cgroup({{"pids", "/v1/pids/existing/a/b/c"}}, fs)->destroy();
  // The directory is tried first; its parents are made when the kernel says they are missing.
  EXPECT_EQ(fs.log, (std::vector<std::string>{"mkdir /v1/pids/existing/a/b/c",
                                              "mkdir /v1/pids/existing/a", "mark /v1/pids/existing/a",
                                              "mkdir /v1/pids/existing/a/b", "mark /v1/pids/existing/a/b",
                                              "mkdir /v1/pids/existing/a/b/c", "rmdir /v1/pids/existing/a/b/c",
                                              "rmdir /v1/pids/existing/a/b", "rmdir /v1/pids/existing/a"}));
}

TEST(CgroupV2, ParentsItMadeGoWithIt) {
  RecordingFs fs;
  fs.files["/cg/cgroup.controllers"] = "pids\n";
  fs.files["/cg/cgroup.subtree_control"] = "pids\n";
  fs.created_files.push_back("cgroup.controllers");
  fs.created_files.push_back("cgroup.subtree_control");
  fs.new_controllers = "pids\n";
  CgroupLimits limits;
  limits.pids = 10;
  auto cg = create_v2_cgroup("/cg/p", "c", limits, fs);
  EXPECT_TRUE(fs.is_made_parent("/cg/p"));
  EXPECT_FALSE(fs.is_made_parent("/cg"));
  fs.log.clear();
  cg->destroy();
  EXPECT_NE(std::find(fs.log.begin(), fs.log.end(), "rmdir /cg/p"), fs.log.end());
  EXPECT_EQ(std::find(fs.log.begin(), fs.log.end(), "rmdir /cg"), fs.log.end());
}

// The kernel's rule on v1: memory.limit_in_bytes <= memory.memsw.limit_in_bytes after every
// write (EINVAL otherwise), which decides the order of an update's writes.
class V1MemoryFs : public RecordingFs {
 public:
  int write(const std::string& path, const std::string& value) const override {
    const bool memsw = path.ends_with("/memory.memsw.limit_in_bytes");
    if (memsw || path.ends_with("/memory.limit_in_bytes")) {
      const std::string dir = path.substr(0, path.find_last_of('/'));
      auto number = [](const std::string& v) { return v == "-1" ? UINT64_MAX : std::stoull(v); };
      uint64_t memory = number(memsw ? files[dir + "/memory.limit_in_bytes"] : value);
      uint64_t total = number(memsw ? value : files[dir + "/memory.memsw.limit_in_bytes"]);
      if (memory > total) {
        log.push_back("refused " + path + " " + value);
        return EINVAL;
      }
    }
    return RecordingFs::write(path, value);
  }
};

TEST(CgroupV1, UpdateRaisesAndLowersMemoryInTheOrderTheKernelAccepts) {
  V1MemoryFs fs;
  const std::string dir = "/v1/memory/c";
  fs.files[dir + "/memory.limit_in_bytes"] = "67108864";
  fs.files[dir + "/memory.memsw.limit_in_bytes"] = "67108864";
  auto cg = attach_v1_cgroup({{"memory", dir}}, fs);
  CgroupLimits raise;
  raise.memory_bytes = 128ull << 20;
  cg->apply(raise);  // memory+swap first, as runc
  EXPECT_EQ(fs.files[dir + "/memory.limit_in_bytes"], "134217728");
  EXPECT_EQ(fs.files[dir + "/memory.memsw.limit_in_bytes"], "134217728");
  CgroupLimits lower;
  lower.memory_bytes = 32ull << 20;
  cg->apply(lower);  // memory first
  EXPECT_EQ(fs.files[dir + "/memory.limit_in_bytes"], "33554432");
  EXPECT_EQ(fs.files[dir + "/memory.memsw.limit_in_bytes"], "33554432");
  CgroupLimits swap;  // more memory, and swap unlimited
  swap.memory_bytes = 256ull << 20;
  swap.memory_swap = -1;
  cg->apply(swap);
  EXPECT_EQ(fs.files[dir + "/memory.limit_in_bytes"], "268435456");
  EXPECT_EQ(fs.files[dir + "/memory.memsw.limit_in_bytes"], "-1");
  CgroupLimits both;  // less memory, some swap
  both.memory_bytes = 16ull << 20;
  both.memory_swap = 48ll << 20;
  cg->apply(both);
  EXPECT_EQ(fs.files[dir + "/memory.limit_in_bytes"], "16777216");
  EXPECT_EQ(fs.files[dir + "/memory.memsw.limit_in_bytes"], "50331648");
  for (const std::string& line : fs.log) EXPECT_EQ(line.rfind("refused", 0), std::string::npos) << line;
}

TEST(CgroupV2, UpdateRaisesAndLowersMemory) {
  RecordingFs fs;
  const std::string dir = "/cg/c";
  fs.files[dir + "/memory.max"] = "67108864";
  fs.files[dir + "/memory.swap.max"] = "0";
  auto cg = attach_v2_cgroup(dir, fs);
  CgroupLimits raise;
  raise.memory_bytes = 128ull << 20;
  cg->apply(raise);
  EXPECT_EQ(fs.files[dir + "/memory.max"], "134217728");
  EXPECT_EQ(fs.files[dir + "/memory.swap.max"], "0");  // cgroup2 counts swap alone
  CgroupLimits lower;
  lower.memory_bytes = 32ull << 20;
  lower.memory_swap = 48ll << 20;
  cg->apply(lower);
  EXPECT_EQ(fs.files[dir + "/memory.max"], "33554432");
  EXPECT_EQ(fs.files[dir + "/memory.swap.max"], "16777216");
}

TEST(CgroupV1, AnOciContainerAlsoSitsInSystemdsNamedHierarchy) {
  CgroupHierarchies h = parse_cgroup_mounts(
      "30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "40 25 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
      "41 25 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(h.layout, CgroupLayout::kHybrid);
  EXPECT_EQ(h.v1_mounts.at("name=systemd"), "/sys/fs/cgroup/systemd");
  // Only the named hierarchy: no v1 controller, so not a v1 layout.
  CgroupHierarchies v2 = parse_cgroup_mounts(
      "40 25 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
      "41 25 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(v2.layout, CgroupLayout::kV2);
}

TEST(CgroupStats, ReadsEitherLayout) {
  RecordingFs fs;
  fs.dirs = {"/v2/c"};
  fs.files = {{"/v2/c/cgroup.controllers", "memory pids"}, {"/v2/c/cpu.stat", "usage_usec 1500\nuser_usec 1000\nnr_throttled 7\n"},
              {"/v2/c/memory.current", "4096\n"},          {"/v2/c/memory.peak", "8192\n"},
              {"/v2/c/memory.max", "max\n"},               {"/v2/c/pids.current", "3\n"},
              {"/v2/c/pids.max", "1024\n"},                {"/v2/c/memory.events", "low 0\nmax 2\noom 1\noom_kill 1\n"}};
  CgroupStats v2 = read_cgroup_stats({"/v2/c"}, fs);
  EXPECT_EQ(v2.cpu_usec, 1500u);
  EXPECT_EQ(v2.cpu_throttled, 7u);
  EXPECT_EQ(v2.memory_current, 4096u);
  EXPECT_EQ(v2.memory_peak, 8192u);
  EXPECT_FALSE(v2.memory_limit);
  EXPECT_EQ(v2.pids_current, 3u);
  EXPECT_EQ(v2.pids_limit, 1024);
  EXPECT_EQ(v2.oom_kills, 1u);

  RecordingFs v1fs;
  v1fs.files = {{"/m/c/memory.usage_in_bytes", "100\n"},        {"/m/c/memory.max_usage_in_bytes", "200\n"},
                {"/m/c/memory.limit_in_bytes", "9223372036854771712\n"}, {"/a/c/cpuacct.usage", "2500000\n"},
                {"/p/c/pids.current", "5\n"},                  {"/p/c/pids.max", "max\n"}};
  CgroupStats v1 = read_cgroup_stats({"/m/c", "/a/c", "/p/c"}, v1fs);
  EXPECT_EQ(v1.cpu_usec, 2500u);
  EXPECT_EQ(v1.memory_current, 100u);
  EXPECT_EQ(v1.memory_peak, 200u);
  EXPECT_FALSE(v1.memory_limit);  // v1's "unlimited"
  EXPECT_EQ(v1.pids_limit, -1);
}

// ---- the real cgroup2 mount: create, move, cgroup.kill, remove ----------------------------

TEST(CgroupV2Real, CreateMoveKillRemove) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  CgroupHierarchies h = read_cgroup_hierarchies();
  if (h.v2_mount.empty()) GTEST_SKIP() << "no cgroup2 mount";
  std::string parent = h.v2_mount + (h.v2_own == "/" ? "" : h.v2_own);  // below our own cgroup
  std::unique_ptr<Cgroup> cg = create_v2_cgroup(parent, new_cgroup_name(), CgroupLimits{});
  std::string dir = cg->directories().at(0);
  ASSERT_EQ(::access(dir.c_str(), F_OK), 0);

  // The child joins by itself, through the file we opened (as the backends do).
  ASSERT_EQ(cg->self_join_files(), std::vector<std::string>{dir + "/cgroup.procs"});
  std::vector<UniqueFd> files = open_self_join_files(cg.get());
  ASSERT_EQ(files.size(), 1u);
  const int join = files[0].get();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    bool ok = join_cgroup_through(std::span<const int>(&join, 1)) == 0;
    (void)!::write(ready[1], ok ? "y" : "n", 1);
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  files.clear();
  ::close(ready[1]);
  char joined = 0;
  ASSERT_EQ(::read(ready[0], &joined, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(joined, 'y');
  std::ifstream in("/proc/" + std::to_string(child) + "/cgroup");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("0::" + dir.substr(h.v2_mount.size())), std::string::npos) << text;

  cg->kill_all();  // cgroup.kill
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  cg->destroy();
  EXPECT_NE(::access(dir.c_str(), F_OK), 0);
  EXPECT_TRUE(cg->directories().empty());
}


}  // namespace
}  // namespace nucleus
