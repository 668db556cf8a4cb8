#include "core/policy/seccomp_bpf.h"

#include <linux/seccomp.h>

#include <cstddef>
#include <set>

namespace nucleus::seccomp {
namespace {

// x32's calls are x86_64's numbers with this bit (__X32_SYSCALL_BIT): libseccomp gives them
// the bad-architecture verdict in an x86_64-only filter, and so does this program.
constexpr uint32_t kX32Bit = 0x40000000;
constexpr uint32_t kNr = offsetof(seccomp_data, nr);
constexpr uint32_t kArch = offsetof(seccomp_data, arch);
// An argument's two halves (every ABI this writes for is little-endian).
uint32_t low_half(unsigned index) { return offsetof(seccomp_data, args) + 8 * index; }
uint32_t high_half(unsigned index) { return low_half(index) + 4; }
uint32_t hi(uint64_t v) { return static_cast<uint32_t>(v >> 32); }
uint32_t lo(uint64_t v) { return static_cast<uint32_t>(v); }

// Classic BPF with named jump targets, resolved once the program is whole.
class Assembler {
 public:
  using Label = int;
  static constexpr Label kNext = -1;  // the next instruction

  Label label() {
    at_.push_back(-1);
    return static_cast<Label>(at_.size() - 1);
  }
  void bind(Label l) { at_[l] = static_cast<long>(code_.size()); }
  void load(uint32_t offset) { code_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  void mask(uint32_t k) { code_.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, k)); }
  void ret(Verdict v) { code_.push_back(BPF_STMT(BPF_RET | BPF_K, v)); }
  void jump(Label to) {
    fixups_.push_back({code_.size(), to, Field::kK});
    code_.push_back(BPF_STMT(BPF_JMP | BPF_JA, 0));
  }
  // if (A op k) goto yes else goto no
  void branch(uint16_t op, uint32_t k, Label yes, Label no) {
    if (yes != kNext) fixups_.push_back({code_.size(), yes, Field::kTrue});
    if (no != kNext) fixups_.push_back({code_.size(), no, Field::kFalse});
    code_.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
  }
  // if (A op k) skip `yes` instructions, else `no`.
  void branch_by(uint16_t op, uint32_t k, uint8_t yes, uint8_t no) {
    code_.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, yes, no));
  }

  // nullopt when a conditional jump is longer than its 8 bits, or backwards.
  std::optional<std::vector<sock_filter>> finish() {
    for (const Fixup& f : fixups_) {
      long to = at_[f.label];
      long offset = to - static_cast<long>(f.at) - 1;
      if (to < 0 || offset < 0) return std::nullopt;
      sock_filter& insn = code_[f.at];
      if (f.field == Field::kK) {
        insn.k = static_cast<uint32_t>(offset);
      } else if (offset > 255) {
        return std::nullopt;
      } else {
        (f.field == Field::kTrue ? insn.jt : insn.jf) = static_cast<uint8_t>(offset);
      }
    }
    if (code_.size() > BPF_MAXINSNS) return std::nullopt;
    return std::move(code_);
  }

 private:
  enum class Field { kTrue, kFalse, kK };
  struct Fixup {
    size_t at;
    Label label;
    Field field;
  };
  std::vector<sock_filter> code_;
  std::vector<long> at_;
  std::vector<Fixup> fixups_;
};
using Label = Assembler::Label;

// Falls through when `a` holds, else goes to `fail`. EQ, NE and MASKED_EQ only, over all 64
// bits, as libseccomp 2.5 compares them; the ordering operators are left to libseccomp.
bool test_arg(Assembler& as, const Arg& a, Label fail) {
  Label pass = as.label();
  switch (a.op) {
    case Op::kEq:
    case Op::kNe: {
      // One comparison, both halves equal; NE only swaps where equal and different go.
      const Label equal = a.op == Op::kEq ? pass : fail, different = a.op == Op::kEq ? fail : pass;
      as.load(high_half(a.index));
      as.branch(BPF_JEQ, hi(a.value), Assembler::kNext, different);
      as.load(low_half(a.index));
      as.branch(BPF_JEQ, lo(a.value), equal, different);
      break;
    }
    case Op::kMaskedEq: {
      // libseccomp masks the value too: (arg & m) == (value & m), and a half whose mask is
      // 0 always holds.
      const uint64_t m = a.value, want = a.value_two & a.value;
      if (hi(m) != 0) {
        as.load(high_half(a.index));
        as.mask(hi(m));
        as.branch(BPF_JEQ, hi(want), Assembler::kNext, fail);
      }
      if (lo(m) != 0) {
        as.load(low_half(a.index));
        as.mask(lo(m));
        as.branch(BPF_JEQ, lo(want), pass, fail);
      }
      break;
    }
    default:
      return false;
  }
  as.bind(pass);
  return true;
}

// A list of rules of one verdict: goes to `hit` when one holds, falls through when none does.
bool any_holds(Assembler& as, const std::vector<Conditional>& rules, Label hit) {
  for (const Conditional& c : rules) {
    Label next = as.label();
    for (const Arg& a : *c.args) {
      if (!test_arg(as, a, next)) return false;
    }
    as.jump(hit);
    as.bind(next);
  }
  return true;
}

bool unconditional(const std::vector<Conditional>& rules) {
  for (const Conditional& c : rules) {
    if (c.args->empty()) return true;
  }
  return false;
}

// The second program's part, given the first's verdict `first`.
bool exceptions_then(Assembler& as, const std::vector<Conditional>& exceptions, Verdict first) {
  if (exceptions.empty()) {
    as.ret(first);
    return true;
  }
  Verdict theirs = exceptions.front().verdict;
  if (unconditional(exceptions)) {
    as.ret(stricter(first, theirs));
    return true;
  }
  Label hit = as.label();
  if (!any_holds(as, exceptions, hit)) return false;
  as.ret(first);
  as.bind(hit);
  as.ret(stricter(first, theirs));
  return true;
}

// Of unconditional rules for one call in one program, libseccomp keeps the first added,
// whatever their verdicts (podman's profile allows setns, then lists it with EPERM): so
// does this writer.
void keep_first_when_unconditional(std::vector<Conditional>& rules) {
  bool all_unconditional = true;
  for (const Conditional& c : rules) all_unconditional = all_unconditional && c.args->empty();
  if (all_unconditional && !rules.empty()) rules.resize(1);
}

// One verdict for a call's rules in one program: conditions under two are declined.
bool one_verdict(const std::vector<Conditional>& rules) {
  for (const Conditional& c : rules) {
    if (c.verdict != rules.front().verdict) return false;
  }
  return true;
}

// Rules whose meaning libseccomp 2.5 gives as this writer does. Not: one argument compared
// twice in a rule (libseccomp refuses it, EINVAL: the profile stays refused), nor several
// conditional rules for one call where one compares with NE (libseccomp merges them into a
// tree that is not their OR, its issues #118 and #225; nucleus keeps what crun and runc,
// which use libseccomp, would load).
bool as_libseccomp_reads(const std::vector<Conditional>& rules) {
  size_t conditional = 0;
  bool not_equal = false;
  for (const Conditional& c : rules) {
    std::set<unsigned> compared;
    for (const Arg& a : *c.args) {
      if (!compared.insert(a.index).second) return false;
      not_equal = not_equal || a.op == Op::kNe;
    }
    conditional += !c.args->empty();
  }
  return !(not_equal && conditional > 1);
}

// A call whose verdict its number alone decides, or nullopt when it needs its arguments.
std::optional<Verdict> plain_verdict(const CallRules& call, Verdict fallback) {
  if (!call.exceptions.empty() && !unconditional(call.exceptions)) return std::nullopt;
  Verdict first = fallback;
  if (!call.main.empty()) {
    if (!unconditional(call.main)) return std::nullopt;
    first = call.main.front().verdict;
  }
  return call.exceptions.empty() ? first : stricter(first, call.exceptions.front().verdict);
}

// A run of numbers [start, next run's start) and where it goes: a verdict, or a call's block.
struct Run {
  uint32_t start;
  std::optional<Verdict> verdict;  // else the block of calls[block]
  size_t block = 0;
};

// Binary search over the runs (pre-order, each left subtree right after its node): every
// node is one jge. A leaf is a jump to a shared return or a call's block, or, where those
// would be out of a conditional jump's reach (a long profile), a return or jump in place.
class Search {
 public:
  Search(Assembler& as, const std::vector<Run>& runs, const std::vector<Label>& blocks, bool in_place)
      : as_(as), runs_(runs), blocks_(blocks), in_place_(in_place) {}

  void emit(size_t first, size_t last) {
    if (first == last) {
      leaf_here(runs_[first]);
      return;
    }
    size_t mid = (first + last + 1) / 2;
    bool left_leaf = mid - 1 == first, right_leaf = mid == last;
    Label right = right_leaf && !in_place_ ? target(runs_[mid]) : as_.label();
    Label left = left_leaf && !in_place_ ? target(runs_[first]) : Assembler::kNext;
    as_.branch(BPF_JGE, runs_[mid].start, right, left);
    if (left == Assembler::kNext) emit(first, mid - 1);
    if (!right_leaf || in_place_) {
      as_.bind(right);
      emit(mid, last);
    }
  }

  // The shared returns, after the tree.
  void emit_returns() {
    for (const auto& [verdict, label] : returns_) {
      as_.bind(label);
      as_.ret(verdict);
    }
  }

 private:
  Label target(const Run& run) {
    if (!run.verdict) return blocks_[run.block];
    auto [it, added] = returns_.try_emplace(*run.verdict, 0);
    if (added) it->second = as_.label();
    return it->second;
  }
  void leaf_here(const Run& run) {
    if (in_place_ && run.verdict) {
      as_.ret(*run.verdict);
    } else {
      as_.jump(target(run));
    }
  }

  Assembler& as_;
  const std::vector<Run>& runs_;
  const std::vector<Label>& blocks_;
  bool in_place_;
  std::map<Verdict, Label> returns_;
};

// A call's block: the first program's rules, then the second's under each of its verdicts.
bool emit_block(Assembler& as, const CallRules& call, Verdict default_verdict) {
  const std::vector<Conditional>& main = call.main;
  Verdict theirs = main.empty() ? default_verdict : main.front().verdict;
  if (main.empty() || unconditional(main)) return exceptions_then(as, call.exceptions, theirs);
  Label hit = as.label();
  if (!any_holds(as, main, hit)) return false;
  if (!exceptions_then(as, call.exceptions, default_verdict)) return false;
  as.bind(hit);
  return exceptions_then(as, call.exceptions, theirs);
}

std::optional<std::vector<sock_filter>> assemble(const BpfInput& input, const std::vector<Run>& runs,
                                                 const std::vector<const CallRules*>& calls, bool in_place) {
  Assembler as;
  std::vector<Label> blocks;
  for (size_t i = 0; i < calls.size(); ++i) blocks.push_back(as.label());
  // Another ABI, or x32's numbers: the bad-architecture verdict, in place.
  as.load(kArch);
  as.branch_by(BPF_JEQ, input.audit_arch, 1, 0);
  as.ret(input.bad_arch);
  // (Number -1, which a tracer may set to skip a call, is not x32's: libseccomp lets it
  // through to the default verdict.)
  as.load(kNr);
  as.branch_by(BPF_JGE, kX32Bit, 0, 2);
  as.branch_by(BPF_JEQ, 0xffffffffu, 1, 0);
  as.ret(input.bad_arch);
  Search search(as, runs, blocks, in_place);
  search.emit(0, runs.size() - 1);
  search.emit_returns();
  for (size_t i = 0; i < calls.size(); ++i) {
    as.bind(blocks[i]);
    if (!emit_block(as, *calls[i], input.default_verdict)) return std::nullopt;
  }
  return as.finish();
}

}  // namespace

Verdict stricter(Verdict older, Verdict newer) {
  auto action = [](Verdict v) { return static_cast<int32_t>(v & SECCOMP_RET_ACTION_FULL); };
  return action(older) < action(newer) ? older : newer;
}

std::optional<std::vector<sock_filter>> write_bpf(BpfInput input) {
  for (auto& [nr, call] : input.calls) {
    if (nr < 0 || static_cast<uint32_t>(nr) >= kX32Bit - 1) return std::nullopt;  // the last run is the default's
    keep_first_when_unconditional(call.main);
    keep_first_when_unconditional(call.exceptions);
    if (!one_verdict(call.main) || !one_verdict(call.exceptions)) return std::nullopt;
    if (!as_libseccomp_reads(call.main) || !as_libseccomp_reads(call.exceptions)) return std::nullopt;
    for (const Conditional& c : call.exceptions) {
      if (c.verdict == SECCOMP_RET_ALLOW) return std::nullopt;  // libseccomp refuses it (EACCES)
    }
  }
  // Runs of numbers with one verdict; a call that needs its arguments is a run of its own.
  std::vector<Run> runs;
  std::vector<const CallRules*> calls;
  auto add_verdict = [&](uint32_t start, Verdict v) {
    if (runs.empty() || runs.back().verdict != v) runs.push_back({start, v, 0});
  };
  uint32_t next = 0;  // the first number not yet in a run
  for (const auto& [nr, call] : input.calls) {
    uint32_t n = static_cast<uint32_t>(nr);
    if (n > next) add_verdict(next, input.default_verdict);
    if (std::optional<Verdict> v = plain_verdict(call, input.default_verdict)) {
      add_verdict(n, *v);
    } else {
      runs.push_back({n, std::nullopt, calls.size()});
      calls.push_back(&call);
    }
    next = n + 1;
  }
  if (next < kX32Bit) add_verdict(next, input.default_verdict);
  if (auto shared = assemble(input, runs, calls, false)) return shared;
  return assemble(input, runs, calls, true);
}

}  // namespace nucleus::seccomp
