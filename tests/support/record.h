#pragma once

#include <unistd.h>

#include <string>

#include "core/container/container_record.h"

namespace nucleus::test {

// A native container's record, owned by this process: what the record tests start from.
inline ContainerRecord record(const std::string& name) {
  return ContainerRecord{.name = name, .backend = "native", .nucleus_pid = ::getpid()};
}

}  // namespace nucleus::test
