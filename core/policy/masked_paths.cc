#include "core/policy/masked_paths.h"

namespace nucleus {
namespace {

constexpr std::string_view kMasked[] = {
    "/proc/acpi",         // ACPI tables and events
    "/proc/asound",       // sound card state
    "/proc/interrupts",   // per-CPU interrupt counts: a side channel (GHSA-6fw5-f8r9-fgfm)
    "/proc/kcore",        // physical memory
    "/proc/keys",         // the keyring is not namespaced
    "/proc/latency_stats",
    "/proc/sched_debug",  // every task on the host, by name
    "/proc/scsi",         // device rescans
    "/proc/timer_list",   // host timers and their owners
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",  // RAPL energy counters: a side channel (GHSA-jq35-85cj-fj4p)
    "/sys/firmware",      // ACPI, EFI variables, DMI
    "/sys/fs/cgroup",     // the host's hierarchy, when /sys is the host's (--network host)
};

constexpr std::string_view kReadOnly[] = {
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",           // core_pattern, modprobe, every sysctl
    "/proc/sysrq-trigger",
};

}  // namespace

std::span<const std::string_view> masked_paths() { return kMasked; }
std::span<const std::string_view> read_only_paths() { return kReadOnly; }

}  // namespace nucleus
