#pragma once

#include <string>
#include <vector>

#include "config/yaml_loader.h"

// A stack: a YAML file's `services:` (docs/yaml-reference.md), each a detached container
// whose id is its name, started in the order depends_on makes (a dependency `started` is
// running, `healthy` has passed its health check) and stopped in the reverse order.
namespace nucleus::frontend {

// The services to act on, dependencies first: `wanted` (all when empty) and what they
// depend on. Throws Error for an unknown service, a dependency on an unknown one, a cycle,
// or `healthy` on a service without a health check.
std::vector<std::string> stack_order(const WorkloadFile& file, const std::vector<std::string>& wanted);

// `up`: every service started (an unchanged running one left alone, a changed one
// replaced); `down`: stopped and removed, dependents first.
int stack_up(const std::string& root, const std::string& path, const std::vector<std::string>& wanted);
int stack_down(const std::string& root, const std::string& path, const std::vector<std::string>& wanted);

}  // namespace nucleus::frontend
