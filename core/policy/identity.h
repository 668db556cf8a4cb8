#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Workload identity, shared by both backends: the parent parses and resolves it (names
// are looked up in the *container's* passwd and group files, never through the host's
// NSS), the child applies it with three syscalls and no allocation.
namespace nucleus {

// One id as the user wrote it: a number, or a name to resolve.
struct IdRef {
  std::optional<uint32_t> number;
  std::string name;

  std::string to_string() const;
};

struct UserSpec {
  IdRef user;
  std::optional<IdRef> group;
};

// Parses "UID[:GID]" where each part is a number (0..4294967294) or a POSIX-style name
// ([a-z_][a-z0-9_-]*). Rejects "1000:", ":0", "abc:1x", "-1", whitespace and NUL.
// Throws Error(what, ...).
UserSpec parse_user_spec(std::string_view text, const std::string& what);
IdRef parse_group_ref(std::string_view text, const std::string& what);

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // exactly the supplementary groups asked for, nothing inherited
  std::string home = "/";     // from passwd when the user has an entry
};

// Resolves against the text of the container's /etc/passwd and /etc/group (either may be
// empty when the root has none). A name that is not found is an error; a number is taken
// as is, with its primary group and home from passwd when it has an entry (else gid 0).
Identity resolve_identity(const std::optional<UserSpec>& user, const std::vector<IdRef>& groups,
                          std::string_view passwd, std::string_view group);

// ---- child side ----------------------------------------------------------------------
struct ChildIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  size_t ngroups = 0;
  bool may_setgroups = true;  // false in a user namespace whose setgroups is "deny"
};

enum class IdentityStep : uint8_t { kNone, kSetgroups, kSetgid, kSetuid };

// setgroups, setresgid, setresuid, in that order (after setuid the others would be
// refused). Returns 0, or the errno with *failed naming the call. Async-signal-safe.
int apply_identity(const ChildIdentity& id, IdentityStep* failed) noexcept;

}  // namespace nucleus
