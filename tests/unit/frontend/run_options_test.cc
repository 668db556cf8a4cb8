// `run` builds the option families a start rarely names only when its command line names one
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
}

}  // namespace
}  // namespace nucleus::frontend
