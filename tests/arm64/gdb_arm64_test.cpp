// `irqremap run --arch arm64 --gdb` with the real client, gdb-multiarch 13 in batch mode,
// and with raw packets for what batch mode cannot do (Ctrl-C, malformed packets, kill).
// Skipped by name when gdb-multiarch is missing (tests/common/gdb_run.h).
#include <doctest/doctest.h>

#include <string>

#include "tests/common/gdb_run.h"
#include "tests/tools/cli_run.h"
#include "arch/common/gdb/packet.h"

namespace {

const std::string kItsMigrateElf = std::string(IRQREMAP_BUILD_DIR) + "/guest-fw/arm64-its-migrate.elf";
const std::string kUartHelloElf = std::string(IRQREMAP_BUILD_DIR) + "/guest-fw/arm64-uart-hello.elf";

bool has(const std::string& text, const std::string& what) {
  if (text.find(what) != std::string::npos) return true;
  MESSAGE("missing: " << what);
  return false;
}

}  // namespace

TEST_CASE("gdb arm64: a breakpoint in its-migrate's LPI handler stops CPU 1 with the INTID, then table, watch, step, threads, detach") {
  const auto gdb = gdbtest::find_gdb("gdb arm64 its-migrate session");
  if (!gdb) return;
  gdbtest::DebuggedRun run({"run", "--arch", "arm64", "--smp", "4", "--firmware", "arm64/its-migrate"});
  const std::string out = gdbtest::gdb_batch(*gdb, kItsMigrateElf, run.port(),
                                             "info threads\n"
                                             "break handle_lpi\n"
                                             "continue\n"
                                             "printf \"stop: x0=%d x1=%d pc=%#lx\\n\", $x0, $x1, $pc\n"
                                             "x/2gx &cmd_queue\n"
                                             "thread 1\n"
                                             "printf \"cpu0 before: pc=%#lx\\n\", $pc\n"
                                             "thread 2\n"
                                             "printf \"before step: pc=%#lx\\n\", $pc\n"
                                             "stepi\n"
                                             "printf \"after step: pc=%#lx\\n\", $pc\n"
                                             "thread 1\n"
                                             "printf \"cpu0 after: pc=%#lx\\n\", $pc\n"
                                             "thread 2\n"
                                             "watch handled[1]\n"
                                             "continue\n"
                                             "delete\n"
                                             "info threads\n"
                                             "thread 1\n"
                                             "printf \"thread 1: el=%d\\n\", ($cpsr >> 2) & 3\n"
                                             "detach\n",
                                             run.dir());
  const int status = run.wait();
  CAPTURE(out);
  // --gdb-wait: CPU 0 held at the entry point before its first instruction.
  CHECK(has(out, "_start () at"));
  CHECK(has(out, "Thread 2 (CPU 1 [off])"));
  // The LPI is acknowledged on CPU 1 (its collection): gdb switches to thread 2, and the
  // handler's arguments are the CPU and INTID 8192.
  CHECK(has(out, "Thread 2 hit Breakpoint 1"));
  CHECK(has(out, "handle_lpi (cpu=1, intid=8192)"));
  CHECK(has(out, "stop: x0=1 x1=8192 pc=0x40080040"));
  // The first command queue entry the firmware wrote: MAPC (0x09) for ICID 0.
  CHECK(has(out, "<cmd_queue>:\t0x0000000000000009\t0x0000000000000000"));
  // stepi at the handler's first instruction (not a branch) moves CPU 1 by one A64
  // instruction.
  CHECK(has(out, "before step: pc=0x40080040"));
  CHECK(has(out, "after step: pc=0x40080044"));
  // Only the selected CPU stepped: CPU 0 is where it was.
  const auto c0 = out.find("cpu0 before: pc="), c1 = out.find("cpu0 after: pc=");
  REQUIRE(c0 != std::string::npos);
  REQUIRE(c1 != std::string::npos);
  CHECK(out.substr(c0 + 16, out.find('\n', c0) - c0 - 16) == out.substr(c1 + 15, out.find('\n', c1) - c1 - 15));
  // A write watchpoint on CPU 1's counter: gdb sees the store the handler makes.
  CHECK(has(out, "Hardware watchpoint 2: handled[1]"));
  CHECK(has(out, "Thread 2 hit Hardware watchpoint 2: handled[1]"));
  CHECK(has(out, "Old value = 0\nNew value = 1"));
  // Every CPU is a thread; the secondaries wait in WFI while CPU 1 handles the LPI.
  CHECK(has(out, "Thread 1 (CPU 0 [running])"));
  CHECK(has(out, "Thread 4 (CPU 3 [halted in WFI])"));
  CHECK(has(out, "thread 1: el=1"));
  CHECK(has(out, "[Inferior 1 (Remote target) detached]"));
  // After the detach the run goes on and prints exactly what it prints without a debugger.
  CHECK(status == 0);
  const auto plain = clitest::run_cli({"run", "--arch", "arm64", "--smp", "4", "--firmware", "arm64/its-migrate"});
  CHECK(run.out() == plain.out);
  CHECK(has(run.out(), "total: 10 triggered, 10 handled"));
}

TEST_CASE("gdb arm64: with the MMU on, x reads through the guest's own tables (TTBR0 user page, TTBR1 alias)") {
  const auto gdb = gdbtest::find_gdb("gdb arm64 va-pages memory");
  if (!gdb) return;
  gdbtest::DebuggedRun run({"run", "--arch", "arm64", "--firmware", "arm64/va-pages"});
  const std::string out = gdbtest::gdb_batch(
      *gdb, std::string(IRQREMAP_BUILD_DIR) + "/guest-fw/arm64-va-pages.elf", run.port(),
      "hbreak check\n"
      "continue\n"
      "x/gx 0x1000000000\n"                              // USER_VA: user_page[0] (ASID 0)
      "x/gx 0x1000001000\n"                              // remapped to user_page[3]
      "x/gx 0xffff000000000000 + (long)&user_page[1]\n"  // RAM's TTBR1 alias
      "printf \"M=%d\\n\", $SCTLR_EL1 & 1\n"
      "detach\n",
      run.dir());
  CAPTURE(out);
  CHECK(has(out, "Hardware assisted breakpoint 1 at"));  // Z1
  CHECK(has(out, "Breakpoint 1.1, check ("));  // check() is inlined too: two locations
  CHECK(has(out, "0x1000000000:\t0x000000000000aaaa"));
  CHECK(has(out, "0x1000001000:\t0x000000000000dddd"));
  CHECK(has(out, ":\t0x000000000000bbbb"));
  CHECK(has(out, "M=1"));
  CHECK(run.wait() == 0);
  CHECK(has(run.out(), "code at TTBR1: ok"));
}

TEST_CASE("gdb arm64: read (Z3) and access (Z4) watchpoints stop the CPU that reads, with the value read") {
  const auto gdb = gdbtest::find_gdb("gdb arm64 read/access watchpoints");
  if (!gdb) return;
  gdbtest::DebuggedRun run({"run", "--arch", "arm64", "--smp", "4", "--firmware", "arm64/its-migrate"});
  const std::string out = gdbtest::gdb_batch(*gdb, kItsMigrateElf, run.port(),
                                             "rwatch online[1]\n"
                                             "continue\n"
                                             "delete\n"
                                             "awatch handled[2]\n"
                                             "continue\n"
                                             "delete\n"
                                             "detach\n",
                                             run.dir());
  CAPTURE(out);
  // CPU 0 polls CPU 1's mailbox after CPU_ON; CPU 1 has already set it (CPU_ON ends CPU
  // 0's quantum, and CPU 1 runs first).
  CHECK(has(out, "Thread 1 hit Hardware read watchpoint 1: online[1]\n\nValue = 1"));
  CHECK(has(out, "in main () at"));
  // CPU 0 sums the counters in total() before CPU 2 has handled anything.
  CHECK(has(out, "Thread 1 hit Hardware access (read/write) watchpoint 2: handled[2]\n\nValue = 0"));
  CHECK(has(out, "in total () at"));
  CHECK(run.wait() == 0);
  CHECK(has(run.out(), "total: 10 triggered, 10 handled"));
}

TEST_CASE("gdb arm64: breakpoints and watchpoints change nothing the guest does: the --trace is byte for byte the same") {
#ifdef IRQREMAP_SANITIZED
  MESSAGE("SKIPPED gdb trace identity: sanitizer build (two traced runs of 400,000 lines; the normal build runs it)");
  return;
#endif
  const auto gdb = gdbtest::find_gdb("gdb arm64 trace identity");
  if (!gdb) return;
  const std::vector<std::string> args{"run", "--arch", "arm64", "--smp", "4", "--firmware", "arm64/its-migrate",
                                      "--trace"};
  gdbtest::DebuggedRun run(args);
  // Three stops in the handler on CPU 1, a watchpoint hit on CPU 2's counter, a step.
  const std::string out = gdbtest::gdb_batch(*gdb, kItsMigrateElf, run.port(),
                                             "break handle_lpi\n"
                                             "continue\n"
                                             "continue\n"
                                             "continue\n"
                                             "delete\n"
                                             "watch handled[2]\n"
                                             "continue\n"
                                             "stepi\n"
                                             "delete\n"
                                             "detach\n",
                                             run.dir());
  CAPTURE(out);
  CHECK(has(out, "Thread 3 hit Hardware watchpoint 2: handled[2]"));
  CHECK(run.wait() == 0);
  // Every instruction, MMIO access, ITS command and delivery, in the same order on the
  // same CPU at the same virtual time as without the debugger.
  const auto plain = clitest::run_cli(args);
  CHECK(run.out().size() == plain.out.size());
  CHECK(run.out() == plain.out);
}

TEST_CASE("gdb arm64: set $pc at a breakpoint takes effect at once: stepi runs the instruction at the new PC") {
  const auto gdb = gdbtest::find_gdb("gdb arm64 set pc");
  if (!gdb) return;
  const std::vector<std::string> args{"run", "--arch", "arm64", "--smp", "4", "--firmware", "arm64/its-migrate"};
  gdbtest::DebuggedRun run(args);
  // handle_lpi: 0x40080040 cmp w1, #8192; ... 0x40080048 mov w8, w0; 0x4008004c adrp x9.
  // Running the mov out of turn changes nothing (w8 is scratch and the mov runs again).
  const std::string out = gdbtest::gdb_batch(*gdb, kItsMigrateElf, run.port(),
                                             "break handle_lpi\n"
                                             "continue\n"
                                             "delete\n"
                                             "set $x8 = 0\n"
                                             "set $pc = 0x40080048\n"
                                             "stepi\n"
                                             "printf \"after: pc=%#lx x8=%d\\n\", $pc, $x8\n"
                                             "set $pc = 0x40080040\n"
                                             "detach\n",
                                             run.dir());
  CAPTURE(out);
  CHECK(has(out, "after: pc=0x4008004c x8=1"));  // the mov ran once (x8 = w0 = CPU 1)
  CHECK(run.wait() == 0);
  CHECK(run.out() == clitest::run_cli(args).out);
}

TEST_CASE("gdb arm64: a guest that powers off under the debugger is an exit gdb reports, with the run's status") {
  const auto gdb = gdbtest::find_gdb("gdb arm64 power-off");
  if (!gdb) return;
  gdbtest::DebuggedRun run({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello"});
  const std::string out = gdbtest::gdb_batch(*gdb, kUartHelloElf, run.port(), "continue\n", run.dir());
  CAPTURE(out);
  CHECK(has(out, "exited normally"));
  CHECK(run.wait() == 0);
  CHECK(run.out() == clitest::run_cli({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello"}).out);
}

TEST_CASE("gdb arm64 stub: Ctrl-C stops a running machine, malformed packets get errors, k ends the run") {
  // Raw packets: no gdb-multiarch needed. compute runs for seconds: long enough to interrupt.
  gdbtest::DebuggedRun run({"run", "--arch", "arm64", "--firmware", "arm64/compute"});
  gdbtest::GdbSocket s(run.port());
  using irqremap::gdb::frame;
  s.send_raw(frame("QStartNoAckMode"));
  CHECK(s.reply() == "OK");
  s.send_raw(frame("vCont;c"));
  s.send_raw("\x03");
  CHECK(s.reply() == "T02thread:1;");  // SIGINT, on CPU 0
  for (const char* bad : {"mzz,4", "m40080000", "Z0,zz,4", "P99=00", "Hg9", "qXfer:features:read:x.xml:0,10"}) {
    CAPTURE(bad);
    s.send_raw(frame(bad));
    CHECK(s.reply().starts_with("E"));
  }
  s.send_raw("$" + std::string(0x5000, 'm') + "#00");  // past PacketSize
  CHECK(s.reply() == "E05");
  s.send_raw(frame("m40080000,4"));  // still serving after all that: the first instruction word
  const std::string word = s.reply();
  CHECK(word.size() == 8);
  CHECK(word.find_first_not_of("0123456789abcdef") == std::string::npos);
  s.send_raw(frame("k"));
  CHECK(run.wait() == 1);
  CHECK(run.err().find("killed by the debugger") != std::string::npos);
}
