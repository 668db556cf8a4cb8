// nucleus's BPF writer against libseccomp's pair of programs, for the profiles nucleus uses
// and for profiles other tools write (podman's config.json, a Docker-style file): both are
// run by a classic-BPF interpreter over every syscall number of three ABIs and over the
// edges and random values of every argument a rule names, and must give the same verdict.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/policy/seccomp_bpf.h"
#include "core/policy/seccomp_compile.h"
#include "core/policy/seccomp_json.h"
#include "core/policy/seccomp_profile.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

using seccomp::Profile;

// The instructions libseccomp and the writer use, run as the kernel runs a filter.
uint32_t run(const std::vector<sock_filter>& prog, const seccomp_data& d) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  auto word = [&](uint32_t off) {
    uint32_t v = 0;
    if (off + 4 <= sizeof d) std::memcpy(&v, reinterpret_cast<const char*>(&d) + off, 4);
    return v;
  };
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& f = prog[pc];
    auto jump = [&](bool taken) { pc += taken ? f.jt : f.jf; };
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS: a = word(f.k); break;
      case BPF_LD | BPF_IMM: a = f.k; break;
      case BPF_LDX | BPF_IMM: x = f.k; break;
      case BPF_LD | BPF_MEM: a = mem[f.k % BPF_MEMWORDS]; break;
      case BPF_LDX | BPF_MEM: x = mem[f.k % BPF_MEMWORDS]; break;
      case BPF_ST: mem[f.k % BPF_MEMWORDS] = a; break;
      case BPF_STX: mem[f.k % BPF_MEMWORDS] = x; break;
      case BPF_ALU | BPF_AND | BPF_K: a &= f.k; break;
      case BPF_ALU | BPF_OR | BPF_K: a |= f.k; break;
      case BPF_MISC | BPF_TAX: x = a; break;
      case BPF_MISC | BPF_TXA: a = x; break;
      case BPF_JMP | BPF_JA: pc += f.k; break;
      case BPF_JMP | BPF_JEQ | BPF_K: jump(a == f.k); break;
      case BPF_JMP | BPF_JGT | BPF_K: jump(a > f.k); break;
      case BPF_JMP | BPF_JGE | BPF_K: jump(a >= f.k); break;
      case BPF_JMP | BPF_JSET | BPF_K: jump((a & f.k) != 0); break;
      case BPF_JMP | BPF_JEQ | BPF_X: jump(a == x); break;
      case BPF_JMP | BPF_JGT | BPF_X: jump(a > x); break;
      case BPF_JMP | BPF_JGE | BPF_X: jump(a >= x); break;
      case BPF_RET | BPF_K: return f.k;
      case BPF_RET | BPF_A: return a;
      default:
        ADD_FAILURE() << "an instruction this interpreter does not know: 0x" << std::hex << f.code;
        return 0xdead;
    }
  }
  ADD_FAILURE() << "the program ran off its end";
  return 0xdead;
}

// What the kernel checks of a program when it is loaded (seccomp_check_filter and
// bpf_check_classic): a length it takes, loads of seccomp_data's aligned words only, jumps
// that land inside, and a return at the end. Empty when the program passes.
std::string unloadable(const std::vector<sock_filter>& prog) {
  if (prog.empty() || prog.size() > BPF_MAXINSNS) return "length " + std::to_string(prog.size());
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& f = prog[pc];
    const std::string at = " at " + std::to_string(pc);
    if (f.code == (BPF_LD | BPF_W | BPF_ABS) && (f.k % 4 != 0 || f.k >= sizeof(seccomp_data))) return "load" + at;
    if (BPF_CLASS(f.code) == BPF_JMP) {
      size_t far = f.code == (BPF_JMP | BPF_JA) ? f.k : std::max(f.jt, f.jf);
      if (pc + 1 + far >= prog.size()) return "jump out" + at;
    }
  }
  if (BPF_CLASS(prog.back().code) != BPF_RET) return "no return at the end";
  return "";
}

// What the kernel answers with libseccomp's programs stacked (the second loaded last).
uint32_t run_pair(const SeccompPrograms& p, const seccomp_data& d) {
  uint32_t v = run(p.main, d);
  return p.deny.empty() ? v : seccomp::stricter(v, run(p.deny, d));
}

// Per argument index, the values worth trying: every constant a rule names, its neighbours,
// its other half, bits beside a mask, and the extremes.
std::map<unsigned, std::vector<uint64_t>> edges_of(const Profile& p, std::map<int, bool>& numbers_with_args) {
  std::map<unsigned, std::set<uint64_t>> values;
  for (const seccomp::Rule& r : p.rules) {
    if (r.args.empty()) continue;
    for (const std::string& name : r.names) {
      if (int nr = resolve_syscall(name); nr >= 0) numbers_with_args[nr] = true;
    }
    for (const seccomp::Arg& a : r.args) {
      std::set<uint64_t>& s = values[a.index];
      for (uint64_t v : {a.value, a.value_two}) {
        for (uint64_t w : std::initializer_list<uint64_t>{v, v + 1, v - 1, v ^ 1, v | (uint64_t{1} << 32),
                                                         v & 0xffffffffu, v << 32, ~v}) s.insert(w);
      }
      s.insert(a.value_two | ~a.value);  // a masked value with every other bit set
      s.insert(a.value & ~a.value_two);
    }
  }
  std::map<unsigned, std::vector<uint64_t>> out;
  for (unsigned i = 0; i < 6; ++i) {
    values[i].insert({0, 1, ~uint64_t{0}, 0xffffffffu, uint64_t{1} << 32});
    out[i].assign(values[i].begin(), values[i].end());
  }
  return out;
}

struct Difference {
  std::string where;
  uint32_t libseccomp, nucleus;
};

// What the sampling reached: the syscalls whose rules look at arguments, and how many of
// them it saw answered in more than one way (both sides of a condition).
struct Coverage {
  size_t with_args = 0, split = 0;
};

// Runs both over the whole space; returns the first few differences and what it covered.
std::vector<Difference> differences(const Profile& resolved, Coverage& coverage) {
  SeccompPrograms theirs = compile_with_libseccomp(resolved);
  std::optional<std::vector<sock_filter>> ours = compile_with_nucleus(resolved);
  if (!ours) return {{"the writer declined", 0, 0}};
  if (std::string why = unloadable(*ours); !why.empty()) return {{"the kernel would refuse it: " + why, 0, 0}};
  std::map<int, bool> numbers_with_args;
  std::map<unsigned, std::vector<uint64_t>> edges = edges_of(resolved, numbers_with_args);
  std::mt19937_64 random(42);
  std::vector<Difference> out;
  std::map<int, std::set<uint32_t>> verdicts;  // x86_64 numbers with argument rules
  auto compare = [&](const seccomp_data& d) {
    uint32_t a = run_pair(theirs, d), b = run(*ours, d);
    if (d.arch == AUDIT_ARCH_X86_64 && numbers_with_args.count(d.nr)) verdicts[d.nr].insert(a);
    if (a != b && out.size() < 5) {
      std::ostringstream where;
      where << "arch 0x" << std::hex << d.arch << " nr 0x" << d.nr << " args";
      for (uint64_t v : d.args) where << " 0x" << v;
      out.push_back({where.str(), a, b});
    }
  };
  std::vector<uint32_t> numbers;
  for (uint32_t nr = 0; nr < 1100; ++nr) numbers.push_back(nr);
  for (uint32_t nr = 0; nr < 600; nr += 7) numbers.push_back(0x40000000u | nr);
  for (uint32_t nr : {0x3fffffffu, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu}) numbers.push_back(nr);
  for (uint32_t arch : std::initializer_list<uint32_t>{AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64}) {
    for (uint32_t nr : numbers) {
      seccomp_data d{};
      d.arch = arch;
      d.nr = static_cast<int>(nr);
      int samples = arch == AUDIT_ARCH_X86_64 && numbers_with_args.count(static_cast<int>(nr)) ? 3000 : 2;
      for (int i = 0; i < samples; ++i) {
        for (unsigned k = 0; k < 6; ++k) {
          const std::vector<uint64_t>& pool = edges[k];
          d.args[k] = random() % 8 == 0 ? random() : pool[random() % pool.size()];
        }
        compare(d);
      }
    }
  }
  for (const auto& [nr, seen] : verdicts) {
    ++coverage.with_args;
    coverage.split += seen.size() > 1;
  }
  return out;
}

// Agreement means little where the samples never crossed an argument's condition: most
// syscalls whose rules look at arguments must have been seen answered two ways.
void expect_covered(const Coverage& coverage, const std::string& name) {
  EXPECT_GE(coverage.split * 2, coverage.with_args) << name << ": " << coverage.split << " of " << coverage.with_args
                                                    << " syscalls with argument rules seen answered two ways";
}

// Returns what the samples covered; expect_covered() unless told not to (a random profile
// may make both sides of a condition answer alike, or a condition unsatisfiable).
Coverage expect_same(const Profile& resolved, const std::string& name, bool check_coverage = true) {
  Coverage coverage;
  for (const Difference& d : differences(resolved, coverage)) {
    ADD_FAILURE() << name << ": " << d.where << ": libseccomp 0x" << std::hex << d.libseccomp << ", nucleus 0x"
                  << d.nucleus;
  }
  if (check_coverage) expect_covered(coverage, name);
  return coverage;
}

constexpr CapSet cap(int n) { return CapSet{1} << n; }

TEST(SeccompBpf, SaysWhatLibseccompSaysOfNucleussOwnProfiles) {
  const Profile& def = seccomp::default_profile();
  expect_same(seccomp::resolve(def, {}), "default");
  expect_same(seccomp::resolve(def, {.caps = cap(13) | cap(18) | cap(25), .trusted = false}), "default, some caps");
  expect_same(seccomp::resolve(def, {.caps = all_capabilities(), .trusted = true}), "default, trusted, all caps");
  seccomp::SentryGaps gaps{.unchecked_mknod = true, .rejects_no_automount = true};
  expect_same(seccomp::for_sentry(seccomp::resolve(def, {}), gaps, 0), "gVisor's rows on the default");
  expect_same(seccomp::for_sentry(std::nullopt, gaps, 0), "gVisor's rows alone");
  expect_same(seccomp::for_sentry(std::nullopt, gaps, cap(27)), "gVisor's rows with CAP_MKNOD");
  expect_same(seccomp::supervisor_profile(), "nucleus-init's own");
}

TEST(SeccompBpf, SaysWhatLibseccompSaysOfOtherToolsProfiles) {
  std::ifstream in(std::string(TEST_DATA_DIR) + "/oci/podman-config.json");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json config = nlohmann::json::parse(text.str());
  Profile podman = seccomp::parse_json_profile(config["linux"]["seccomp"].dump(), "podman", false);
  expect_same(seccomp::resolve(podman, {.caps = cap(0) | cap(1) | cap(3), .trusted = false}), "podman's");
  // Docker-style: NE, masked flags, an errno of its own beside the default, a kill.
  Profile docker = seccomp::parse_json_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "syscalls": [
      {"names": ["read", "write", "close", "exit_group", "ioctl"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
       "args": [{"index": 1, "value": 21522, "op": "SCMP_CMP_EQ"}]},
      {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["kexec_load"], "action": "SCMP_ACT_KILL_PROCESS"},
      {"names": ["mkdirat"], "action": "SCMP_ACT_LOG"},
      {"names": ["fcntl"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["fcntl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
       "args": [{"index": 1, "value": 255, "valueTwo": 340, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["prctl"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 0, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]})",
                                                "docker.json");
  expect_same(seccomp::resolve(docker, {}), "Docker-style");
  Profile open = seccomp::parse_json_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})",
                                              "open.json");
  expect_same(seccomp::resolve(open, {}), "allow-by-default");
}

// The point of the writer: one program, and 40% of libseccomp's size or less.
TEST(SeccompBpf, TheDefaultIsOneShortProgram) {
  Profile resolved = seccomp::resolve(seccomp::default_profile(), {});
  SeccompPrograms theirs = compile_with_libseccomp(resolved);
  std::optional<std::vector<sock_filter>> ours = compile_with_nucleus(resolved);
  ASSERT_TRUE(ours);
  EXPECT_FALSE(theirs.deny.empty());
  EXPECT_LE(ours->size() * 5, (theirs.main.size() + theirs.deny.size()) * 2)
      << ours->size() << " against " << theirs.main.size() << " + " << theirs.deny.size();
  SeccompPrograms loaded = prepare_seccomp(seccomp::default_profile(), {});
  EXPECT_TRUE(loaded.deny.empty());
  EXPECT_EQ(loaded.main.size(), ours->size());
}

// Random profiles of the shapes the writer takes: where it writes one, libseccomp takes the
// profile too (it refuses none the writer accepts) and the two say the same of every call.
TEST(SeccompBpf, SaysWhatLibseccompSaysOfRandomProfiles) {
  std::mt19937_64 random(7);
  auto pick = [&](auto... options) {
    const uint64_t all[] = {static_cast<uint64_t>(options)...};
    return all[random() % sizeof...(options)];
  };
  const char* names[] = {"read", "ioctl", "socket", "personality", "mkdirat", "clone", "prctl", "fcntl"};
  const seccomp::Action actions[] = {seccomp::Action::kAllow, seccomp::Action::kErrno, seccomp::Action::kLog,
                                     seccomp::Action::kKillProcess, seccomp::Action::kTrap};
  int written = 0;
  Coverage all;
  for (int round = 0; round < 400; ++round) {
    Profile p;
    p.default_action = actions[random() % 2 ? 1 : random() % 5];
    p.default_errno = static_cast<int>(pick(1, 38));
    p.enosys_for_newer = false;
    for (int i = 0, rules = 1 + static_cast<int>(random() % 6); i < rules; ++i) {
      seccomp::Rule r;
      r.names = {names[random() % 8]};
      r.action = actions[random() % 5];
      r.errno_ret = static_cast<int>(pick(1, 38));
      for (unsigned k = 0, n = static_cast<unsigned>(random() % 3); k < n; ++k) {
        seccomp::Arg a{.index = static_cast<unsigned>(random() % 3),
                       .op = static_cast<seccomp::Op>(pick(0, 1, 6)),  // EQ, NE, MASKED_EQ
                       .value = pick(0, 1, 5, 0xff, 0x154, 0xffffffff, 0x100000001),
                       .value_two = pick(0, 1, 5, 0x54, 0x154)};
        r.args.push_back(a);
      }
      p.rules.push_back(r);
    }
    // Declined profiles go to libseccomp, some of which it loops on (its bug): not asked.
    if (!compile_with_nucleus(p)) continue;
    ++written;
    Coverage c = expect_same(p, "random profile " + std::to_string(round) + ":\n" + seccomp::serialize(p), false);
    all.with_args += c.with_args;
    all.split += c.split;
  }
  EXPECT_GT(written, 100);
  expect_covered(all, "the random profiles together");
}

// What it declines goes to libseccomp: the ordering operators, and two verdicts for one call.
TEST(SeccompBpf, DeclinesWhatItDoesNotWriteExactly) {
  Profile ordered = seccomp::parse_json_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_LT"}]}]})",
                                                 "lt.json");
  EXPECT_FALSE(compile_with_nucleus(seccomp::resolve(ordered, {})));
  Profile two = seccomp::parse_json_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
      {"names": ["personality"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}]})",
                                             "two.json");
  EXPECT_FALSE(compile_with_nucleus(seccomp::resolve(two, {})));
  // One argument compared twice (libseccomp refuses it: EINVAL), and NE among several
  // conditional rules for one call (libseccomp's tree is not their OR).
  Profile twice = seccomp::parse_json_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                                                                 {"index": 0, "value": 17, "op": "SCMP_CMP_EQ"}]}]})",
                                               "twice.json");
  EXPECT_FALSE(compile_with_nucleus(seccomp::resolve(twice, {})));
  EXPECT_THROW(prepare_seccomp(twice, {}), Error);
  Profile ne = seccomp::parse_json_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_NE"}]},
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_NE"},
                                                                {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
                                           "ne.json");
  EXPECT_FALSE(compile_with_nucleus(seccomp::resolve(ne, {})));
  SeccompPrograms programs = prepare_seccomp(ordered, {});
  EXPECT_FALSE(programs.main.empty());
}

// libseccomp 2.5.4 loops forever on this profile (a review's fuzzing found it); nucleus's
// writer declines it (conditional rules of two verdicts for one call), so libseccomp's
// compile runs in a child with a deadline, and a refusal still comes back as itself.
TEST(SeccompBpf, ALibseccompCompileThatDoesNotReturnIsCutOff) {
  Profile loops;
  loops.default_action = seccomp::Action::kKillProcess;
  loops.enosys_for_newer = false;
  auto rule = [](seccomp::Action action, std::vector<seccomp::Arg> args) {
    seccomp::Rule r;
    r.names = {"write"};
    r.action = action;
    r.args = std::move(args);
    return r;
  };
  loops.rules = {rule(seccomp::Action::kKillThread, {{1, seccomp::Op::kEq, 3, 0}}),
                 rule(seccomp::Action::kKillThread, {{1, seccomp::Op::kMaskedEq, 0x100000001ull, 0}, {0, seccomp::Op::kNe, 2, 0}}),
                 rule(seccomp::Action::kAllow, {{0, seccomp::Op::kNe, 2, 0}, {2, seccomp::Op::kEq, 1, 0}})};
  EXPECT_FALSE(compile_with_nucleus(loops));
  try {
    compile_with_libseccomp_bounded(loops, std::chrono::milliseconds(1000));
    ADD_FAILURE() << "libseccomp answered (a fixed libseccomp: then this profile no longer tests the deadline)";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did not finish"), std::string::npos) << e.what();
  }
  Profile refused = seccomp::parse_json_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                                                                 {"index": 0, "value": 17, "op": "SCMP_CMP_EQ"}]}]})",
                                                "twice.json");
  try {
    compile_with_libseccomp_bounded(refused, std::chrono::milliseconds(10000));
    ADD_FAILURE() << "libseccomp took an argument compared twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.step(), "seccomp") << e.what();
    EXPECT_EQ(e.err(), EINVAL) << e.what();
  }
}

}  // namespace
}  // namespace nucleus
