// The device cgroup on cgroup2: no files, a BPF_PROG_TYPE_CGROUP_DEVICE program attached to
// the container's directory (crun's ebpf.c, runc's devicefilter). The program is generated
// here from the rules, a few instructions per rule, so it stays readable in a debugger:
//   r2 = type, r3 = access, r4 = major, r5 = minor      (from struct bpf_cgroup_dev_ctx)
//   for each rule, last to first: if it matches, return its verdict
//   return 1 (allow): as on v1, where a new cgroup inherits its parent's (open) list
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/cgroup/cgroup.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i = {};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn load_word(uint8_t dst, int16_t offset) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, offset, 0); }
bpf_insn alu_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn jump_if_not(uint8_t reg, int32_t imm, int16_t skip) { return insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, skip, imm); }
bpf_insn ret(int32_t value) { return alu_imm(BPF_MOV, BPF_REG_0, value); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int access_bits(const std::string& access) {
  int bits = 0;
  if (access.find('m') != std::string::npos) bits |= BPF_DEVCG_ACC_MKNOD;
  if (access.find('r') != std::string::npos) bits |= BPF_DEVCG_ACC_READ;
  if (access.find('w') != std::string::npos) bits |= BPF_DEVCG_ACC_WRITE;
  return bits;
}

// One rule: its tests jump past the block when they fail; the block ends returning the verdict.
void emit_rule(std::vector<bpf_insn>& out, const CgroupDeviceRule& r) {
  std::vector<bpf_insn> tests;
  constexpr int kPending = 0;  // the skip distance, set once the block's length is known
  if (r.type != 'a') tests.push_back(jump_if_not(BPF_REG_2, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, kPending));
  int bits = access_bits(r.access);
  if (bits != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
    // Matches when every access asked for is one the rule names: (access & ~bits) == 0.
    tests.push_back(mov_reg(BPF_REG_1, BPF_REG_3));
    tests.push_back(alu_imm(BPF_AND, BPF_REG_1, ~bits));
    tests.push_back(jump_if_not(BPF_REG_1, 0, kPending));
  }
  if (r.major >= 0) tests.push_back(jump_if_not(BPF_REG_4, static_cast<int32_t>(r.major), kPending));
  if (r.minor >= 0) tests.push_back(jump_if_not(BPF_REG_5, static_cast<int32_t>(r.minor), kPending));
  const int16_t total = static_cast<int16_t>(tests.size() + 2);
  for (size_t i = 0; i < tests.size(); ++i) {
    if (BPF_OP(tests[i].code) == BPF_JNE) tests[i].off = static_cast<int16_t>(total - 1 - static_cast<int16_t>(i));
  }
  out.insert(out.end(), tests.begin(), tests.end());
  out.push_back(ret(r.allow ? 1 : 0));
  out.push_back(exit_insn());
}

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof *attr); }

}  // namespace

void attach_device_program(int cgroup_dir_fd, const std::vector<CgroupDeviceRule>& rules) {
  std::vector<bpf_insn> prog = {
      load_word(BPF_REG_2, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu_imm(BPF_AND, BPF_REG_2, 0xffff),
      load_word(BPF_REG_3, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu_imm(BPF_RSH, BPF_REG_3, 16),
      load_word(BPF_REG_4, offsetof(bpf_cgroup_dev_ctx, major)),
      load_word(BPF_REG_5, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) emit_rule(prog, *it);
  prog.push_back(ret(1));
  prog.push_back(exit_insn());

  static const char kLicense[] = "GPL";
  bpf_attr load = {};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(prog.data());
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  int fd = static_cast<int>(bpf(BPF_PROG_LOAD, &load));
  if (fd < 0) throw_errno("cgroups: load the device filter (BPF)");
  UniqueFd program(fd);
  bpf_attr attach = {};
  attach.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
  attach.attach_bpf_fd = static_cast<uint32_t>(program.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attach) != 0) throw_errno("cgroups: attach the device filter (BPF)");
}

}  // namespace nucleus
