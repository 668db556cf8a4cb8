#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/container/container_record.h"

// The checks a record read back passes before nucleus acts on it (issue 13).
namespace nucleus {

// What nucleus reads back from a record is checked against what it would have written
// before it acts on it (issue 13): a record naming another cgroup is refused, never obeyed.
// Why the record read from <root>/<id> is not one nucleus writes, or nullopt: its name, its
// backend and status words, and its cgroup directories, each strictly below a mounted
// hierarchy, without '.', '..' or '//', not holding nucleus's own cgroup, and named as
// nucleus names them (nucleus-<its nucleus pid>-<6 hex>, nucleus-oci-<id>, or the config's
// cgroupsPath). `mounts`: the hierarchies' mount points; `own`: this process's cgroup
// directories in them.
std::optional<std::string> record_problem(const ContainerRecord& record, const std::string& id,
                                          const std::vector<std::string>& mounts, const std::vector<std::string>& own);
// When the record directory was made (its birth time), in the unit of /proc/PID/stat's
// start time (clock ticks since boot); nullopt where the filesystem keeps no birth time.
std::optional<uint64_t> record_birth_ticks(const std::string& dir);
// Every process of a container starts after its record (claimed before anything of it
// runs): the first process in dirs that started earlier, in words, or nullopt. A record
// pointed at someone else's cgroup is caught here whatever else was rewritten with it.
std::optional<std::string> older_process_in(const std::vector<std::string>& dirs, uint64_t birth_ticks);


// All of the above for the record read from `dir` (its id `id`); throws Error naming the
// problem, so that nothing is done.
void check_record(const ContainerRecord& r, const std::string& dir, const std::string& id);

}  // namespace nucleus
