// VEX prefixes (arch/x86/vex_prefix.h): which bytes are one, in which mode, and which
// VEX instructions a CPU with BMI1/BMI2 and no AVX has (SDM vol. 2A §2.3).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "arch/x86/vex_prefix.h"

using namespace irqremap::x86;

namespace {
std::optional<Vex> vex(std::vector<uint8_t> b, bool code64 = true) { return decode_vex(b, code64); }
// "": an instruction the CPU has; otherwise why it is #UD.
std::string undefined(std::vector<uint8_t> b) {
  const auto v = vex(b);
  REQUIRE(v);
  const char* why = vex_undefined(*v);
  return why != nullptr ? why : "";
}
}  // namespace

TEST_CASE("vex: C5 is the 2-byte prefix (R vvvv L pp, map 0F implied), C4 the 3-byte one (R X B mmmmm, W vvvv L pp) (SDM vol. 2A §2.3.5)") {
  const auto two = vex({0xC5, 0xF8, 0x31});  // vvvv 1111, L 0, pp 00
  REQUIRE(two);
  CHECK(two->map == 1);
  CHECK(two->vvvv == 0xF);
  CHECK_FALSE(two->l);
  CHECK(two->pp == 0);
  CHECK(two->opcode == 0x31);
  CHECK_FALSE(two->modrm);
  const auto three = vex({0xC4, 0xE3, 0xFB, 0xF0, 0xC1, 0x05});  // rorx rax,rcx,5
  REQUIRE(three);
  CHECK(three->map == 3);
  CHECK(three->pp == 3);
  CHECK(three->vvvv == 0xF);
  CHECK(three->opcode == 0xF0);
  CHECK(three->modrm == 0xC1);
  CHECK(vex({0x2E, 0xC5, 0xF8, 0x31}));  // a segment override may precede it
  CHECK_FALSE(vex({0x0F, 0x31}));
  CHECK_FALSE(vex({}));
}

TEST_CASE("vex: outside 64-bit code C4/C5 is VEX only when the next byte's bits 7:6 are 11b, else LES/LDS") {
  // lds eax,[ebp+0x31] in 32-bit code; a VEX "RDTSC" in 64-bit code
  CHECK(vex_depends_on_mode(std::vector<uint8_t>{0xC5, 0x45, 0x31}));
  CHECK_FALSE(vex({0xC5, 0x45, 0x31}, false));
  CHECK(vex({0xC5, 0x45, 0x31}, true));
  CHECK(vex({0xC5, 0xF8, 0x31}, false));  // 11b: VEX in any protected mode
  CHECK_FALSE(vex_depends_on_mode(std::vector<uint8_t>{0xC5, 0xF8, 0x31}));
  CHECK_FALSE(vex_depends_on_mode(std::vector<uint8_t>{0x0F, 0x31}));
}

TEST_CASE("vex: BMI1 and BMI2 instructions are defined, with VEX.L = 0 (their opcode tables, \"VEX.LZ\")") {
  CHECK(undefined({0xC4, 0xE2, 0x70, 0xF2, 0xC3}) == "");        // andn eax,ecx,ebx
  CHECK(undefined({0xC4, 0xE2, 0xF0, 0xF3, 0xDB}) == "");        // blsi rcx,rbx (/3)
  CHECK(undefined({0xC4, 0xE2, 0xF0, 0xF3, 0xCB}) == "");        // blsr rcx,rbx (/1)
  CHECK(undefined({0xC4, 0xE2, 0x73, 0xF6, 0xC3}) == "");        // mulx eax,ecx,ebx (F2)
  CHECK(undefined({0xC4, 0xE2, 0x72, 0xF7, 0xC3}) == "");        // sarx eax,ebx,ecx (F3)
  CHECK(undefined({0xC4, 0xE2, 0x71, 0xF7, 0xC3}) == "");        // shlx (66)
  CHECK(undefined({0xC4, 0xE3, 0xFB, 0xF0, 0xC1, 0x05}) == "");  // rorx rax,rcx,5
  CHECK(undefined({0xC4, 0xE2, 0x74, 0xF2, 0xC3}) == "VEX.L = 1 on a BMI instruction");
  CHECK(undefined({0xC4, 0xE3, 0xF3, 0xF0, 0xC1, 0x05}) == "VEX.vvvv not 1111b on RORX");
  // F3 /0 is none of BLSR, BLSMSK, BLSI
  CHECK(undefined({0xC4, 0xE2, 0xF0, 0xF3, 0xC3}).find("no such VEX instruction") == 0);
}

TEST_CASE("vex: with no AVX every other VEX encoding is undefined (#UD), which Unicorn would run as the legacy or SSE instruction") {
  for (const auto& b : std::vector<std::vector<uint8_t>>{
           {0xC5, 0x0F, 0x01, 0xF9},  // the fuzzing finding: a VEX "RDTSCP" on the host's TSC
           {0xC5, 0xF8, 0x31},        // a VEX "RDTSC"
           {0xC4, 0xE1, 0x78, 0x32},  // a VEX "RDMSR", map 0F in the 3-byte form
           {0xC5, 0xF8, 0xA2},        // a VEX "CPUID"
           {0xC5, 0xF8, 0x28, 0xC1},  // vmovaps: AVX
           {0xC5, 0xF8, 0x77},        // vzeroupper: AVX
           {0xC4, 0xE0, 0x78, 0x00, 0x00}}) {  // map 0: reserved
    CAPTURE(b.size());
    CHECK(undefined(b) == "no such VEX instruction: this CPU has no AVX, only BMI1 and BMI2");
  }
  // LOCK, 66, F2, F3 or REX before VEX: #UD even before a BMI opcode (§2.3.2-§2.3.4)
  const std::string before = "a LOCK, 66, F2, F3 or REX prefix before VEX";
  CHECK(undefined({0x66, 0xC4, 0xE2, 0x70, 0xF2, 0xC3}) == before);
  CHECK(undefined({0x48, 0xC4, 0xE2, 0x70, 0xF2, 0xC3}) == before);
  CHECK(undefined({0x65, 0xC4, 0xE2, 0x70, 0xF2, 0xC3}) == "");  // GS: allowed
}
