#pragma once

#include <memory>

#include "backends/backend.h"
#include "config/workload_spec.h"

namespace nucleus::frontend {

// The backend the spec asks for: its explicit backend, else its isolation level's. Refuses
// combinations that would weaken isolation or promise a layer the backend cannot apply;
// never falls back from gvisor to native.
std::unique_ptr<Backend> select_backend(const WorkloadSpec& spec);

}  // namespace nucleus::frontend
