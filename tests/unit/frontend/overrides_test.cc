// Flags over YAML (frontend/overrides.cc) and the CLI's bad-input handling (B23).
#include "frontend/overrides.h"

#include <signal.h>

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "frontend/cli.h"

namespace nucleus::frontend {
namespace {

class OverridesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_.path() + "/w.yaml";
    std::ofstream(file_) << "version: 1\nworkloads:\n  web:\n    command: [/bin/serve]\n"
                            "    hostname: fromfile\n    env: {A: file, B: file}\n"
                            "    volumes: ['/srv:/data:ro']\n    resources: {memory: 64M}\n";
  }
  TempDir dir_{"/tmp", "nucleus-unit-"};
  std::string file_;
};

TEST_F(OverridesTest, FlagsOverrideTheFile) {
  RunFlags f;
  f.file = file_;
  f.positionals = {"web"};
  f.hostname = "fromflag";
  f.memory = "128M";
  f.env = {"B=flag", "C=flag"};
  f.volumes = {"/srv:/data:rw", "/opt:/opt"};
  WorkloadSpec spec = make_spec(f);
  EXPECT_EQ(spec.command, (std::vector<std::string>{"/bin/serve"}));
  EXPECT_EQ(spec.hostname, "fromflag");
  EXPECT_EQ(spec.resources.memory_bytes, 128ull << 20);
  ASSERT_EQ(spec.env.size(), 4u);  // the filter later keeps the last B
  EXPECT_EQ(spec.env[2], (std::pair<std::string, std::string>{"B", "flag"}));
  ASSERT_EQ(spec.volumes.size(), 2u);  // same destination: the flag's replaces the file's
  EXPECT_EQ(spec.volumes[0].destination, "/data");
  EXPECT_FALSE(spec.volumes[0].read_only);
}

TEST_F(OverridesTest, CommandAfterTheWorkloadNameReplacesTheFiles) {
  RunFlags f;
  f.file = file_;
  f.positionals = {"web", "--", "echo", "hi"};
  EXPECT_EQ(make_spec(f).command, (std::vector<std::string>{"echo", "hi"}));
}

TEST_F(OverridesTest, MissingWorkloadNameIsAnError) {
  RunFlags f;
  f.file = file_;
  EXPECT_THROW(make_spec(f), Error);
  f.positionals = {"nope"};
  EXPECT_THROW(make_spec(f), Error);
}

TEST(Overrides, FlagValuesAreValidated) {
  auto bad = [](auto set) {
    RunFlags f;
    f.positionals = {"true"};
    set(f);
    EXPECT_THROW(make_spec(f), Error);
  };
  bad([](RunFlags& f) { f.memory = "abc"; });
  bad([](RunFlags& f) { f.cpus = "0"; });
  bad([](RunFlags& f) { f.pids = "0"; });
  bad([](RunFlags& f) { f.isolation = "paranoid"; });
  bad([](RunFlags& f) { f.backend = "lxc"; });
  bad([](RunFlags& f) { f.network = "overlay"; });
  bad([](RunFlags& f) { f.publish = {"70000:80"}; });
  bad([](RunFlags& f) { f.egress = {"a.*.example"}; });
  bad([](RunFlags& f) { f.dns = {"not-an-ip"}; });
  bad([](RunFlags& f) { f.landlock = "maybe"; });
  bad([](RunFlags& f) { f.user = "1000:"; });
  bad([](RunFlags& f) { f.hostname = std::string(65, 'h'); });
  bad([](RunFlags& f) { f.name = "../x"; });
  bad([](RunFlags& f) { f.env = {"NOEQUALS"}; });
  bad([](RunFlags& f) { f.timeout = "-1"; });
  bad([](RunFlags& f) { f.init = true; f.no_init = true; });
  bad([](RunFlags& f) { f.workdir = "/proc/self/fd/7"; });
  RunFlags empty;
  EXPECT_THROW(make_spec(empty), Error);  // no command
}

// `run` blocks the signals it forwards before it resolves the spec, and a process that
// fails exits; this one goes on to other tests, so its mask is restored.
int cli(std::vector<std::string> args) {
  args.insert(args.begin(), "nucleus");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  struct Restore {
    sigset_t* mask;
    ~Restore() { ::sigprocmask(SIG_SETMASK, mask, nullptr); }
  } restore{&mask};
  return run_cli(static_cast<int>(argv.size()), argv.data());
}

std::string cli_error(std::vector<std::string> args) {
  try {
    cli(std::move(args));
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 125);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

// B23: unknown flags, missing values, bad values, conflicting flags; --help exits 0.
TEST(Cli, B23BadFlagsAreOneLineErrorsNamingTheFlag) {
  EXPECT_EQ(cli_error({"run", "--memroy", "64M", "true"}), "--memroy: unknown flag");
  EXPECT_EQ(cli_error({"run", "-Z", "true"}), "-Z: unknown flag");
  EXPECT_EQ(cli_error({"--bogus", "run", "true"}), "--bogus: unknown flag");
  EXPECT_NE(cli_error({"run", "--memory"}).find("--memory"), std::string::npos);
  EXPECT_EQ(cli_error({"run", "--memory=abc", "true"}), "--memory: invalid size 'abc' (an integer with K, M, G or T)");
  EXPECT_NE(cli_error({"run", "--backend=gvisor", "--landlock", "on", "true"}).find("Landlock"), std::string::npos);
  EXPECT_NE(cli_error({"run", "--isolation", "untrusted", "--backend", "native", "true"}).find("untrusted"),
            std::string::npos);
  EXPECT_NE(cli_error({"frobnicate"}).find("frobnicate"), std::string::npos);
  EXPECT_NE(cli_error({}).find("subcommand"), std::string::npos);
  EXPECT_EQ(cli({"run", "--help"}), 0);
  // A "--" that is an option's value is no end of the options: --name is known after it.
  EXPECT_EQ(cli_error({"run", "--hostname", "--", "--name", "x", "true"}),
            "--hostname: invalid hostname '--': a label starts or ends with '-'");
  EXPECT_EQ(cli({"--help"}), 0);
}

TEST(Cli, OptionsStopAtTheCommand) {
  // "-e" after the command belongs to the command; an unknown flag after it is not ours.
  EXPECT_EQ(cli_error({"run", "--landlock", "maybe", "sh", "-c", "--bogus"}),
            "--landlock: expected on or off, got 'maybe'");
}

}  // namespace
}  // namespace nucleus::frontend
