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
  if (message_.size() > kMaxErrorMessage) message_ = capped(message_, kMaxErrorMessage);
}

std::string capped(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size() - cut) + " more bytes)";
}

void throw_errno(std::string step, std::string detail) {
  throw Error(std::move(step), std::move(detail), errno);
}

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

}  // namespace nucleus
