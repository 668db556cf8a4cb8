#pragma once

#include <optional>
#include <string>

#include "core/sys/scoped.h"
#include "core/sys/unique_fd.h"

// Each gVisor container's private state on the host: /run/nucleus-gvisor-XXXXXX (0700),
// holding the bundle, runsc's --root, runsc's log, the container id and a lock file that
// nucleus holds (flock) while it runs. A directory whose lock nobody holds was left by a
// nucleus that died (SIGKILL): the next gVisor run deletes its runsc state and removes it.
namespace nucleus::gvisor {

class StateDir {
 public:
  StateDir();  // creates the directory, the id and the held lock
  const std::string& path() const { return dir_.path(); }
  const std::string& id() const { return id_; }
  std::string bundle() const { return path() + "/bundle"; }
  std::string runsc_root() const { return path() + "/runsc"; }

 private:
  TempDir dir_;
  std::string id_;
  UniqueFd lock_;
};

// Removes state directories nobody holds, after `runsc delete --force` of their container.
void collect_stale_state(const std::string& runsc);
// The same for one directory (the cleanup keeper's, after its nucleus died).
void collect_state_dir(const std::string& runsc, const std::string& path);

}  // namespace nucleus::gvisor
