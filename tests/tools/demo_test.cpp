// irqremap demo: the live scenario on both machines, with the written-once invariant.
#include <doctest/doctest.h>

#include <sstream>

#include "tools/cli.h"

namespace {
int run(std::vector<std::string> args, std::string& out) {
  std::ostringstream o, e;
  const int st = irqremap::cli::run(args, o, e);
  out = o.str();
  return st;
}
size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("demo: both machines migrate the device's interrupt while its message stays written once") {
  std::string out;
  REQUIRE(run({"demo"}, out) == 0);
  CHECK(count(out, "written once          : yes") == 2);
  // AArch64: the migration is MOVI + SYNC in the ITS, and the next LPI lands on RD 2.
  CHECK(out.find("[its] command: MOVI DeviceID=0x10 EventID=0x0 ICID=0x2") != std::string::npos);
  CHECK(out.find("-> ICID 2 -> RD 2 LPI 8192") != std::string::npos);
  // x86: the migration is an IRTE rewrite + IEC index flush, and the next MSI reaches CPU 2.
  CHECK(out.find("[vtd] command: IEC invalidate, index 32..32") != std::string::npos);
  CHECK(out.find("-> IRTE 32 -> delivered dest=0x2 vector=0x50") != std::string::npos);
  CHECK(out.find("firmware: irq-unplug: ok") != std::string::npos);
  CHECK(out.find("on CPU 2 after CPU_OFF: 0") != std::string::npos);
  CHECK(out.find("rewritten while enabled") == std::string::npos);
}

TEST_CASE("demo --arch x86 runs only the x86 machine; --tour keeps the explain-only tour") {
  std::string out;
  REQUIRE(run({"demo", "--arch", "x86"}, out) == 0);
  CHECK(out.find("AArch64 (QEMU virt") == std::string::npos);
  CHECK(count(out, "written once          : yes") == 1);
  REQUIRE(run({"demo", "--tour"}, out) == 0);
  CHECK(out.find("Step 4 (arm64, GICv3 ITS)") != std::string::npos);
}
