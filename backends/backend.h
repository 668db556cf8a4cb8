#pragma once

#include <string_view>

#include "config/workload_spec.h"

// The interface both backends implement. It lives beside them rather than in core/ because
// it speaks WorkloadSpec (config/), and core/ depends on nothing of ours
// (docs/architecture.md, "Dependencies").
namespace nucleus {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // Runs the workload in the foreground and returns nucleus's exit code: the workload's
  // status, 128+N when signal N killed it, 124 on --timeout. Throws Error when nucleus
  // itself fails (exit 125, or 126/127 when the command cannot be executed); whatever it
  // created is gone by the time the exception leaves.
  virtual int run(const WorkloadSpec& spec) = 0;
};

}  // namespace nucleus
