// Fuzz target: the whole AArch64 machine running a random guest program. Each op emits a
// few valid A64 instructions, biased towards what reaches the models: loads and stores to
// the GICD, ITS, GICR, PL011, flash and common-device windows, ICC_* and timer system
// registers, PSCI calls and timeline phase markers over HVC, WFI, DAIF changes and
// exceptions (SVC, BRK, UDF, ERET). The program ends with PSCI SYSTEM_OFF and runs under
// an instruction budget.
#include <cstdint>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/psci.h"
#include "arch/arm64/virt_map.h"
#include "arch/common/phase_marker.h"
#include "tests/fuzz/machine_check.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

namespace virt = arm64::virt;

class Program {
 public:
  void emit(uint32_t insn) { words_.push_back(insn); }
  // MOVZ + MOVK: Xd = value.
  void mov(unsigned rd, uint64_t v) {
    emit(0xD280'0000u | uint32_t(v & 0xFFFF) << 5 | rd);
    for (unsigned hw = 1; hw < 4; ++hw)
      if (uint16_t part = uint16_t(v >> (16 * hw)))
        emit(0xF280'0000u | hw << 21 | uint32_t(part) << 5 | rd);
  }
  // MSR/MRS <sysreg>, Xt with the register's op0:op1:CRn:CRm:op2.
  void sysreg(bool read, uint32_t enc, unsigned rt) { emit(0xD500'0000u | (read ? 1u << 21 : 0) | enc << 5 | rt); }
  std::vector<std::byte> bytes() const {
    std::vector<std::byte> b;
    for (uint32_t w : words_)
      for (unsigned i = 0; i < 4; ++i) b.push_back(std::byte(uint8_t(w >> (8 * i))));
    return b;
  }

 private:
  std::vector<uint32_t> words_;
};

constexpr uint32_t sr(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
  return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}
// GIC CPU interface, generic timers, and the EL1 registers a kernel touches.
constexpr uint32_t kSysregs[] = {
    sr(3, 0, 12, 12, 0), sr(3, 0, 12, 12, 1), sr(3, 0, 4, 6, 0),   sr(3, 0, 12, 12, 7),
    sr(3, 0, 12, 11, 5), sr(3, 0, 12, 12, 4), sr(3, 0, 12, 12, 5), sr(3, 0, 12, 12, 3),
    sr(3, 0, 12, 12, 2), sr(3, 0, 12, 11, 3), sr(3, 0, 12, 11, 1), sr(3, 3, 14, 3, 1),
    sr(3, 3, 14, 3, 2),  sr(3, 3, 14, 3, 0),  sr(3, 3, 14, 2, 1),  sr(3, 3, 14, 2, 0),
    sr(3, 3, 14, 2, 2),  sr(3, 3, 14, 0, 2),  sr(3, 3, 14, 0, 1),  sr(3, 3, 14, 0, 0),
    sr(3, 0, 12, 0, 0),  sr(3, 3, 4, 2, 1),   sr(3, 0, 0, 0, 5),   sr(3, 0, 4, 0, 1),
    sr(3, 0, 4, 0, 0),   sr(3, 0, 5, 2, 0),   sr(3, 0, 6, 0, 0),   sr(3, 0, 1, 0, 2),
    sr(3, 3, 9, 13, 0),  sr(3, 0, 0, 5, 0),   // PMCCNTR_EL0 (pmu.h: retired instructions, never the host clock), ID_AA64DFR0_EL1
    // PMU: PMCR, PMCNTENSET, PMOVSCLR, PMSWINC, PMSELR, PMXEVTYPER, PMXEVCNTR, PMUSERENR,
    // PMINTENSET_EL1, PMEVCNTR0, PMEVTYPER0, PMCCFILTR (pmu.h; the overflow PPI)
    sr(3, 3, 9, 12, 0),  sr(3, 3, 9, 12, 1),  sr(3, 3, 9, 12, 3),  sr(3, 3, 9, 12, 4),
    sr(3, 3, 9, 12, 5),  sr(3, 3, 9, 13, 1),  sr(3, 3, 9, 13, 2),  sr(3, 3, 9, 14, 0),
    sr(3, 0, 9, 14, 1),  sr(3, 3, 14, 8, 0),  sr(3, 3, 14, 12, 0), sr(3, 3, 14, 15, 7),
    // Self-hosted debug: MDSCR_EL1 (SS, KDE, MDE), DBGBVR0/BCR0, DBGWVR0/WCR0, OSLAR_EL1
    sr(2, 0, 0, 2, 2),   sr(2, 0, 0, 0, 4),   sr(2, 0, 0, 0, 5),   sr(2, 0, 0, 0, 6),
    sr(2, 0, 0, 0, 7),   sr(2, 0, 1, 0, 4),
    // SYS maintenance another CPU must see (maintenance_broadcast.h): TLBI VMALLE1IS,
    // VAE1IS, ASIDE1IS, IC IALLUIS, IC IVAU
    sr(1, 0, 8, 3, 0),   sr(1, 0, 8, 3, 1),   sr(1, 0, 8, 3, 2),   sr(1, 0, 7, 1, 0),
    sr(1, 3, 7, 5, 1)};
constexpr uint32_t kPsci[] = {arm64::psci::PSCI_VERSION, arm64::psci::CPU_OFF, arm64::psci::CPU_ON_32,
                              0xC400'0003, arm64::psci::AFFINITY_INFO_32, arm64::psci::MIGRATE_INFO_TYPE,
                              arm64::psci::SYSTEM_RESET, arm64::psci::PSCI_FEATURES, 0x8400'0001,
                              arch::phase_marker::kArmBegin, arch::phase_marker::kArmEnd};

uint64_t window(OpStream& in, unsigned cpus) {
  switch (in.below(8)) {
    case 0: return virt::kGicdBase + (in.u16() & ~3u);
    case 1: return virt::kItsBase + (in.u32() % 0x2'0000 & ~3u);
    case 2: {
      const uint64_t frame = virt::kGicrBase + 0x2'0000 * in.below(cpus);
      return frame + (in.u32() % 0x2'0000 & ~3u);
    }
    case 3: return virt::kUartBase + (in.u16() % 0x1000 & ~3u);
    case 4: return virt::kDeviceBase + (in.u16() % 0x1000 & ~3u);
    case 5: return virt::kRamBase + 0x20'0000 + (in.u16() & ~7u);
    case 6: return virt::kFlashBase + (in.u16() & ~3u);
    default: return in.u64() & ~7ull;
  }
}
}  // namespace

void run(OpStream& in) {
  arm64::Arm64MachineConfig cfg;
  const uint8_t shape = in.u8();
  cfg.cpus = 1 + shape % 2;
  const bool twice = shape & 2;  // run it again: the two runs must agree (machine_check.h)
  cfg.ram_size = 64ull << 20;
  cfg.quantum = 1 + in.u8();
  const bool traced = in.flag();
  Program p;
  p.emit(0xD503'201Fu);  // a NOP first, so a random word never starts with the ELF magic
  for (unsigned ops = 0; !in.done() && ops < 256; ++ops) {
    switch (in.below(12)) {
      case 0:
      case 1:
      case 2: {  // a store or load of 1/2/4/8 bytes to an MMIO window or memory
        const unsigned size = in.below(4), rt = 2 + in.below(3);
        p.mov(1, window(in, cfg.cpus));
        if (in.flag()) p.mov(rt, in.flag() ? in.u32() : in.u64());
        const uint32_t base = (size == 0 ? 0x3900'0000u : size == 1 ? 0x7900'0000u : size == 2 ? 0xB900'0000u : 0xF900'0000u);
        p.emit(base | (in.flag() ? 0x40'0000u : 0) | 1u << 5 | rt);
        break;
      }
      case 3:
      case 4: {  // a system register read or write
        const uint32_t enc = in.u8() == 0xFF ? (0x4000u | in.u16()) & 0x7FFF : kSysregs[in.below(std::size(kSysregs))];
        if (in.flag()) p.mov(2, in.flag() ? in.u8() : in.u64());
        p.sysreg(in.flag(), enc, 2);
        break;
      }
      case 5: {  // PSCI over HVC #0; CPU_ON sends the other CPU to the program's start
        p.mov(0, kPsci[in.below(std::size(kPsci))]);
        p.mov(1, in.below(3));
        p.mov(2, in.flag() ? virt::kKernelLoad + 4 * in.u8() : in.u64());
        p.mov(3, in.u8());
        p.emit(0xD400'0002u);
        break;
      }
      case 6: p.emit(0xD503'207Fu); break;                                // WFI
      case 7: {  // MSR DAIFClr/DAIFSet, #imm
        const uint32_t op = in.flag() ? 0xD503'40FFu : 0xD503'40DFu;
        p.emit(op | uint32_t(in.below(16)) << 8);
        break;
      }
      case 8: {  // an exception or exception return
        static constexpr uint32_t kTraps[] = {0xD400'0001u, 0xD420'0000u, 0x0000'0000u, 0xD69F'03E0u, 0xD400'0003u};
        const uint32_t trap = kTraps[in.below(std::size(kTraps))];
        p.emit(trap | (in.flag() ? uint32_t(in.u16()) << 5 & 0x1F'FFE0 : 0));
        break;
      }
      case 9: p.emit(0x1400'0000u | (in.u8() % 8)); break;                // B forward
      case 10: p.emit(in.u32()); break;                                     // any word
      case 11: {  // the common device's doorbell/trigger with a slot number
        p.mov(1, virt::kDeviceBase + 0x10);
        p.mov(2, in.below(8));
        p.emit(0xB900'0000u | 1u << 5 | 2);
        break;
      }
    }
  }
  p.mov(0, arm64::psci::SYSTEM_OFF);
  p.emit(0xD400'0002u);
  run_program<arm64::Arm64Machine>(cfg, p.bytes(), traced, twice, budget_for(cfg.quantum, cfg.cpus));
}

}  // namespace irqremap::fuzz
