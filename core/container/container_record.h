#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"

// A container's record under a state root (/run/nucleus, or the OCI verbs' --root): the
// directory <root>/<id>/ (0700) holding `lock` and `state.json`.
//  - `nucleus run --name`: the running nucleus holds the lock for its whole life; a record
//    whose lock nobody holds belongs to a nucleus that died, and whoever next claims the
//    name collects it. The record goes when the run ends.
//  - OCI containers (`nucleus create`): the record is `persistent`: it outlives the nucleus
//    that made it and goes only with `nucleus delete`; the lock serialises the verbs.
// Ids are unique because a record appears by rename(2) of a complete directory, which
// refuses to replace an existing one: of two concurrent creates exactly one wins.
// Ids are checked against the user-facing rule by the caller; here only that an id cannot
// leave the state root.
namespace nucleus {

inline constexpr const char* kStateRoot = "/run/nucleus";

struct ContainerRecord {
  std::string name;
  std::string backend;
  std::string status = "creating";  // creating | created | running | stopped
  pid_t nucleus_pid = 0;
  std::vector<std::string> cgroup;   // the container's cgroup directories
  std::optional<int> exit_code;
  bool oom_killed = false;

  // OCI containers.
  bool persistent = false;
  pid_t pid = 0;                 // the container's init, as the host sees it
  uint64_t pid_start_time = 0;   // its start time (/proc/PID/stat field 22): no pid reuse
  std::string bundle;
  std::string created;           // RFC 3339
  std::map<std::string, std::string> annotations;
  std::string data;              // backend-specific (gVisor: its runsc root)
};

std::string to_json(const ContainerRecord& record);
// The OCI state of a container (runtime-spec "state"): what `nucleus state` prints and
// hooks read on stdin.
std::string oci_state_json(const ContainerRecord& record, const std::string& status, bool pretty = true);
ContainerRecord record_from_json(const std::string& text);  // throws Error

class NamedContainer {
 public:
  // Claims the id under `root`; throws Error when it is taken (a running `run`, or any OCI
  // container of that id).
  NamedContainer(const std::string& root, ContainerRecord record);
  ~NamedContainer();  // removes the record, unless kept
  NamedContainer(const NamedContainer&) = delete;
  NamedContainer& operator=(const NamedContainer&) = delete;

  const std::string& path() const { return path_; }
  ContainerRecord& record() { return record_; }
  void save();  // writes state.json atomically (temp file + rename)
  // Records how the workload ended (status "stopped", its exit code, an OOM kill); best
  // effort: the record goes with the destructor anyway.
  void finish(int exit_code, bool oom_killed) noexcept;
  // An OCI create succeeded: the record stays for the later verbs.
  void keep() { kept_ = true; }

 private:
  std::string path_;
  ContainerRecord record_;
  UniqueFd lock_;
  bool kept_ = false;
};

// An existing record with its lock held (blocking), for the verbs that change it.
class LockedContainer {
 public:
  // Throws Error(id, "no such container") when absent, and for a corrupted state.json
  // unless `tolerate_corruption` (delete --force), which then leaves record() default.
  LockedContainer(const std::string& root, const std::string& id, bool tolerate_corruption = false);
  const std::string& path() const { return path_; }
  ContainerRecord& record() { return record_; }
  bool corrupted() const { return corrupted_; }
  void save();
  void remove() noexcept;  // the whole directory

 private:
  std::string path_;
  ContainerRecord record_;
  UniqueFd lock_;
  bool corrupted_ = false;
};

// The record of the running `run --name` container NAME; throws Error when there is none.
ContainerRecord read_running_container(const std::string& root, const std::string& name);

// An OCI container's record without taking its lock (state, list, exec). Throws Error.
ContainerRecord read_container(const std::string& root, const std::string& id);

// Ids of every record under root (hidden staging entries left out).
std::vector<std::string> list_records(const std::string& root);

// The current time as RFC 3339 with nanoseconds, UTC (an OCI container's "created").
std::string rfc3339_now();

// Removes a record directory if nobody holds its lock (the cleanup keeper's last step).
void remove_stale_record(const std::string& dir);

}  // namespace nucleus
