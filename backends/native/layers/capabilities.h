#pragma once

#include "core/policy/capabilities.h"
#include "core/policy/identity.h"

// The workload's capabilities and identity, applied in the child in the one order that
// works (minijail, runc): bounding set first (needs CAP_SETPCAP, still held), then
// KEEPCAPS and the uid change, then the permitted/effective/inheritable sets, then ambient.
namespace nucleus::native {

struct CapabilityPlan {
  CapSet bounding = 0;
  CapSet permitted = 0;
  CapSet effective = 0;
  CapSet inheritable = 0;
  CapSet ambient = 0;
  int last_cap = 40;   // /proc/sys/kernel/cap_last_cap

  // nucleus run: one set for all; a non-root workload carries it across exec in ambient
  // (and so in inheritable, which ambient requires). An OCI config gives each set itself.
  static CapabilityPlan uniform(CapSet keep, bool ambient, int last_cap) {
    return {keep, keep, keep, ambient ? keep : 0, ambient ? keep : 0, last_cap};
  }
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
