#pragma once

#include <string>

namespace nucleus::frontend {

// `nucleus sandbox cp SRC ID:DIR` (SRC, a file or directory of the host, is put in DIR)
// and `cp ID:PATH DIR` (PATH is put in the host's DIR); the archive out of a sandbox is
// checked as the daemon checks one coming in (daemon/files/tar_check.h) before the host's
// tar extracts it. Returns 0; throws Error.
int sandbox_copy(const std::string& socket, const std::string& src, const std::string& dst);

}  // namespace nucleus::frontend
