#include "core/sys/error.h"

#include <cerrno>
#include <cstring>

namespace nucleus {

Error::Error(std::string step, std::string detail, int err, int exit_code)
    : step_(std::move(step)), detail_(std::move(detail)), err_(err), exit_code_(exit_code) {
  compose();
}

Error& Error::wrap(std::string_view outer) {
  step_ = std::string(outer) + ": " + step_;
  compose();
  return *this;
}

void Error::compose() {
  message_ = step_;
  auto append = [this](std::string_view part) {
    if (part.empty()) return;
    if (!message_.empty()) message_ += ": ";
    message_ += part;
  };
  append(detail_);
  if (err_ != 0) append(strerrordesc_np(err_) ? strerrordesc_np(err_) : errno_name(err_));
}

void throw_errno(std::string step, std::string detail) {
  throw Error(std::move(step), std::move(detail), errno);
}

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

}  // namespace nucleus
