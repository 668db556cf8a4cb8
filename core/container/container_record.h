#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/sys/rfc3339.h"  // rfc3339_now(): a record's "created"
#include "core/sys/unique_fd.h"

// One record per container under a state root (/run/nucleus by default, the OCI verbs'
// --root): the directory <root>/<id>/ (0711: nobody else lists it; its files are 0600 but
// for what the container itself is given by name), for every container whoever made it (`run`,
// `create`), holding:
//  - its flock (of the directory itself): taken by whoever changes the record (the verbs,
//    briefly);
//  - `owner`: held for its whole life by the process that holds a container (`run` in the
//    foreground): a record whose owner lock nobody holds belongs to a process that died,
//    and is stale. OCI containers (`create`) have no owner: they wait for `delete`;
//  - `state.json` (this file's ContainerRecord) and `spec.json` (config/spec_json.h);
//  - what the backend keeps: native `exec.fifo` until `start`, gVisor runsc's state.
// An id is claimed by mkdir(2): of two concurrent claims exactly one wins. The owner lock
// appears already held (made anonymous, locked, then linked in), and a record without one is
// taken for a record being made: no collector ever takes a live record. Ids are checked against the user-facing
// rule by the caller; here only that an id cannot leave the state root.
namespace nucleus {

inline constexpr const char* kStateRoot = "/run/nucleus";

// Where records go unless --root says otherwise: /run/nucleus for root; for anyone else
// $XDG_RUNTIME_DIR/nucleus (rootless runc's and podman's habit), or /tmp/nucleus-<uid>.
std::string default_state_root();

struct ContainerRecord {
  std::string name;
  std::string backend;
  std::string status = "creating";  // creating | created | running | stopped
  pid_t nucleus_pid = 0;             // the process that made it
  std::vector<std::string> cgroup;   // the container's cgroup directories
  std::optional<int> exit_code;
  bool oom_killed = false;

  bool persistent = false;       // an OCI container: no owner, it stays until `delete`
  pid_t pid = 0;                 // the container's init (gVisor: the sandbox), as the host sees it
  uint64_t pid_start_time = 0;   // its start time (/proc/PID/stat field 22): no pid reuse
  std::string bundle;
  std::string created;           // RFC 3339
  std::map<std::string, std::string> annotations;
  std::string data;              // backend-specific (gVisor: runsc's flags)
  std::string cgroups_path;      // a config's linux.cgroupsPath as written ("": nucleus named it)
};

std::string to_json(const ContainerRecord& record);
// The OCI state of a container (runtime-spec "state"): what `nucleus state` prints and
// hooks read on stdin.
std::string oci_state_json(const ContainerRecord& record, const std::string& status, bool pretty = true);
ContainerRecord record_from_json(const std::string& text);  // throws Error

// A container's record held by this process with its lock.
class LockedContainer {
 public:
  // Claims a new id: the record appears with its lock (and, unless persistent, its owner
  // lock) held. Throws Error when the id is taken by a live container.
  static LockedContainer claim(const std::string& root, ContainerRecord record);
  // A record to claim later (claim_now): nothing exists yet, and nothing is removed if it
  // never is. `run` claims once its child is cloned, so that the claim's few file-system
  // calls overlap the child's first steps (native_create.cc).
  static LockedContainer pending(const std::string& root, ContainerRecord record);
  void claim_now();
  // An existing record, its lock taken (blocking). Throws Error(id, "no such container")
  // when absent, and for a corrupted state.json unless `tolerate_corruption` (delete
  // --force), which then leaves record() default.
  LockedContainer(const std::string& root, const std::string& id, bool tolerate_corruption = false);
  LockedContainer(LockedContainer&&) noexcept = default;
  LockedContainer& operator=(LockedContainer&&) noexcept = default;
  ~LockedContainer();  // a claim that was never kept() is removed

  const std::string& path() const { return path_; }
  ContainerRecord& record() { return record_; }
  const ContainerRecord& record() const { return record_; }
  bool corrupted() const { return corrupted_; }
  // What a verb other than delete --force says of a corrupted record: why it is, and the
  // way out.
  [[noreturn]] void refuse_corrupted() const;
  void save();  // writes state.json atomically (temp file + rename)
  // The claim succeeded: the record stays (for the later verbs, or until remove()).
  void keep() { kept_ = true; }
  // Lets other verbs in while this process goes on holding the container (the owner lock
  // stays), and takes the lock back.
  void unlock() { lock_.reset(); }
  void relock();
  // The whole directory goes: renamed aside at once (so the id is free and `list` no longer
  // shows it), then removed.
  void remove() noexcept;
  // Renamed aside only (the id is free, `list` no longer shows it); returns where it went,
  // for someone to remove later ("" when it is gone already).
  std::string set_aside() noexcept;

 private:
  LockedContainer() = default;
  std::string root_;
  std::string path_;
  ContainerRecord record_;
  UniqueFd lock_;
  UniqueFd owner_;
  bool corrupted_ = false;
  std::string corruption_;  // why
  bool kept_ = true;
};

// A record without taking its lock (state, list, exec, stats). Throws Error.
ContainerRecord read_container(const std::string& root, const std::string& id);

// Whether a record's owner is gone: not persistent, and nobody holds its owner lock.
bool record_is_stale(const std::string& dir);

// Ids of every record under root (hidden staging entries left out).
std::vector<std::string> list_records(const std::string& root);

// Removes a record directory if its owner is gone (the cleanup keeper's last step).
void remove_stale_record(const std::string& dir);

// What a nucleus killed before its cleanup keeper existed leaves under root: a record of a
// container that never ran (no owner holds it, no runsc state in it) and records half
// removed (.gone-*), untouched for kAbandonedSeconds; both backends call it once their
// container is on its way. A live record is never taken: its owner lock is held, or it is
// younger than that (a record being made has no owner lock for a moment).
inline constexpr int kAbandonedSeconds = 60;
void collect_abandoned_records(const std::string& root) noexcept;

// A new container id: 12 hexadecimal digits (docker's short form).
std::string generate_container_id();

}  // namespace nucleus
