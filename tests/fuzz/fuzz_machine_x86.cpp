// Fuzz target: the whole x86-64 machine running a random guest program (a raw image,
// entered in 64-bit mode). Each op emits a few valid instructions, biased towards what
// reaches the models: loads and stores to the local APIC, VT-d, I/O APIC and
// common-device windows, x2APIC and other MSRs, I/O ports (COM1, PCI configuration,
// isa-debug-exit, the timeline phase marker), HLT, STI/CLI, LIDT, CPUID, RDTSC/RDTSCP
// and exceptions (INT3, UD2, INT n), and the delivery paths around them: GDT, TSS and IDT
// entries with random types, DPLs, IST indexes and selectors (LGDT, LTR), IRETQ frames to
// CPL 3 or to bad selectors, debug registers (MOV to/from DR0-DR7, TF, INT1) and the
// UMIP instructions and MOV to CR4. The program ends with an isa-debug-exit write and runs
// under an instruction budget.
#include <cstdint>
#include <vector>

#include "arch/common/phase_marker.h"
#include "arch/x86/x86_machine.h"
#include "arch/x86/x86_map.h"
#include "tests/fuzz/machine_check.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

namespace map = x86::map;

class Program {
 public:
  void bytes(std::initializer_list<uint8_t> b) {
    for (uint8_t v : b) code_.push_back(std::byte(v));
  }
  template <typename T>
  void imm(T v) {
    for (unsigned i = 0; i < sizeof v; ++i) code_.push_back(std::byte(uint8_t(uint64_t(v) >> (8 * i))));
  }
  void mov64(unsigned r, uint64_t v) { bytes({0x48, uint8_t(0xB8 + r)}); imm(v); }  // mov r64, imm64
  void mov32(unsigned r, uint32_t v) { bytes({uint8_t(0xB8 + r)}); imm(v); }       // mov r32, imm32
  const std::vector<std::byte>& code() const { return code_; }

 private:
  std::vector<std::byte> code_;
};

constexpr unsigned kRax = 0, kRcx = 1, kRdx = 2, kRbx = 3;
constexpr uint64_t kGdt = 0x31'0000, kIdt = 0x32'0000, kTss = 0x33'0000, kStack = 0x34'0000;
// Descriptors a guest's tables hold (SDM vol. 3A §3.4.5, §7.2.3, §6.14.1): 64-bit code DPL
// 0 and 3, data DPL 0 and 3, a 64-bit TSS (low half; its base is kTss), a 32-bit code
// segment (L = 0), not present, and a call gate's type.
constexpr uint64_t kDescriptors[] = {
    0x00AF'9A00'0000'FFFF, 0x00AF'FA00'0000'FFFF, 0x00CF'9200'0000'FFFF, 0x00CF'F200'0000'FFFF,
    0x0000'8933'0000'0067, 0x00CF'9A00'0000'FFFF, 0x00AF'1A00'0000'FFFF, 0x0000'8C00'0000'0000};
// x2APIC registers (EOI, TPR, SVR, ICR, LVT timer, initial count, divide), APIC base,
// TSC deadline, and a few a kernel reads.
constexpr uint32_t kMsrs[] = {0x80B, 0x808, 0x80F, 0x830, 0x832, 0x838, 0x83E, 0x802, 0x803,
                              0x1B,  0x6E0, 0x10,  0xC000'0080, 0x3A, 0x277};
constexpr uint16_t kPorts[] = {map::kDebugExitPort, map::kCom1Port, map::kCom1Port + 5, map::kPciConfigPort,
                               0xCFC, 0x510, 0x511, 0x604, 0x64, 0x70, arch::phase_marker::kX86Port};

uint64_t window(OpStream& in) {
  switch (in.below(7)) {
    case 0: return map::kLapicBase + (in.u16() % 0x1000 & ~0xFu);
    case 1: return map::kVtdBase + (in.u16() % 0x1000 & ~3u);
    case 2: return map::kIoApicBase + (in.flag() ? 0x10 : 0);
    case 3: return map::kDeviceBase + (in.u16() % 0x1000 & ~3u);
    case 4: return 0x20'0000 + (in.u16() & ~7u);
    case 5: return map::kLapicBase + (in.u16() & 0xFFF0);  // the MSI window's addresses
    default: return in.flag() ? in.u32() : in.u64();
  }
}
}  // namespace

void run(OpStream& in) {
  x86::X86MachineConfig cfg;
  const uint8_t shape = in.u8();
  cfg.cpus = 1 + shape % 2;
  const bool twice = shape & 2;  // run it again: the two runs must agree (machine_check.h)
  cfg.quantum = 1 + in.u8();
  const bool traced = in.flag();
  Program p;
  p.bytes({0x90});  // a NOP first, so random bytes never start with the ELF magic
  for (unsigned ops = 0; !in.done() && ops < 256; ++ops) {
    switch (in.below(16)) {
      case 0:
      case 1:
      case 2: {  // a store or load of 1/2/4/8 bytes through [rax]
        p.mov64(kRax, window(in));
        if (in.flag()) p.mov64(kRbx, in.flag() ? in.u32() : in.u64());
        static constexpr uint8_t kPrefix[] = {0x00, 0x66, 0x00, 0x48};
        const unsigned size = in.below(4);
        const bool store = in.flag();
        if (kPrefix[size]) p.bytes({kPrefix[size]});
        p.bytes({uint8_t(size == 0 ? (store ? 0x88 : 0x8A) : (store ? 0x89 : 0x8B)), 0x18});
        break;
      }
      case 3:
      case 4: {  // RDMSR / WRMSR
        p.mov32(kRcx, in.u8() == 0xFF ? in.u32() : kMsrs[in.below(std::size(kMsrs))]);
        p.mov32(kRax, in.u32());
        p.mov32(kRdx, in.flag() ? in.u8() : in.u32());
        p.bytes({0x0F, uint8_t(in.flag() ? 0x30 : 0x32)});
        break;
      }
      case 5: {  // IN / OUT of 1 or 4 bytes
        p.mov32(kRdx, in.u8() == 0xFF ? in.u16() : kPorts[in.below(std::size(kPorts))]);
        p.mov32(kRax, in.u32());
        static constexpr uint8_t kIo[] = {0xEE, 0xEF, 0xEC, 0xED};
        p.bytes({kIo[in.below(4)]});
        break;
      }
      case 6: p.bytes({0xF4}); break;                        // HLT
      case 7: p.bytes({uint8_t(in.flag() ? 0xFB : 0xFA)}); break;  // STI / CLI
      case 8: {  // an exception
        switch (in.below(4)) {
          case 0: p.bytes({0xCC}); break;
          case 1: p.bytes({0x0F, 0x0B}); break;
          case 2: p.bytes({0xCD, in.u8()}); break;
          default: p.bytes({0x48, 0xF7, 0xF1}); break;  // div rcx (#DE when rcx is 0)
        }
        break;
      }
      case 9: {  // LIDT [rax] with a descriptor in RAM
        p.mov64(kRax, 0x30'0000);
        p.mov64(kRbx, in.u64());
        p.bytes({0x48, 0x89, 0x18, 0x0F, 0x01, 0x18});
        break;
      }
      case 10: {  // any instruction bytes
        const unsigned n = 1 + in.below(8);
        for (unsigned i = 0; i < n; ++i) p.bytes({in.u8()});
        break;
      }
      case 11: {
        switch (in.below(3)) {
          case 0: p.bytes({0x0F, 0xA2}); break;  // CPUID
          default:
            // RDTSC or RDTSCP, then the count's low byte to COM1: the UART output, which
            // the second run must repeat, shows whether the counter is deterministic.
            if (in.flag()) p.bytes({0x0F, 0x31});
            else p.bytes({0x0F, 0x01, 0xF9});
            p.mov32(kRdx, map::kCom1Port);
            p.bytes({0xEE});
            break;
        }
        break;
      }
      case 12: {  // descriptor tables: a GDT entry, an IDT gate or a TSS stack; LGDT, LTR
        switch (in.below(4)) {
          case 0:  // GDT entry k (0 stays null, the TSS takes 5-6)
            p.mov64(kRax, kGdt + 8 * in.below(8));
            p.mov64(kRbx, in.below(4) == 0 ? in.u64() : kDescriptors[in.below(std::size(kDescriptors))]);
            break;
          case 1: {  // IDT gate for a vector: type 0xE/0xF or any, DPL, IST, selector
            const uint64_t handler = kStack + (in.u16() & ~0xFu);
            const uint64_t type = in.flag() ? (in.flag() ? 0xE : 0xF) : in.below(16);
            const uint64_t low = (handler & 0xFFFF) | (uint64_t(8 * in.below(8) | in.below(4)) << 16) |
                                 (uint64_t(in.below(8)) << 32) | (type << 40) | (uint64_t(in.below(4)) << 45) |
                                 (uint64_t(in.below(8) != 0) << 47) | ((handler >> 16 & 0xFFFF) << 48);
            p.mov64(kRax, kIdt + 16 * (in.flag() ? in.u8() : 13 + in.below(8)));
            p.mov64(kRbx, low);
            break;
          }
          case 2:  // a TSS field: RSP0-2 (offsets 4, 12, 20) or IST1-7 (36..84)
            p.mov64(kRax, kTss + 4 + 8 * in.below(11));
            p.mov64(kRbx, in.flag() ? kStack + (in.u16() & ~7u) : in.u64());
            break;
          default: {  // LGDT (limit, base = kGdt), LIDT (base = kIdt), then LTR
            p.mov64(kRax, 0x30'0000);
            p.mov64(kRbx, (in.flag() ? 0x3F : in.u16()) | ((in.flag() ? kIdt : kGdt) << 16));
            p.bytes({0x48, 0x89, 0x18});                                  // mov [rax], rbx
            p.bytes({0x0F, 0x01, uint8_t(in.flag() ? 0x10 : 0x18)});      // lgdt / lidt [rax]
            p.mov32(kRax, in.flag() ? 0x28 : in.u16());
            p.bytes({0x0F, 0x00, 0xD8});                                  // ltr ax
            continue;
          }
        }
        p.bytes({0x48, 0x89, 0x18});  // mov [rax], rbx
        break;
      }
      case 13: {  // IRETQ with a frame: SS, RSP, RFLAGS, CS, RIP (to CPL 3 or anything)
        const bool user = in.flag();
        for (uint64_t v : {user ? uint64_t(0x1B) : in.u16(), kStack + (in.u16() & ~0xFu),
                           uint64_t(0x202 | (in.flag() ? 0x100 : 0)), user ? uint64_t(0x23) : in.u16(),
                           in.flag() ? kStack : in.u64()}) {
          p.mov64(kRax, v);
          p.bytes({0x50});  // push rax
        }
        p.bytes({0x48, 0xCF});
        break;
      }
      case 14: {  // debug registers, single-step, INT1
        const uint8_t dr = uint8_t(in.below(8));
        switch (in.below(4)) {
          case 0:
            p.mov64(kRax, in.flag() ? kStack + in.below(64) : in.u64());
            p.bytes({0x0F, 0x23, uint8_t(0xC0 | dr << 3)});  // mov drN, rax
            break;
          case 1: p.bytes({0x0F, 0x21, uint8_t(0xC0 | dr << 3)}); break;  // mov rax, drN
          case 2: p.bytes({0x9C, 0x48, 0x81, 0x0C, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9D}); break;  // TF on
          default: p.bytes({0xF1}); break;  // INT1
        }
        break;
      }
      case 15: {  // the UMIP instructions, MOV to CR4
        p.mov64(kRax, 0x30'0000);
        static constexpr uint8_t kUmip[][3] = {{0x0F, 0x01, 0x00}, {0x0F, 0x01, 0x08}, {0x0F, 0x01, 0xE0},
                                               {0x0F, 0x00, 0xC8}, {0x0F, 0x00, 0xC0}};
        if (in.flag()) {
          const auto& i = kUmip[in.below(std::size(kUmip))];
          p.bytes({i[0], i[1], i[2]});
        } else {
          p.mov64(kRax, in.flag() ? (0x6A0 | (uint64_t(in.flag()) << 11)) : in.u64());
          p.bytes({0x0F, 0x22, 0xE0});  // mov cr4, rax
        }
        break;
      }
    }
  }
  p.mov32(kRdx, map::kDebugExitPort);
  p.mov32(kRax, 0);
  p.bytes({0xEE, 0xF4});
  run_program<x86::X86Machine>(cfg, p.code(), traced, twice, budget_for(cfg.quantum, cfg.cpus));
}

}  // namespace irqremap::fuzz
