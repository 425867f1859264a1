// The instructions the x86 vCPU performs itself (arch/x86/trapped_insn.h), recognised
// from their bytes with any legacy prefix or REX, and a LOCK or VEX prefix reported (#UD).
#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "arch/x86/trapped_insn.h"

using namespace irqremap::x86;

namespace {
TrappedInsn of(std::vector<uint8_t> b, bool code64 = true) { return classify_trapped(b, code64); }
}  // namespace

TEST_CASE("trapped insn: RDMSR 0F 32, WRMSR 0F 30, RDTSC 0F 31, RDTSCP 0F 01 F9 (SDM vol. 2 opcode tables)") {
  static_assert(classify_trapped(std::array<uint8_t, 2>{0x0F, 0x31}, true).op == TrappedOp::Rdtsc);
  CHECK(of({0x0F, 0x32}).op == TrappedOp::Rdmsr);
  CHECK(of({0x0F, 0x30}).op == TrappedOp::Wrmsr);
  CHECK(of({0x0F, 0x31}).op == TrappedOp::Rdtsc);
  CHECK(of({0x0F, 0x01, 0xF9}).op == TrappedOp::Rdtscp);
  CHECK(of({0x0F, 0x31}).undefined == Undefined::No);
}

TEST_CASE("trapped insn: legacy prefixes and REX are skipped; LOCK is reported for #UD") {
  CHECK(of({0x2E, 0x0F, 0x31}).op == TrappedOp::Rdtsc);
  CHECK(of({0x66, 0xF3, 0x0F, 0x01, 0xF9}).op == TrappedOp::Rdtscp);
  CHECK(of({0x48, 0x0F, 0x32}).op == TrappedOp::Rdmsr);
  CHECK(of({0x65, 0x67, 0x41, 0x0F, 0x30}).op == TrappedOp::Wrmsr);
  const TrappedInsn locked = of({0xF0, 0x0F, 0x31});
  CHECK(locked.op == TrappedOp::Rdtsc);
  CHECK(locked.undefined == Undefined::Lock);
  CHECK(of({0x3E, 0xF0, 0x48, 0x0F, 0x01, 0xF9}).undefined == Undefined::Lock);
}

TEST_CASE("trapped insn: other instructions that end in the same bytes are not trapped") {
  CHECK(of({0x31, 0xC0}).op == TrappedOp::None);                    // xor eax,eax
  CHECK(of({0x0F, 0x01, 0xF8}).op == TrappedOp::None);              // swapgs
  CHECK(of({0x0F, 0x01, 0xD0}).op == TrappedOp::None);              // xgetbv
  CHECK(of({0xB8, 0x0F, 0x31, 0x00, 0x00}).op == TrappedOp::None);  // mov eax,0x310f
  CHECK(of({0x0F, 0x33}).op == TrappedOp::None);                    // rdpmc: Unicorn's own
  CHECK(of({0xF0, 0x01, 0x30}).op == TrappedOp::None);              // lock add [rax],esi
  CHECK(of({0xF0, 0x01, 0x30}).undefined == Undefined::No);                       // ... is no concern here
  CHECK(of({}).op == TrappedOp::None);
  CHECK(of({0x66, 0x66}).op == TrappedOp::None);
}

TEST_CASE("trapped insn: a VEX prefix before the opcode makes it undefined (#UD), in every mode where C4/C5 is VEX (SDM vol. 2A §2.3.5)") {
  // The fuzzing finding: C5 0F 01 F9, a VEX "RDTSCP" Unicorn ran as RDTSCP on the host TSC.
  const TrappedInsn found = of({0xC5, 0x0F, 0x01, 0xF9});
  CHECK(found.op == TrappedOp::Rdtscp);
  CHECK(found.undefined == Undefined::Vex);
  CHECK(of({0xC5, 0xF8, 0x31}).undefined == Undefined::Vex);              // VEX.128.0F 31
  CHECK(of({0xC4, 0xE1, 0x78, 0x32}).op == TrappedOp::Rdmsr);            // 3-byte VEX, map 0F
  CHECK(of({0xC4, 0xE1, 0x78, 0x32}).undefined == Undefined::Vex);
  CHECK(of({0x2E, 0xC5, 0xF8, 0x30}).undefined == Undefined::Vex);        // after a prefix too
  CHECK(of({0xC4, 0xE2, 0x78, 0x31}).op == TrappedOp::None);              // map 0F 38: not these
  CHECK(of({0xC5, 0xF8, 0x31}, false).undefined == Undefined::Vex);       // 11b: VEX in 32-bit mode
}

TEST_CASE("trapped insn: outside 64-bit mode C4/C5 with bits 7:6 of the next byte not 11b is LES/LDS, which runs (SDM LDS/LES)") {
  // lds eax,[ebp+0x31]: the bytes of a VEX "RDTSC" in 64-bit mode
  CHECK(vex_depends_on_mode(std::vector<uint8_t>{0xC5, 0x45, 0x31}));
  CHECK(of({0xC5, 0x45, 0x31}, false).op == TrappedOp::None);
  CHECK(of({0xC5, 0x45, 0x31}, true).undefined == Undefined::Vex);
  // Bits 7:6 = 11b: VEX in any protected mode, so the mode is not needed.
  CHECK_FALSE(vex_depends_on_mode(std::vector<uint8_t>{0xC5, 0xF8, 0x31}));
  CHECK_FALSE(vex_depends_on_mode(std::vector<uint8_t>{0x0F, 0x31}));
}
