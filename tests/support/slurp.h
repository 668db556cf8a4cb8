#pragma once

#include <fstream>
#include <iterator>
#include <string>

namespace nucleus::test {

// A whole file's content, "" when it cannot be read: what the tests compare. One copy for
// every test file (the tests are built a batch of files at a time, CMakeLists.txt).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace nucleus::test
