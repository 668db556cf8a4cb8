// A stack's order: dependencies first, every problem found before anything starts.
#include "frontend/stack.h"

#include <gtest/gtest.h>

#include "core/sys/error.h"

namespace nucleus::frontend {
namespace {

WorkloadFile stack(const std::string& services) {
  return parse_workload_file("version: 1\nservices:\n" + services, "/tmp/stack.yaml");
}

std::string error_of(const WorkloadFile& file, const std::vector<std::string>& wanted) {
  try {
    stack_order(file, wanted);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(StackOrder, DependenciesComeFirst) {
  WorkloadFile f = stack(
      "  web: {command: [w], depends_on: {api: started}}\n"
      "  api: {command: [a], depends_on: {db: healthy}}\n"
      "  db: {command: [d], health: {cmd: 'true'}}\n"
      "  extra: {command: [e]}\n");
  EXPECT_EQ(stack_order(f, {}), (std::vector<std::string>{"db", "api", "web", "extra"}));
  EXPECT_EQ(stack_order(f, {"api"}), (std::vector<std::string>{"db", "api"}));  // with what it needs
}

TEST(StackOrder, ACycleIsNamed) {
  WorkloadFile f = stack(
      "  a: {command: [a], depends_on: [b]}\n"
      "  b: {command: [b], depends_on: [c]}\n"
      "  c: {command: [c], depends_on: [a]}\n");
  EXPECT_NE(error_of(f, {}).find("cycle: a -> b -> c -> a"), std::string::npos) << error_of(f, {});
}

TEST(StackOrder, UnknownNamesAndHealthlessConditionsAreRefused) {
  WorkloadFile f = stack(
      "  a: {command: [a], depends_on: [ghost]}\n"
      "  b: {command: [b]}\n");
  EXPECT_NE(error_of(f, {"b"}).find("no service named 'ghost'"), std::string::npos);  // checked even unasked
  EXPECT_NE(error_of(f, {"nosuch"}).find("no service named 'nosuch'"), std::string::npos);
  WorkloadFile g = stack(
      "  a: {command: [a], depends_on: {b: healthy}}\n"
      "  b: {command: [b]}\n");
  EXPECT_NE(error_of(g, {}).find("has no health check"), std::string::npos);
}

}  // namespace
}  // namespace nucleus::frontend
