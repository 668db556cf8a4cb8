#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/awaitable.hpp>
#include <string>

#include "daemon/api/requests.h"
#include "daemon/sandbox/manager.h"

// Files in and out of a sandbox as tar streams. The archive a client sends is checked
// header by header (tar_check.h), then extracted by tar *inside* the sandbox (`nucleus exec
// ID -- tar -x`), as the sandbox's own user, through the sandbox's own root: no path of
// the host is ever opened for it, so a symlink in the sandbox can only lead elsewhere in
// the sandbox. Reading out is `tar -c` inside, its stdout the answer. The same on both
// backends (a gVisor sandbox's files live in its Sentry, not on the host).
namespace nucleus::daemon {

// Extracts `archive` at `dir` (made if missing). ApiError 400 for a refused archive.
boost::asio::awaitable<void> put_archive(SandboxManager& m, const Sandbox& s, const std::string& dir, std::string archive);
// The tar of `path` (a file or a directory, named by its last component; `contents`: a
// directory's contents, named from "."). 404 if missing.
boost::asio::awaitable<std::string> get_archive(SandboxManager& m, const Sandbox& s, const std::string& path,
                                                bool contents = false);

// The workspace's copy in: the host directory, without what never belongs in a sandbox
// (kWorkspaceExcludes) and the request's patterns, at its target.
boost::asio::awaitable<void> copy_workspace_in(SandboxManager& m, const Sandbox& s, const WorkspaceRequest& w);
// And back out (copy_out): the target's contents over the host directory.
boost::asio::awaitable<void> copy_workspace_out(SandboxManager& m, const Sandbox& s, const WorkspaceRequest& w);

// A workspace path is a directory under one of the daemon's --workspace-root; ApiError 403.
void check_workspace_path(const DaemonConfig& config, const std::string& path);

}  // namespace nucleus::daemon
