#pragma once

#include "core/capabilities.h"
#include "core/identity.h"

// The workload's capabilities and identity, applied in the child in the one order that
// works (minijail, runc): bounding set first (needs CAP_SETPCAP, still held), then
// KEEPCAPS and the uid change, then the permitted/effective/inheritable sets, then ambient.
namespace nucleus::native {

struct CapabilityPlan {
  CapSet keep = 0;     // what the workload ends up with
  int last_cap = 40;   // /proc/sys/kernel/cap_last_cap
  bool ambient = false;  // non-root with capabilities: carried across exec in ambient
};

enum class CapStep : uint8_t { kNone, kBounding, kKeepCaps, kIdentity, kCapset, kAmbient };

// Returns 0, or an errno with *failed (and *identity_failed for kIdentity) set.
int apply_capabilities_and_identity(const CapabilityPlan& plan, const ChildIdentity& id,
                                    CapStep* failed, IdentityStep* identity_failed) noexcept;

// PID 1 after the fork: keeps only CAP_KILL (to pass signals to a workload of another uid).
int drop_supervisor_capabilities(int last_cap) noexcept;

// Reads /proc/sys/kernel/cap_last_cap (parent).
int read_last_cap();

}  // namespace nucleus::native
