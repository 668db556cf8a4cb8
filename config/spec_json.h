#pragma once

#include <string>

#include "config/container_spec.h"

// THE container spec as nucleus's own JSON, kept in each container's record (spec.json):
// what `create` resolved, read back by the verbs that come after it (exec, start's hooks,
// delete). It is nucleus's format, written and read by the same binary: not a config.json.
namespace nucleus {

std::string spec_to_json(const ContainerSpec& spec);
// Throws Error naming the file when it is not what spec_to_json writes.
ContainerSpec spec_from_json(const std::string& text, const std::string& what);

// <record_dir>/spec.json (0600, written atomically), and back. Throw Error.
void write_spec_file(const std::string& record_dir, const ContainerSpec& spec);
ContainerSpec read_spec_file(const std::string& record_dir);

}  // namespace nucleus
