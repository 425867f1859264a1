// `irqremap run --arch x86 --gdb` with the real client, gdb-multiarch 13 in batch mode.
// Skipped by name when gdb-multiarch is missing (tests/common/gdb_run.h).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <string>

#include "tests/common/gdb_run.h"
#include "tests/tools/cli_run.h"

namespace {

bool has(const std::string& text, const std::string& what) {
  if (text.find(what) != std::string::npos) return true;
  MESSAGE("missing: " << what);
  return false;
}

}  // namespace

TEST_CASE("gdb x86: a breakpoint in irq-migrate's device handler stops CPU 1 with vector 0x50, then IRTE, watch, step, threads, detach") {
  const auto gdb = gdbtest::find_gdb("gdb x86 irq-migrate session");
  if (!gdb) return;
  const std::vector<std::string> args{"run", "--arch", "x86", "--smp", "4", "--firmware", "x86/irq-migrate"};
  gdbtest::DebuggedRun run(args);
  const std::string out =
      gdbtest::gdb_batch(*gdb, std::string(IRQREMAP_BUILD_DIR) + "/guest-fw/x86-irq-migrate.elf", run.port(),
                         "info threads\n"
                         "break on_device\n"
                         "continue\n"
                         "printf \"stop: rdi=%#x rsi=%d rip=%#lx\\n\", $rdi, $rsi, $rip\n"
                         "x/2gx &vtd_irt[32]\n"
                         "thread 1\n"
                         "printf \"cpu0 before: pc=%#lx\\n\", $pc\n"
                         "thread 2\n"
                         "printf \"before step: pc=%#lx\\n\", $pc\n"
                         "stepi\n"
                         "printf \"after step: pc=%#lx\\n\", $pc\n"
                         "thread 1\n"
                         "printf \"cpu0 after: pc=%#lx\\n\", $pc\n"
                         "thread 2\n"
                         "watch slot_hits[0][1]\n"
                         "continue\n"
                         "delete\n"
                         "info threads\n"
                         "detach\n",
                         run.dir());
  const int status = run.wait();
  CAPTURE(out);
  CHECK(has(out, "_start () at"));  // --gdb-wait: before the first instruction
  CHECK(has(out, "Thread 2 (CPU 1 [off])"));
  // Slot 0's MSI goes through IRTE 32 to CPU 1, vector 0x50: the handler's arguments.
  CHECK(has(out, "Thread 2 hit Breakpoint 1, on_device (vector=vector@entry=80, cpu=cpu@entry=1)"));
  // The stop is at the breakpoint gdb placed (after on_device's prologue).
  const size_t bp_at = out.find("Breakpoint 1 at 0x");
  REQUIRE(bp_at != std::string::npos);
  const uint64_t bp = std::stoull(out.substr(bp_at + 16, out.find_first_of(":\n", bp_at) - bp_at - 16), nullptr, 16);
  CHECK(has(out, fmt::format("stop: rdi=0x50 rsi=1 rip={:#x}", bp)));
  // IRTE 32 as the firmware wrote it: P, vector 0x50, destination APIC ID 1 (VT-d 9.10),
  // source ID 00:03.0 with SVT = 01.
  CHECK(has(out, "<vtd_irt+512>:\t0x0000010000500001\t0x0000000000040018"));
  // stepi: one instruction (the 6-byte load at the handler's first line).
  CHECK(has(out, fmt::format("before step: pc={:#x}", bp)));
  CHECK(has(out, fmt::format("after step: pc={:#x}", bp + 6)));
  // Only the selected CPU stepped: CPU 0 is where it was.
  const auto c0 = out.find("cpu0 before: pc="), c1 = out.find("cpu0 after: pc=");
  REQUIRE(c0 != std::string::npos);
  REQUIRE(c1 != std::string::npos);
  CHECK(out.substr(c0 + 16, out.find('\n', c0) - c0 - 16) == out.substr(c1 + 15, out.find('\n', c1) - c1 - 15));
  // A write watchpoint, reported after the store as x86 data breakpoints are.
  CHECK(has(out, "Thread 2 hit Hardware watchpoint 2: slot_hits[0][1]"));
  CHECK(has(out, "Old value = 0\nNew value = 1"));
  CHECK(has(out, "Thread 1 (CPU 0 [running])"));
  CHECK(has(out, "Thread 3 (CPU 2 [halted])"));
  CHECK(has(out, "[Inferior 1 (Remote target) detached]"));
  CHECK(status == 0);
  CHECK(run.out() == clitest::run_cli(args).out);
  CHECK(has(run.out(), "irq-migrate: ok"));
}

TEST_CASE("gdb x86: set $pc at a breakpoint takes effect at once: stepi runs the instruction at the new PC") {
  const auto gdb = gdbtest::find_gdb("gdb x86 set pc");
  if (!gdb) return;
  const std::vector<std::string> args{"run", "--arch", "x86", "--smp", "4", "--firmware", "x86/irq-migrate"};
  gdbtest::DebuggedRun run(args);
  // At on_device's breakpoint B: B mov routes(%rip), %eax (6 bytes); B + 6 cmp %esi, %eax
  // (2). The cmp out of turn changes only flags, which the load and cmp then set again.
  const std::string out =
      gdbtest::gdb_batch(*gdb, std::string(IRQREMAP_BUILD_DIR) + "/guest-fw/x86-irq-migrate.elf", run.port(),
                         "break on_device\n"
                         "continue\n"
                         "delete\n"
                         "set $b = $pc\n"
                         "set $pc = $b + 6\n"
                         "stepi\n"
                         "printf \"after: pc - b = %d\\n\", $pc - $b\n"
                         "set $pc = $b\n"
                         "detach\n",
                         run.dir());
  CAPTURE(out);
  CHECK(has(out, "after: pc - b = 8"));
  CHECK(run.wait() == 0);
  CHECK(run.out() == clitest::run_cli(args).out);
}

TEST_CASE("gdb x86: an isa-debug-exit under the debugger is an exit with the run's status") {
  const auto gdb = gdbtest::find_gdb("gdb x86 exit");
  if (!gdb) return;
  gdbtest::DebuggedRun run({"run", "--arch", "x86", "--firmware", "x86/uart-hello"});
  const std::string out = gdbtest::gdb_batch(
      *gdb, std::string(IRQREMAP_BUILD_DIR) + "/guest-fw/x86-uart-hello.elf", run.port(), "continue\n", run.dir());
  CAPTURE(out);
  CHECK(has(out, "exited with code 01"));  // (0 << 1) | 1, as QEMU's isa-debug-exit
  CHECK(run.wait() == 1);
  CHECK(has(run.out(), "hello from x86"));
}
