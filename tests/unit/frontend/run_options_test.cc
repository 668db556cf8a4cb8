// `run` builds an option only when its command line names it, or asks for help
// (frontend/verbs/run.cc): every option --help lists must still be accepted on its own.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/cli.h"

namespace nucleus::frontend {
namespace {

std::vector<std::string> names_of(const CLI::App& run) {
  std::vector<std::string> names;
  for (const CLI::Option* o : run.get_options()) {
    for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : o->get_snames()) names.push_back("-" + s);
  }
  return names;
}

TEST(RunOptions, EveryOptionHelpListsIsBuiltWhenTheCommandLineNamesIt) {
  Globals g;
  RunFlags flags;
  Action action;
  CLI::App all_app;
  std::vector<std::string> all = names_of(*add_run_command(all_app, g, flags, action, std::nullopt));
  ASSERT_GT(all.size(), 40u);
  for (const std::string& name : all) {
    if (name == "--help" || name == "-h") continue;
    CLI::App app;
    std::vector<std::string> words = {name + (name.size() > 2 ? "=x" : ""), "true"};
    CLI::App* run = add_run_command(app, g, flags, action, std::span<const std::string>(words));
    EXPECT_NE(run->get_option_no_throw(name), nullptr) << name << " is not built when named";
  }
}

TEST(RunOptions, ACommonStartBuildsFewerAndAWorkloadWordIsNoFlag) {
  Globals g;
  RunFlags flags;
  Action action;
  CLI::App app;
  std::vector<std::string> words = {"--rootfs", "/r", "--", "sh", "--network"};
  CLI::App* run = add_run_command(app, g, flags, action, std::span<const std::string>(words));
  EXPECT_EQ(run->get_option_no_throw("--network"), nullptr);
  EXPECT_NE(run->get_option_no_throw("--rootfs"), nullptr);
  EXPECT_EQ(run->get_option_no_throw("--name"), nullptr);
  EXPECT_EQ(run->get_option_no_throw("--user"), nullptr);
}

TEST(RunOptions, ShortFlagsWithTheirValueAndLongOnesWithEqualsAreNamed) {
  Globals g;
  RunFlags flags;
  Action action;
  CLI::App app;
  std::vector<std::string> words = {"-uroot", "--env=A=1", "-w/tmp", "sh"};
  CLI::App* run = add_run_command(app, g, flags, action, std::span<const std::string>(words));
  EXPECT_NE(run->get_option_no_throw("--user"), nullptr);
  EXPECT_NE(run->get_option_no_throw("--env"), nullptr);
  EXPECT_NE(run->get_option_no_throw("--workdir"), nullptr);
  EXPECT_EQ(run->get_option_no_throw("--pids-limit"), nullptr);  // (-w/tmp builds -m too: harmless)
}

TEST(RunOptions, ADoubleDashThatIsAnOptionsValueEndsNoNames) {
  Globals g;
  RunFlags flags;
  Action action;
  CLI::App app;
  std::vector<std::string> words = {"--hostname", "--", "--name", "x", "--", "sh", "--user"};
  CLI::App* run = add_run_command(app, g, flags, action, std::span<const std::string>(words));
  EXPECT_NE(run->get_option_no_throw("--hostname"), nullptr);
  EXPECT_NE(run->get_option_no_throw("--name"), nullptr) << "the first -- is --hostname's value";
  EXPECT_EQ(run->get_option_no_throw("--user"), nullptr) << "the second -- ends the options";
}

TEST(RunOptions, HelpBuildsEveryOption) {
  Globals g;
  RunFlags flags;
  Action action;
  CLI::App all_app;
  const size_t all = add_run_command(all_app, g, flags, action, std::nullopt)->get_options().size();
  CLI::App app;
  std::vector<std::string> words = {"--help"};
  EXPECT_EQ(add_run_command(app, g, flags, action, std::span<const std::string>(words))->get_options().size(), all);
}

}  // namespace
}  // namespace nucleus::frontend
