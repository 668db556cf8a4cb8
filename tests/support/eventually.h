#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace nucleus::test {

// Whether condition holds within `seconds`, asked every 50 ms and once more at the end: how
// the tests wait for what a container, a daemon or a network does in its own time.
inline bool eventually(const std::function<bool()>& condition, int seconds = 30) {
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds); std::chrono::steady_clock::now() < end;) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace nucleus::test
