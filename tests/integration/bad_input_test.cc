// Bad input through the real binary: one line on stderr naming the problem, exit 125, and
// nothing left behind (the fixture's leak check runs around every case).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using BadInput = ContainerTest;

void expect_refused(const std::vector<std::string>& args, const std::string& needle) {
  Result r = run_nucleus(args);
  EXPECT_EQ(r.status, 125) << r.err;
  EXPECT_EQ(r.err.rfind("nucleus: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(BadInput, Flags) {
  expect_refused({"run", "--memroy", "64M", "--", "true"}, "--memroy: unknown flag");
  expect_refused({"run", "--memory=lots", "--", "true"}, "--memory: invalid size 'lots'");
  expect_refused({"run", "--hostname", "a/b", "--", "true"}, "--hostname: invalid hostname");
  expect_refused({"run", "--user", "1000:", "--", "true"}, "--user: empty group");
  expect_refused({"run", "--workdir", "/proc/self/fd/7", "--", "true"}, "workdir: '/proc/self/fd/7' is under /proc");
  expect_refused({"run", "--name", "foo/bar", "--", "true"}, "invalid container name");
  expect_refused({"run"}, "command: no command given");
  expect_refused({"run", "--backend=gvisor", "--no-init", "--", "true"}, "always runs nucleus-init");
  expect_refused({"run", "--gvisor-platform", "ptrace", "--", "true"}, "applies to the gvisor backend only");
  expect_refused({"run", "--seccomp", "/nonexistent.json", "--", "true"}, "seccomp profile /nonexistent.json");
  expect_refused({"run", "--cap-add", "CAP_NOPE", "--", "true"}, "--cap-add: unknown capability 'CAP_NOPE'");
  expect_refused({"stats", "nobody-runs-this"}, "nobody-runs-this: container does not exist");
  expect_refused({"launch"}, "launch: unknown command");
  // A network's settings without that network, and a publish that could never answer:
  // refused, never silently dropped.
  expect_refused({"run", "--dns", "192.0.2.53", "--", "true"}, "--dns (dns:): needs --network bridge or pasta");
  expect_refused({"run", "--network", "host", "--subnet", "10.99.0.0/24", "--", "true"}, "--subnet (subnet:): needs --network");
  expect_refused({"run", "--network", "bridge", "-p", "[::1]:8080:80", "--", "true"}, "[::1] cannot reach a bridge container");
  expect_refused({"run", "--network", "pasta", "-p", "8080", "--", "true"}, "-p CONTAINER) needs bridge networking");
  expect_refused({"run", "--add-host", "db:192.0.2.7", "--", "true"}, "--add-host (extra_hosts:): needs --network bridge");
  expect_refused({"run", "--network", "bridge", "--add-host", "db", "--", "true"}, "--add-host: 'db' is not NAME:IP");
  EXPECT_EQ(run_nucleus({"run", "--help"}).status, 0);
}

TEST_F(BadInput, Paths) {
  expect_refused({"run", "--rootfs", "/nonexistent/rootfs", "--", "true"}, "rootfs: /nonexistent/rootfs: No such file");
  expect_refused({"run", "--rootfs", "/etc/passwd", "--", "true"}, "is not a directory");
  expect_refused({"run", "-v", "/nonexistent:/data", "--", "true"}, "volume: /nonexistent: No such file");
  expect_refused({"run", "-v", "/etc:/data", "--", "true"}, "under /etc");
  expect_refused({"run", "-v", "/tmp:/proc/sys", "--", "true"}, "under /proc");
  // A source that is a symlink to a denied place is judged by where it leads (B09).
  TempDir dir("/tmp", "nucleus-it-");
  std::string link = dir.path() + "/etc-link";
  ASSERT_EQ(::symlink("/etc", link.c_str()), 0);
  expect_refused({"run", "-v", link + ":/data", "--", "true"}, "under /etc");
}

// FS-09: an image whose /proc is a symlink is refused before anything is mounted.
TEST_F(BadInput, RootfsWithSymlinkedProc) {
  TempDir dir("/tmp", "nucleus-it-");
  ASSERT_EQ(::mkdir((dir.path() + "/bin").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("/etc", (dir.path() + "/proc").c_str()), 0);
  expect_refused({"run", "--rootfs", dir.path(), "--", "/bin/true"}, "/proc must be an ordinary directory");
}

TEST_F(BadInput, YamlFiles) {
  TempDir dir("/tmp", "nucleus-it-");
  auto write = [&](const std::string& text) {
    std::string path = dir.path() + "/w.yaml";
    std::ofstream(path) << text;
    return path;
  };
  expect_refused({"run", "-f", write("version: 1\nworkloads:\n  w:\n    memroy: 1\n"), "w"},
                 "w.yaml:4:5: workloads.w.memroy: unknown key");
  expect_refused({"run", "-f", write("version: 1\nworkloads:\n  w: {command: [x], command: [y]}\n"), "w"},
                 "w.yaml:3:21: workloads.w.command: duplicate key");
  expect_refused({"run", "-f", write("version: 3\n"), "w"}, "unsupported version '3'");
  expect_refused({"run", "-f", dir.path() + "/missing.yaml", "w"}, "No such file");
  expect_refused({"run", "-f", write("version: 1\nworkloads: {w: {command: [x]}}\n"), "nope"},
                 "no workload named 'nope'");
  expect_refused({"check", "-f", write("version: 1\nworkloads: {w: {hostname: 'x}}\n")}, "w.yaml:3:1: ");
  expect_refused({"check", "-f", write("version: 1\nworkloads:\n  w:\n    hostname: 'x\n")}, "unclosed quote");
}

TEST_F(BadInput, ValidFileRuns) {
  TempDir dir("/tmp", "nucleus-it-");
  std::string path = dir.path() + "/w.yaml";
  std::ofstream(path) << "version: 1\nworkloads:\n  hello:\n    command: [/bin/sh, -c, 'echo hi from $(hostname)']\n"
                         "    hostname: yaml-host\n";
  Result r = run_nucleus({"run", "-f", path, "hello"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi from yaml-host\n");
  Result overridden = run_nucleus({"run", "-f", path, "--hostname", "flag-host", "hello"});
  EXPECT_EQ(overridden.out, "hi from flag-host\n");
  Result check = run_nucleus({"check", "-f", path});
  EXPECT_EQ(check.status, 0) << check.err;
  EXPECT_NE(check.out.find("hello: isolation standard, backend native"), std::string::npos) << check.out;
}

}  // namespace
}  // namespace nucleus::test
