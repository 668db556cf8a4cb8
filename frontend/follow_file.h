#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/sys/unique_fd.h"

// What `logs -f` and `events --follow` share: reading a file that is appended to and
// rotated (renamed away, a new one made at its path) line by line, across rotations.
namespace nucleus::frontend {

using LineHandler = std::function<void(std::string_view)>;

// Reads what fd has past its offset; each whole line (without its newline) to `each`, the
// rest of a line kept in `partial` for the next read.
void read_new_lines(int fd, std::string& partial, const LineHandler& each);

struct FollowHooks {
  // Asked before each round: false ends the follow once what is there has been read.
  std::function<bool()> go_on = [] { return true; };
  // After each round that reached the end (the output flushed, for a reader piping it).
  std::function<void()> caught_up = [] {};
};

// Follows `path` from fd (the file open at its current offset, or none yet: then from the
// start of the file once it appears): new lines as they come; when the file is renamed away
// (or truncated), the rest of the old one, then the new one from its start.
void follow_lines(const std::string& path, UniqueFd fd, std::string partial, const LineHandler& each,
                  const FollowHooks& hooks = {});

}  // namespace nucleus::frontend
