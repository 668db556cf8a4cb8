// What an idle container costs in memory: start-up walks most of nucleus's (static) code,
// and the monitoring nucleus and the PID-1 supervisor give those pages back once the
// workload runs (docs/performance.md, idle PSS).
#include <dirent.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using IdleFootprint = ContainerTest;

// Resident KiB of the first mapping of `pid` that `wanted(perms, path)` accepts; -1 if none.
template <class Wanted>
long mapping_rss_kib(pid_t pid, Wanted wanted) {
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  bool in_mapping = false;
  for (std::string line; std::getline(smaps, line);) {
    std::istringstream fields(line);
    std::string first, perms, offset, dev, inode, path;
    fields >> first >> perms >> offset >> dev >> inode >> path;
    if (first.find('-') != std::string::npos && first.back() != ':') {
      in_mapping = wanted(perms, path);
    } else if (in_mapping && first == "Rss:") {
      return std::stol(perms);
    }
  }
  return -1;
}

long code_rss_kib(pid_t pid) {
  return mapping_rss_kib(pid, [](const std::string& perms, const std::string& path) {
    return perms == "r-xp" && path.size() >= 8 && path.compare(path.size() - 8, 8, "/nucleus") == 0;
  });
}

long heap_rss_kib(pid_t pid) {
  return mapping_rss_kib(pid, [](const std::string&, const std::string& path) { return path == "[heap]"; });
}

pid_t child_named(pid_t parent, const std::string& comm) {
  DIR* proc = ::opendir("/proc");
  pid_t found = -1;
  while (dirent* e = proc ? ::readdir(proc) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t close = text.rfind(')');
    size_t open = text.find('(');
    if (close == std::string::npos || open == std::string::npos) continue;
    std::istringstream rest(text.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && text.substr(open + 1, close - open - 1) == comm) found = std::atoi(e->d_name);
  }
  if (proc) ::closedir(proc);
  return found;
}

TEST_F(IdleFootprint, MonitorAndSupervisorGiveBackWhatStartUpUsed) {
  NucleusProcess p({"run", "--rootfs", kRootfs, "--", "/bin/sh", "-c", "echo ready; sleep 60"});
  ASSERT_TRUE(p.wait_for_output("ready"));
  pid_t init = child_named(p.pid(), "nucleus-init");
  ASSERT_GT(init, 0);
  // Start-up has touched megabytes of code; the monitor gives them back after a second of
  // running, the supervisor as soon as the workload runs. Poll, no timed assertion.
  long monitor = -1, supervisor = -1;
  for (int i = 0; i < 100; ++i) {
    monitor = code_rss_kib(p.pid());
    supervisor = code_rss_kib(init);
    if (monitor >= 0 && monitor < 1024 && supervisor >= 0 && supervisor < 1024) break;
    ::usleep(100000);
  }
  EXPECT_GE(monitor, 0);
  EXPECT_LT(monitor, 1024) << "KiB of nucleus's code resident in the idle monitor";
  EXPECT_GE(supervisor, 0);
  EXPECT_LT(supervisor, 1024) << "KiB of nucleus's code resident in the idle supervisor";
  // The supervisor never allocates: its copy of nucleus's heap is gone too (the monitor's
  // is in use and stays).
  long supervisor_heap = heap_rss_kib(init);
  EXPECT_GE(supervisor_heap, 0) << "the supervisor's [heap] mapping stays, emptied";
  EXPECT_LT(supervisor_heap, 16) << "KiB of heap resident in the idle supervisor";
  EXPECT_GT(heap_rss_kib(p.pid()), 16) << "the monitor's heap (control)";
  // And out of reach from then on (an allocation would fault), but for the first pages,
  // where the static binary keeps its thread's TLS and control block (the stack canary).
  std::ifstream maps("/proc/" + std::to_string(init) + "/maps");
  std::string kept, unreachable;
  for (std::string line; std::getline(maps, line);) {
    if (line.find("[heap]") == std::string::npos) continue;
    (line.find(" ---p ") != std::string::npos ? unreachable : kept) += line + "\n";
  }
  EXPECT_FALSE(unreachable.empty()) << kept;
  unsigned long start = 0, end = 0;
  ASSERT_EQ(std::sscanf(kept.c_str(), "%lx-%lx", &start, &end), 2) << kept;
  EXPECT_LE(end - start, 8192u) << kept;
  ::kill(p.pid(), SIGTERM);
  EXPECT_EQ(p.wait().status, 143);
}

// Every error nucleus reports is an exception caught in main (frontend/main.cc). In the
// static binary the unwinder finds its frames through the PT_GNU_EH_FRAME table, not a
// sort of every frame at the first throw (5 ms, frontend/static_unwind.cc): the table is
// there, and a thrown error still comes out as one line and 125 (with registration off
// and no table, the throw would find no frame and abort).
TEST(StaticBinary, ThrowsThroughItsUnwindTable) {
  std::ifstream binary(kNucleus, std::ios::binary);
  Elf64_Ehdr header{};
  ASSERT_TRUE(binary.read(reinterpret_cast<char*>(&header), sizeof header));
  bool table = false, interpreter = false;
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr ph{};
    binary.seekg(static_cast<std::streamoff>(header.e_phoff + i * header.e_phentsize));
    ASSERT_TRUE(binary.read(reinterpret_cast<char*>(&ph), sizeof ph));
    table |= ph.p_type == PT_GNU_EH_FRAME;
    interpreter |= ph.p_type == PT_INTERP;
  }
  EXPECT_FALSE(interpreter) << "nucleus is linked statically";
  EXPECT_TRUE(table) << "no PT_GNU_EH_FRAME: the link lost --eh-frame-hdr";
  Result r = run_nucleus({"state", "no-such-container"});
  EXPECT_EQ(r.status, 125) << r.err;
  EXPECT_EQ(r.err, "nucleus: no-such-container: container does not exist\n");
}

}  // namespace
}  // namespace nucleus::test
