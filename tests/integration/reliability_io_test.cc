// Issue 13, reliability, what a start gets: no lost output (the caller's stdio, whatever it
// is), no lost signal, a bounded writable layer, --cgroup-parent's parents gone with the last
// container, and no start that fails because another started. Fixture:
// reliability_fixture.h; the rest of the issue: reliability_state_test.cc.
#include "tests/integration/reliability_fixture.h"

namespace nucleus::test {
namespace {

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

// The same for an `exec`'d process: `{ echo AAAA; nucleus exec c sh -c ...; echo BBBB; } > f`
// (runsc exec alone writes from offset 0 too: "1\nE\n2\nBBBB").
TEST_P(Reliability, ExecOutputToAFileGoesWhereTheCallersOffsetIs) {
  const std::string id = "exec-out-" + backend_name({GetParam(), 0}) + "-" + std::to_string(::getpid());
  NucleusProcess container(run_args(GetParam(), {"--name", id, "--", "/bin/sh", "-c", "echo up; sleep 60"}));
  ASSERT_TRUE(container.wait_for_output("up"));
  std::string file = path("exec-out");
  UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  ASSERT_EQ(::write(out.get(), "AAAA\n", 5), 5);
  int status = run_with_stdio({"exec", id, "/bin/sh", "-c", "echo 1; echo E >&2; echo 2; exit 3"},
                              ::open("/dev/null", O_RDONLY | O_CLOEXEC), out.get(), out.get());
  ASSERT_EQ(::write(out.get(), "BBBB\n", 5), 5);
  run_nucleus({"kill", id, "KILL"});
  container.wait();
  EXPECT_EQ(status, 3);
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
  for (int ms = 0; ms <= 200; ms += 10) {
    int sig = ms % 20 == 0 ? SIGTERM : SIGINT;
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

INSTANTIATE_TEST_SUITE_P(Backends, Reliability, ::testing::Values(kNative, kGvisor),
                         backend_name);

}  // namespace
}  // namespace nucleus::test
