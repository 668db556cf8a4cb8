#pragma once

#include <stdexcept>
#include <string>

// What a request did wrong (or what failed while serving it), as the API answers it: an
// HTTP status, a stable machine-readable code, and one line for a human. Every route
// throws this and only this for a refusal; the server turns it into
// {"error":{"code":...,"message":...}} with the status (docs/api.md, "Errors").
namespace nucleus::daemon {

struct ApiError : std::runtime_error {
  ApiError(int status_, std::string code_, const std::string& message)
      : std::runtime_error(message), status(status_), code(std::move(code_)) {}
  int status;
  std::string code;
};

// The body of an error answer.
std::string error_body(const std::string& code, const std::string& message);

}  // namespace nucleus::daemon
