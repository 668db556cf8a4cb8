#include "core/policy/identity.h"

#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "core/sys/error.h"

namespace nucleus {
namespace {

constexpr uint32_t kMaxId = 4294967294u;  // (uid_t)-1 means "unchanged" to the kernel

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    bool ok = c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

IdRef parse_id(std::string_view text, const std::string& what, const char* role) {
  IdRef ref;
  if (text.empty()) throw Error(what, std::string("empty ") + role);
  if (text[0] >= '0' && text[0] <= '9') {
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value > kMaxId) {
      throw Error(what, std::string("invalid ") + role + " '" + std::string(text) +
                            "': expected a number from 0 to 4294967294 or a name");
    }
    ref.number = static_cast<uint32_t>(value);
    return ref;
  }
  if (!is_name(text)) {
    throw Error(what, std::string("invalid ") + role + " '" + std::string(text) +
                          "': expected a number or a name like [a-z_][a-z0-9_-]*");
  }
  ref.name = std::string(text);
  return ref;
}

// Splits a colon-separated database line into at most N fields.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t colon = line.find(':', start);
    out.push_back(line.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return out;
}

template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line[0] != '#') {
      if (fn(fields(line))) return;
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::optional<uint32_t> to_id(std::string_view s) {
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

struct PasswdEntry {
  uint32_t uid;
  uint32_t gid;
  std::string home;
};

std::optional<PasswdEntry> find_user(std::string_view passwd, const IdRef& ref) {
  std::optional<PasswdEntry> found;
  for_each_line(passwd, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 7) return false;
    auto uid = to_id(f[2]);
    auto gid = to_id(f[3]);
    if (!uid || !gid) return false;
    bool match = ref.number ? *uid == *ref.number : f[0] == ref.name;
    if (match) found = PasswdEntry{*uid, *gid, std::string(f[5])};
    return match;
  });
  return found;
}

gid_t resolve_group(std::string_view group, const IdRef& ref) {
  if (ref.number) return *ref.number;
  std::optional<uint32_t> gid;
  for_each_line(group, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 3 || f[0] != ref.name) return false;
    gid = to_id(f[2]);
    return gid.has_value();
  });
  if (!gid) throw Error("group '" + ref.name + "'", "not found in the container's /etc/group");
  return *gid;
}

}  // namespace

std::string IdRef::to_string() const { return number ? std::to_string(*number) : name; }

UserSpec parse_user_spec(std::string_view text, const std::string& what) {
  UserSpec spec;
  size_t colon = text.find(':');
  spec.user = parse_id(text.substr(0, colon), what, "user");
  if (colon != std::string_view::npos) {
    spec.group = parse_id(text.substr(colon + 1), what, "group");
  }
  return spec;
}

IdRef parse_group_ref(std::string_view text, const std::string& what) {
  return parse_id(text, what, "group");
}

Identity resolve_identity(const std::optional<UserSpec>& user, const std::vector<IdRef>& groups,
                          std::string_view passwd, std::string_view group) {
  Identity id;
  IdRef who = user ? user->user : IdRef{0u, {}};
  std::optional<PasswdEntry> entry = find_user(passwd, who);
  if (!who.number && !entry) {
    throw Error("user '" + who.name + "'", "not found in the container's /etc/passwd");
  }
  id.uid = who.number ? *who.number : entry->uid;
  if (user && user->group) {
    id.gid = resolve_group(group, *user->group);
  } else {
    id.gid = entry ? entry->gid : 0;
  }
  if (entry && !entry->home.empty()) id.home = entry->home;
  for (const IdRef& g : groups) id.groups.push_back(resolve_group(group, g));
  return id;
}

int apply_identity(const ChildIdentity& id, IdentityStep* failed) noexcept {
  if (id.may_setgroups && ::setgroups(id.ngroups, id.groups) != 0) {
    *failed = IdentityStep::kSetgroups;
    return errno;
  }
  if (::setresgid(id.gid, id.gid, id.gid) != 0) {
    *failed = IdentityStep::kSetgid;
    return errno;
  }
  if (::setresuid(id.uid, id.uid, id.uid) != 0) {
    *failed = IdentityStep::kSetuid;
    return errno;
  }
  *failed = IdentityStep::kNone;
  return 0;
}

}  // namespace nucleus
