#include "core/sys/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/sys/error.h"

namespace nucleus::log {

void init(std::string_view level, Format format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  bool known = parsed != spdlog::level::off || level == "off";
  if (!known || level == "critical" || level == "err") {
    throw Error("--log-level", "unknown level '" + std::string(level) +
                                   "' (trace, debug, info, warning, error, off)");
  }
  spdlog::drop("nucleus");
  auto logger = spdlog::stderr_logger_st("nucleus");
  if (format == Format::kJson) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
  } else {
    logger->set_pattern("nucleus: %l: %v");
  }
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace nucleus::log
