#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/unique_fd.h"

// A named container's record while it runs (`nucleus run --name NAME`): the directory
// /run/nucleus/<NAME>/ (0700) holding `lock`, which the nucleus running it holds (flock)
// for its whole life, and `state.json`, which `nucleus stats` reads. A record whose lock
// nobody holds belongs to a nucleus that died: whoever next claims the name collects it.
// Names are unique among running containers because the directory appears by rename(2),
// which refuses to replace a live one.
// Names are checked against the user-facing rule in config (check_container_name); here only
// that a name cannot leave the state root.
namespace nucleus {

inline constexpr const char* kStateRoot = "/run/nucleus";

struct ContainerRecord {
  std::string name;
  std::string backend;
  std::string status = "creating";  // creating | running | stopped
  pid_t nucleus_pid = 0;
  std::vector<std::string> cgroup;   // the container's cgroup directories
  std::optional<int> exit_code;
  bool oom_killed = false;
};

std::string to_json(const ContainerRecord& record);
ContainerRecord record_from_json(const std::string& text);  // throws Error

class NamedContainer {
 public:
  // Claims the name under `root`; throws Error when a running container holds it.
  NamedContainer(const std::string& root, ContainerRecord record);
  ~NamedContainer();  // removes the record
  NamedContainer(const NamedContainer&) = delete;
  NamedContainer& operator=(const NamedContainer&) = delete;

  const std::string& path() const { return path_; }
  ContainerRecord& record() { return record_; }
  void save();  // writes state.json atomically (temp file + rename)
  // Records how the workload ended (status "stopped", its exit code, an OOM kill); best
  // effort: the record goes with the destructor anyway.
  void finish(int exit_code, bool oom_killed) noexcept;

 private:
  std::string path_;
  ContainerRecord record_;
  UniqueFd lock_;
};

// The record of the running container NAME; throws Error when there is none.
ContainerRecord read_running_container(const std::string& root, const std::string& name);

// Removes a record directory if nobody holds its lock (the cleanup keeper's last step).
void remove_stale_record(const std::string& dir);

}  // namespace nucleus
