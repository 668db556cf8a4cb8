// docs/kubernetes.md's claim, checked: containerd's runc shim (io.containerd.runc.v2) drives
// nucleus and nucleus-gvisor as its runc binary. A private containerd (its own socket, root
// and state in a temp dir) runs for the test; ctr creates, starts, execs and deletes.
#include "tests/integration/containerd_fixture.h"

namespace nucleus::test {
namespace {

using namespace std::chrono_literals;

TEST_F(Containerd, RunsNativeContainersThroughTheRuncShim) {
  Output hello = ctr(run("", "native1", "echo hello; grep CapEff /proc/self/status"));
  EXPECT_EQ(hello.status, 0) << hello.text;
  EXPECT_EQ(hello.text, "hello\nCapEff:\t00000000a80425fb\n");
  EXPECT_EQ(ctr(run("", "native2", "exit 3")).status, 3);
}

TEST_F(Containerd, ExecPauseAndKillOfADetachedTask) {
  ASSERT_EQ(ctr("run -d --runc-binary " + std::string(NUCLEUS_BINARY) + " --rootfs " + kRootfs + " t1 /bin/sleep 60").status, 0);
  Output exec = ctr("task exec --exec-id e1 t1 /bin/sh -c 'tr \"\\0\" \" \" < /proc/1/cmdline'");
  EXPECT_EQ(exec.text, "/bin/sleep 60 ") << exec.text;
  EXPECT_EQ(ctr("task pause t1").status, 0);
  EXPECT_NE(ctr("task ls").text.find("PAUSED"), std::string::npos);
  EXPECT_EQ(ctr("task resume t1").status, 0);
  EXPECT_EQ(ctr("task kill -s KILL t1").status, 0);
  for (int i = 0; i < 100 && ctr("task ls").text.find("STOPPED") == std::string::npos; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ctr("task rm t1").status, 0);
  EXPECT_EQ(ctr("container rm t1").status, 0);
}

TEST_F(Containerd, RunsGvisorContainersAsNucleusGvisor) {
  Output hello = ctr(run("-gvisor", "gv1", "echo hello; dmesg | head -1"));
  EXPECT_EQ(hello.status, 0) << hello.text;
  EXPECT_NE(hello.text.find("hello\n"), std::string::npos) << hello.text;
  EXPECT_NE(hello.text.find("Starting gVisor"), std::string::npos) << hello.text;
}

}  // namespace
}  // namespace nucleus::test
