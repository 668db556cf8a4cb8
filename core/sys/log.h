#pragma once

#include <string>
#include <string_view>

// Logging for the parent process (spdlog, to stderr): "nucleus: warning: ...". Never used
// between clone and exec. Errors are not logged here: frontend/main.cc prints them once.
namespace nucleus::log {

enum class Format { kText, kJson };

// Level is one of trace, debug, info, warning, error, off. Throws Error for others.
void init(std::string_view level, Format format = Format::kText);

}  // namespace nucleus::log
