// The machines' formats reach `explain` and `encode` through the CLI's registry
// (tools/format_registry.h): the multiboot structures (issue 12 "Explain"), the local
// APIC and IDT formats, the GIC CPU interface, distributor and timer registers.
#include <doctest/doctest.h>

#include <sstream>

#include "tests/tools/cli_run.h"
#include "tools/format_registry.h"

using clitest::run_cli;

TEST_CASE("format registry: every listed format is found by its name, machines' formats included") {
  size_t n = 0;
  for (const irqremap::FormatGroup& g : irqremap::cli::explainable_format_groups())
    for (const irqremap::fields::Format* f : g.formats) {
      CHECK(irqremap::cli::find_explainable_format(f->name) == f);
      ++n;
    }
  CHECK(irqremap::cli::find_explainable_format("MULTIBOOT-INFO") != nullptr);  // case-insensitive
  CHECK(n > irqremap::all_format_groups().size());
}

TEST_CASE("explain multiboot-info: the structure QEMU's -kernel passes in EBX (Multiboot 0.6.96 §3.3)") {
  // flags 0x24f (mem_*, boot_device, cmdline, mods, mmap, boot_loader_name as QEMU sets),
  // mem_lower 640 KiB, mem_upper 130048 KiB (128 MiB - 1 MiB).
  auto r = run_cli({"explain", "multiboot-info", "encode-me"});
  CHECK(r.status == 2);
  auto e = run_cli({"encode", "multiboot-info", "flags=0x24f", "mem_lower=640", "mem_upper=130048"});
  REQUIRE(e.status == 0);
  std::vector<std::string> args{"explain", "multiboot-info"};
  std::istringstream words(e.out);
  for (std::string w; words >> w;) args.push_back(w);
  auto x = run_cli(args);
  REQUIRE(x.status == 0);
  CHECK(x.out.find("Multiboot Specification 0.6.96 §3.3") != std::string::npos);
  CHECK(x.out.find("mem_upper") != std::string::npos);
  CHECK(x.out.find("0x1fc00") != std::string::npos);  // 130048 KiB
  CHECK(x.out.find("0x24f") != std::string::npos);
  auto l = run_cli({"explain", "--list"});
  CHECK(l.out.find("multiboot-header") != std::string::npos);
  CHECK(l.out.find("icc-sgi1r") != std::string::npos);
  CHECK(l.out.find("apic-icr") != std::string::npos);
}

TEST_CASE("explain icc-sgi1r: an SGI 3 broadcast (IRM=1) is explained field by field (IHI0069 §12.2)") {
  auto r = run_cli({"explain", "icc-sgi1r", "0x0000010003000000"});
  REQUIRE(r.status == 0);
  CHECK(r.out.find("IRM") != std::string::npos);
  CHECK(r.out.find("INTID") != std::string::npos);
}
