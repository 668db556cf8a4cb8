// runsc's control call as nucleus speaks it (backends/gvisor/runsc/sandbox_control.h),
// against a fake sandbox on an abstract socket of the test's own: the request's form and
// the files it carries, and what each kind of answer becomes. The real runsc is exercised
// by tests/integration/container_model_test.cc.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/gvisor/runsc/sandbox_control.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

using json = nlohmann::json;

// One sandbox's control socket that answers each connection's call with `answer`, keeping
// what it was asked and how many files came with it.
class FakeSandbox {
 public:
  // split: the answer in two writes 20 ms apart, as a stream may deliver it.
  // status: the container's status in runsc's state file ("": none written).
  explicit FakeSandbox(std::string answer, bool split = false, const std::string& status = "")
      : answer_(std::move(answer)), split_(split) {
    id_ = "nucleus-unit-" + std::to_string(::getpid());
    root_ = std::filesystem::temp_directory_path() / ("nucleus-unit-control-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_);
    json state = {{"id", "ctr"}, {"sandbox", {{"id", id_}, {"pid", ::getpid()}, {"uid", 0}}}};
    if (!status.empty()) state["status"] = status;
    std::ofstream(root_ / ("ctr_sandbox:" + id_ + ".state")) << state.dump();
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const std::string name = "runsc-sandbox." + id_;
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::copy(name.begin(), name.end(), addr.sun_path + 1);
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 2);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(listener_.get(), 4), 0);
    server_ = std::thread([this] { serve_one(); });
  }
  ~FakeSandbox() {
    ::shutdown(listener_.get(), SHUT_RDWR);  // an accept still waiting (a test that failed early) returns
    if (server_.joinable()) server_.join();
    std::filesystem::remove_all(root_);
  }
  std::string root() const { return root_.string(); }
  json request() {
    server_.join();
    return json::parse(request_);
  }
  size_t files() const { return files_; }

 private:
  void serve_one() {
    UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    char buf[65536];
    int fds[sys::kMaxPassedFds];
    for (;;) {
      size_t count = 0;
      ssize_t n = sys::recv_with_fds(c.get(), buf, sizeof buf, fds, sys::kMaxPassedFds, &count);
      if (n <= 0) break;
      for (size_t i = 0; i < count; ++i) ::close(fds[i]);
      files_ += count;
      request_.append(buf, static_cast<size_t>(n));
      if (json::accept(request_)) break;
    }
    size_t first = split_ ? answer_.size() / 2 : answer_.size();
    // MSG_NOSIGNAL: a client that refused the answer has gone.
    (void)::send(c.get(), answer_.data(), first, MSG_NOSIGNAL);
    if (split_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      (void)::send(c.get(), answer_.data() + first, answer_.size() - first, MSG_NOSIGNAL);
    }
  }

  std::string answer_, id_, request_;
  std::filesystem::path root_;
  UniqueFd listener_;
  bool split_ = false;
  std::thread server_;
  size_t files_ = 0;
};

SandboxProcess true_process() {
  SandboxProcess p;
  p.argv = {"/bin/true"};
  p.env = {"PATH=/bin"};
  p.cwd = "/tmp";
  p.uid = 1000;
  p.gid = 1001;
  p.additional_gids = {27};
  p.capabilities.effective = (uint64_t{1} << 13) | 1;  // CAP_NET_RAW and CAP_CHOWN
  return p;
}

TEST(SandboxControl, ExecuteSendsRunscExecsArgumentsWithTheThreeStdioFiles) {
  FakeSandbox sandbox(R"({"success":true,"err":"","result":42})");
  std::optional<SandboxControl> control = SandboxControl::find(sandbox.root(), "ctr");
  ASSERT_TRUE(control);
  std::optional<pid_t> pid = control->execute(true_process(), {0, 1, 2});
  EXPECT_EQ(pid, 42);
  json r = sandbox.request();
  EXPECT_EQ(r["method"], "containerManager.ExecuteAsync");
  EXPECT_EQ(r["arg"]["argv"], json({"/bin/true"}));
  EXPECT_EQ(r["arg"]["wd"], "/tmp");
  EXPECT_EQ(r["arg"]["KUID"], 1000);
  EXPECT_EQ(r["arg"]["KGID"], 1001);
  EXPECT_EQ(r["arg"]["ExtraKGIDs"], json({27}));
  EXPECT_EQ(r["arg"]["containerID"], "ctr");
  // As runsc without --net-raw: CAP_NET_RAW is never given.
  EXPECT_EQ(r["arg"]["capabilities"]["EffectiveCaps"], 1);
  EXPECT_EQ(sandbox.files(), 3u);
}

TEST(SandboxControl, AnAnswerInPiecesIsReadWhole) {
  FakeSandbox sandbox(R"({"success":true,"err":"","result":7})", /*split=*/true);
  EXPECT_EQ(SandboxControl::find(sandbox.root(), "ctr")->execute(true_process(), {0, 1, 2}), 7);
}

// What a run's signal forwarding asks: whether the workload exists yet (two processes:
// nucleus-init and the workload), then a signal for the container's PID 1.
TEST(SandboxControl, ProcessCountAndSignalAreRunscPsAndKillsCalls) {
  {
    FakeSandbox sandbox(R"({"success":true,"err":"","result":[{"pid":1},{"pid":2}]})");
    EXPECT_EQ(SandboxControl::find(sandbox.root(), "ctr")->process_count(), 2u);
    json r = sandbox.request();
    EXPECT_EQ(r["method"], "containerManager.Processes");
    EXPECT_EQ(r["arg"], "ctr");
  }
  FakeSandbox sandbox(R"({"success":true,"err":"","result":{}})");
  EXPECT_TRUE(SandboxControl::find(sandbox.root(), "ctr")->signal(0, 15));
  json r = sandbox.request();
  EXPECT_EQ(r["method"], "containerManager.Signal");
  EXPECT_EQ(r["arg"], json({{"CID", "ctr"}, {"Signo", 15}, {"PID", 0}, {"Mode", 0}}));
}

// runsc kill --all's call: every process of the container, pid 0 as runsc sends it.
TEST(SandboxControl, SignalToAllIsRunscKillAllsCall) {
  FakeSandbox sandbox(R"({"success":true,"err":"","result":{}})");
  EXPECT_TRUE(SandboxControl::find(sandbox.root(), "ctr")->signal(5, 9, /*all=*/true));
  EXPECT_EQ(sandbox.request()["arg"], json({{"CID", "ctr"}, {"Signo", 9}, {"PID", 0}, {"Mode", 1}}));
}

// runsc ps's answer: the container's processes, by their pid in the sandbox.
TEST(SandboxControl, ProcessesAreThePidsTheSandboxLists) {
  FakeSandbox sandbox(R"({"success":true,"err":"","result":[{"uid":0,"pid":1,"ppid":0,"cmd":"nucleus-init"},)"
                      R"({"uid":0,"pid":7,"ppid":1,"cmd":"sleep"}]})");
  EXPECT_EQ(SandboxControl::find(sandbox.root(), "ctr")->processes(), (std::vector<pid_t>{1, 7}));
}

// `runsc state` without runsc: the status runsc recorded, checked as runsc checks it when it
// loads a container.
TEST(SandboxControl, StatusIsWhatRunscStateWouldSay) {
  {  // running, and its PID 1 takes signal 0: running
    FakeSandbox sandbox(R"({"success":true,"err":"","result":{}})", false, "running");
    EXPECT_EQ(SandboxControl::find(sandbox.root(), "ctr")->status(), "running");
    EXPECT_EQ(sandbox.request()["arg"], json({{"CID", "ctr"}, {"Signo", 0}, {"PID", 0}, {"Mode", 0}}));
  }
  {  // running in the record, but its PID 1 is gone: stopped
    FakeSandbox sandbox(R"({"success":false,"err":"no such process","result":null})", false, "running");
    EXPECT_EQ(SandboxControl::find(sandbox.root(), "ctr")->status(), "stopped");
  }
  {  // created: the sandbox is there
    FakeSandbox sandbox(R"({"success":true,"err":"","result":{}})", false, "created");
    EXPECT_EQ(SandboxControl::find(sandbox.root(), "ctr")->status(), "created");
  }
  {  // still being made: runsc's own answer is needed
    FakeSandbox sandbox(R"({"success":true,"err":"","result":{}})", false, "creating");
    EXPECT_EQ(SandboxControl::find(sandbox.root(), "ctr")->status(), std::nullopt);
  }
  // Nothing listens any more (the sandbox ended): a container recorded running or created
  // is stopped; one recorded paused stays paused, as runsc never looks at a paused one.
  const auto root = std::filesystem::temp_directory_path() / ("nucleus-unit-gone-" + std::to_string(::getpid()));
  for (const char* recorded : {"running", "created", "paused"}) {
    std::filesystem::create_directories(root);
    std::ofstream(root / "ctr_sandbox:nucleus-unit-gone.state")
        << json{{"id", "ctr"}, {"status", recorded}, {"sandbox", {{"id", "nucleus-unit-gone"}, {"pid", 1}}}}.dump();
    std::optional<SandboxControl> gone = SandboxControl::find(root.string(), "ctr");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status(), std::string(recorded) == "paused" ? "paused" : "stopped") << recorded;
    std::filesystem::remove_all(root);
  }
}

TEST(SandboxControl, ARunscThatDoesNotServeTheCallMeansRunscExec) {
  FakeSandbox sandbox(R"({"success":false,"err":"unknown method","result":null})");
  std::optional<SandboxControl> control = SandboxControl::find(sandbox.root(), "ctr");
  ASSERT_TRUE(control);
  EXPECT_FALSE(control->execute(true_process(), {0, 1, 2}));
  // No sandbox listening (a newer runsc keeps its socket as a file): the same.
  const std::string nobody = "nobody-listens-" + std::to_string(::getpid());
  std::ofstream(sandbox.root() + "/lonely_sandbox:" + nobody + ".state")
      << json{{"sandbox", {{"id", nobody}, {"pid", ::getpid()}}}}.dump();
  std::optional<SandboxControl> lonely = SandboxControl::find(sandbox.root(), "lonely");
  ASSERT_TRUE(lonely);
  EXPECT_FALSE(lonely->execute(true_process(), {0, 1, 2}));
  // No state for the container, or state of a form this nucleus does not know: nothing to ask.
  EXPECT_FALSE(SandboxControl::find(sandbox.root(), "other"));
  std::ofstream(sandbox.root() + "/odd_sandbox:odd.state") << R"({"sandbox": {"id": 3}})";
  EXPECT_FALSE(SandboxControl::find(sandbox.root(), "odd"));
}

// A listener other than the sandbox runsc recorded (its name taken over once the sandbox
// died) is never handed the caller's stdio.
TEST(SandboxControl, AListenerThatIsNotTheRecordedSandboxIsRefused) {
  FakeSandbox sandbox(R"({"success":true,"err":"","result":42})");
  const std::string id = "nucleus-unit-" + std::to_string(::getpid());
  std::ofstream(sandbox.root() + "/impostor_sandbox:" + id + ".state")
      << json{{"sandbox", {{"id", id}, {"pid", ::getpid() + 100000}}}}.dump();
  EXPECT_THROW(SandboxControl::find(sandbox.root(), "impostor")->execute(true_process(), {0, 1, 2}), Error);
}

TEST(SandboxControl, ACommandTheSandboxCannotFindIs127) {
  FakeSandbox sandbox(R"({"success":false,"err":"failed to exec: no such file or directory","result":null})");
  try {
    SandboxControl::find(sandbox.root(), "ctr")->execute(true_process(), {0, 1, 2});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 127);
    EXPECT_NE(std::string(e.what()).find("/bin/true"), std::string::npos) << e.what();
  }
}

TEST(SandboxControl, AnAnswerOfAnotherFormIsAnError) {
  FakeSandbox sandbox(R"([1, 2, 3])");
  EXPECT_THROW(SandboxControl::find(sandbox.root(), "ctr")->execute(true_process(), {0, 1, 2}), Error);
}

}  // namespace
}  // namespace nucleus::gvisor
