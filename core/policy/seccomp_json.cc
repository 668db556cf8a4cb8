#include "core/policy/seccomp_json.h"

#include <sys/utsname.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "core/sys/error.h"
#include "core/sys/sys.h"

#include <spdlog/spdlog.h>

namespace nucleus::seccomp {
namespace {

using nlohmann::json;

struct Ctx {
  std::string name;
  // A file of the user's (--seccomp FILE): an unknown key is a typo, named. A config.json's
  // linux.seccomp: ignored, as the runtime-spec requires of unknown properties.
  bool strict = true;
  std::string arch;    // docker's spelling of the native architecture
  int kernel[2] = {0, 0};
};

[[noreturn]] void fail(const Ctx& ctx, const std::string& where, const std::string& what) {
  throw Error("seccomp profile " + ctx.name, where + ": " + what);
}

void only_keys(const Ctx& ctx, const json& obj, const std::string& where, std::set<std::string> allowed) {
  if (!obj.is_object()) fail(ctx, where, "expected an object");
  for (const auto& [key, value] : obj.items()) {
    if (allowed.count(key)) continue;
    if (ctx.strict) fail(ctx, where.empty() ? key : where + "." + key, "unknown key");
    spdlog::debug("seccomp profile {}: {}: unknown key, ignored", ctx.name, where.empty() ? key : where + "." + key);
  }
}

const json* get(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string text(const Ctx& ctx, const json& v, const std::string& where) {
  if (!v.is_string()) fail(ctx, where, "expected a string");
  return v.get<std::string>();
}

uint64_t number(const Ctx& ctx, const json& v, const std::string& where) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    fail(ctx, where, "expected a non-negative integer");
  }
  return v.get<uint64_t>();
}

Action parse_action(const Ctx& ctx, const std::string& name, const std::string& where) {
  if (name == "SCMP_ACT_ALLOW") return Action::kAllow;
  if (name == "SCMP_ACT_ERRNO") return Action::kErrno;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return Action::kKillThread;
  if (name == "SCMP_ACT_KILL_PROCESS") return Action::kKillProcess;
  if (name == "SCMP_ACT_TRAP") return Action::kTrap;
  if (name == "SCMP_ACT_LOG") return Action::kLog;
  fail(ctx, where, "unsupported action '" + name + "'");
}

Op parse_op(const Ctx& ctx, const std::string& name, const std::string& where) {
  static const std::pair<const char*, Op> kOps[] = {
      {"SCMP_CMP_EQ", Op::kEq}, {"SCMP_CMP_NE", Op::kNe}, {"SCMP_CMP_LT", Op::kLt},
      {"SCMP_CMP_LE", Op::kLe}, {"SCMP_CMP_GT", Op::kGt}, {"SCMP_CMP_GE", Op::kGe},
      {"SCMP_CMP_MASKED_EQ", Op::kMaskedEq},
  };
  for (const auto& [n, op] : kOps) {
    if (name == n) return op;
  }
  fail(ctx, where, "unknown operator '" + name + "'");
}

CapSet parse_caps(const Ctx& ctx, const json& list, const std::string& where) {
  if (!list.is_array()) fail(ctx, where, "expected a list of capabilities");
  CapSet set = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string name = text(ctx, list[i], where + "[" + std::to_string(i) + "]");
    auto cap = capability_from_name(name);
    if (!cap) fail(ctx, where + "[" + std::to_string(i) + "]", "unknown capability '" + name + "'");
    set |= CapSet{1} << *cap;
  }
  return set;
}

bool kernel_at_least(const Ctx& ctx, const std::string& version) {
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) < 1) return false;
  return ctx.kernel[0] > major || (ctx.kernel[0] == major && ctx.kernel[1] >= minor);
}

// Applies includes/excludes; returns false when the rule is not for this host.
bool applies(const Ctx& ctx, const json& entry, const std::string& where, Rule& rule) {
  for (const char* which : {"includes", "excludes"}) {
    const json* cond = get(entry, which);
    if (!cond) continue;
    std::string w = where + "." + which;
    only_keys(ctx, *cond, w, {"caps", "arches", "minKernel"});
    bool include = std::string(which) == "includes";
    if (const json* caps = get(*cond, "caps")) {
      (include ? rule.requires_caps : rule.excludes_caps) |= parse_caps(ctx, *caps, w + ".caps");
    }
    if (const json* arches = get(*cond, "arches")) {
      if (!arches->is_array()) fail(ctx, w + ".arches", "expected a list");
      bool listed = false;
      for (const json& a : *arches) listed |= a.is_string() && a.get<std::string>() == ctx.arch;
      if (listed != include) return false;
    }
    if (const json* min = get(*cond, "minKernel")) {
      bool new_enough = kernel_at_least(ctx, text(ctx, *min, w + ".minKernel"));
      if (new_enough != include) return false;
    }
  }
  return true;
}

Rule parse_rule(const Ctx& ctx, const json& entry, const std::string& where) {
  only_keys(ctx, entry, where, {"names", "name", "action", "errnoRet", "args", "includes", "excludes", "comment"});
  Rule rule;
  if (const json* names = get(entry, "names")) {
    if (!names->is_array()) fail(ctx, where + ".names", "expected a list");
    for (size_t i = 0; i < names->size(); ++i) {
      rule.names.push_back(text(ctx, (*names)[i], where + ".names[" + std::to_string(i) + "]"));
    }
  }
  if (const json* name = get(entry, "name")) rule.names.push_back(text(ctx, *name, where + ".name"));
  if (rule.names.empty()) fail(ctx, where, "names no syscall");
  const json* action = get(entry, "action");
  if (!action) fail(ctx, where + ".action", "missing");
  rule.action = parse_action(ctx, text(ctx, *action, where + ".action"), where + ".action");
  if (const json* err = get(entry, "errnoRet")) rule.errno_ret = static_cast<int>(number(ctx, *err, where + ".errnoRet"));
  if (const json* args = get(entry, "args")) {
    if (!args->is_array()) fail(ctx, where + ".args", "expected a list");
    for (size_t i = 0; i < args->size(); ++i) {
      std::string w = where + ".args[" + std::to_string(i) + "]";
      const json& a = (*args)[i];
      only_keys(ctx, a, w, {"index", "value", "valueTwo", "op"});
      Arg arg;
      arg.index = static_cast<unsigned>(number(ctx, a.value("index", json(0)), w + ".index"));
      if (arg.index > 5) fail(ctx, w + ".index", "must be 0 to 5");
      arg.value = number(ctx, a.value("value", json(0)), w + ".value");
      arg.value_two = number(ctx, a.value("valueTwo", json(0)), w + ".valueTwo");
      const json* op = get(a, "op");
      if (!op) fail(ctx, w + ".op", "missing");
      arg.op = parse_op(ctx, text(ctx, *op, w + ".op"), w + ".op");
      rule.args.push_back(arg);
    }
  }
  if (const json* comment = get(entry, "comment")) rule.comment = text(ctx, *comment, where + ".comment");
  return rule;
}

}  // namespace

Profile parse_json_profile(std::string_view text_in, const std::string& name, bool strict) {
  Ctx ctx;
  ctx.name = name;
  ctx.strict = strict;
#if defined(__x86_64__)
  ctx.arch = "amd64";
#elif defined(__aarch64__)
  ctx.arch = "arm64";
#else
  ctx.arch = "unknown";
#endif
  utsname u;
  if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &ctx.kernel[0], &ctx.kernel[1]);

  json doc;
  try {
    doc = json::parse(text_in);
  } catch (const json::parse_error& e) {
    throw Error("seccomp profile " + name, std::string("not valid JSON: ") + e.what());
  }
  only_keys(ctx, doc, "", {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
                           "comment", "listenerPath", "listenerMetadata"});
  if (get(doc, "listenerPath") || get(doc, "listenerMetadata")) {
    fail(ctx, "listenerPath", "seccomp notify listeners are not supported");
  }
  if (const json* flags = get(doc, "flags")) {
    if (!flags->is_array()) fail(ctx, "flags", "expected a list");
    for (const json& f : *flags) {
      std::string flag = text(ctx, f, "flags");
      // nucleus loads filters while single-threaded: TSYNC changes nothing.
      if (flag != "SECCOMP_FILTER_FLAG_TSYNC") fail(ctx, "flags", "unsupported flag '" + flag + "'");
    }
  }
  Profile profile;
  profile.enosys_for_newer = false;  // a user's profile says for itself what the rest gets
  const json* def = get(doc, "defaultAction");
  if (!def) fail(ctx, "defaultAction", "missing");
  profile.default_action = parse_action(ctx, text(ctx, *def, "defaultAction"), "defaultAction");
  if (const json* err = get(doc, "defaultErrnoRet")) {
    profile.default_errno = static_cast<int>(number(ctx, *err, "defaultErrnoRet"));
  }
  if (const json* syscalls = get(doc, "syscalls")) {
    if (!syscalls->is_array()) fail(ctx, "syscalls", "expected a list");
    for (size_t i = 0; i < syscalls->size(); ++i) {
      std::string where = "syscalls[" + std::to_string(i) + "]";
      Rule rule = parse_rule(ctx, (*syscalls)[i], where);
      if (applies(ctx, (*syscalls)[i], where, rule)) profile.rules.push_back(std::move(rule));
    }
  }
  return profile;
}


nlohmann::json to_oci(const Profile& resolved) {
  static const char* kActions[] = {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_THREAD",
                                   "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_LOG",
                                   "SCMP_ACT_TRACE"};
  static const char* kOps[] = {"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
                               "SCMP_CMP_GT", "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ"};
  json out;
  out["defaultAction"] = kActions[static_cast<int>(resolved.default_action)];
  out["defaultErrnoRet"] = resolved.default_errno;
#if defined(__x86_64__)
  out["architectures"] = json::array({"SCMP_ARCH_X86_64"});
#elif defined(__aarch64__)
  out["architectures"] = json::array({"SCMP_ARCH_AARCH64"});
#endif
  json syscalls = json::array();
  for (const Rule& r : resolved.rules) {
    json entry;
    entry["names"] = r.names;
    entry["action"] = kActions[static_cast<int>(r.action)];
    if (r.action == Action::kErrno) entry["errnoRet"] = r.errno_ret;
    if (!r.args.empty()) {
      json args = json::array();
      for (const Arg& a : r.args) {
        args.push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", kOps[static_cast<int>(a.op)]}});
      }
      entry["args"] = args;
    }
    syscalls.push_back(entry);
  }
  out["syscalls"] = syscalls;
  return out;
}

Profile load_json_profile(const std::string& path) {
  return parse_json_profile(sys::read_file(path, 1u << 20, "read seccomp profile " + path), path);
}

}  // namespace nucleus::seccomp
