#pragma once

#include <map>
#include <string>
#include <string_view>

// The files routes move tar streams; the archive a client sends is extracted by tar inside
// the sandbox, where the container is the boundary. Before that, nucleusd reads every
// header itself and refuses (ApiError 400, code path_traversal or bad_archive) an archive
// with a member that is absolute or climbs with "..", a symlink or hard link whose target
// is absolute or leaves the extraction directory, a device or fifo, a header whose
// checksum is wrong, or trailing garbage; GNU long names and pax paths are checked the
// same way. Pure, unit-tested (tests/unit/daemon/tar_check_test.cc).
namespace nucleus::daemon {

struct TarSummary {
  size_t members = 0;
  size_t bytes = 0;  // of file contents
};

TarSummary check_tar(std::string_view archive);

// Whether `target`, a link's target as written in a member at `member` (both relative to
// the extraction directory), stays inside it.
bool link_stays_inside(const std::string& member, const std::string& target);

// A minimal ustar archive of regular files (path -> content), for `files` at create.
std::string make_tar(const std::map<std::string, std::string>& files);

}  // namespace nucleus::daemon
