// `irqremap run --gdb PORT [--gdb-wait]`: the port spellings QEMU users type, the
// refusals, and a client that goes away leaving the run to finish.
#include <doctest/doctest.h>

#include "arch/common/gdb/packet.h"
#include "tests/common/gdb_run.h"
#include "tests/tools/cli_run.h"
#include "tools/cli.h"
#include "tools/gdb_attach.h"

using irqremap::cli::parse_gdb_port;

TEST_CASE("run --gdb takes a port as QEMU's -gdb does: N, tcp::N, tcp:localhost:N, tcp:127.0.0.1:N") {
  CHECK(parse_gdb_port("1234") == 1234);
  CHECK(parse_gdb_port("tcp::1234") == 1234);
  CHECK(parse_gdb_port("tcp:localhost:4321") == 4321);
  CHECK(parse_gdb_port("tcp:127.0.0.1:65535") == 65535);
  // Another address is refused: the stub listens on 127.0.0.1 only.
  for (const char* bad : {"tcp:0.0.0.0:1234", "", "tcp::", "65536", "12x", "-1", "unix:/tmp/gdb"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_gdb_port(bad), irqremap::cli::UsageError);
  }
}

TEST_CASE("run --gdb-wait without --gdb and --gdb with a bad port are usage errors (status 2)") {
  auto a = clitest::run_cli({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello", "--gdb-wait"});
  CHECK(a.status == 2);
  CHECK(a.err.find("--gdb") != std::string::npos);
  auto b = clitest::run_cli({"run", "--arch", "x86", "--firmware", "x86/uart-hello", "--gdb", "tcp:0.0.0.0:1"});
  CHECK(b.status == 2);
  CHECK(b.err.find("127.0.0.1 only") != std::string::npos);
  CHECK(b.out.empty());  // refused before anything ran
}

TEST_CASE("run --gdb: a client that disconnects while the machine waits lets the run go on to its normal end") {
  gdbtest::DebuggedRun run({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello"});
  {
    gdbtest::GdbSocket s(run.port());
    s.send_raw(irqremap::gdb::frame("qSupported"));
    CHECK(s.reply().find("PacketSize=4000") != std::string::npos);
    s.send_raw(irqremap::gdb::frame("Z0,40080000,4"));  // forgotten with the client
    CHECK(s.reply() == "OK");
  }
  CHECK(run.wait() == 0);
  CHECK(run.out() == clitest::run_cli({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello"}).out);
}

TEST_CASE("run --gdb without --gdb-wait: the machine runs at once, a client that connects stops it, D lets it go on") {
  // A budget keeps the run short (also under the sanitizers); it ends there as without a
  // debugger, with status 1 and the budget's line.
  const std::vector<std::string> args{"run", "--arch", "arm64", "--firmware", "arm64/compute", "--max-insns",
                                      "3000000"};
  gdbtest::DebuggedRun run(args, false);
  gdbtest::GdbSocket s(run.port());
  s.send_raw(irqremap::gdb::frame("?"));
  CHECK(s.reply() == "T05thread:1;");
  s.send_raw(irqremap::gdb::frame("p20"));  // pc, wherever the machine had got to
  CHECK(s.reply().size() == 16);
  s.send_raw(irqremap::gdb::frame("D"));
  CHECK(s.reply() == "OK");
  CHECK(run.wait() == 1);
  CHECK(run.err().find("instruction budget of 3000000 exhausted") != std::string::npos);
}
