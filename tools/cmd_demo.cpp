// irqremap demo: the main job (the live scenario is in cmd_demo_live.cpp). --tour is the
// explain-only guided tour of how each architecture remaps one device's interrupt, field
// by field from the same tables the emulator uses.
#include <fmt/format.h>
#include <memory>

#include "remap/formats.h"
#include "remap/msi.h"
#include "remap/its/command_format.h"
#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"
#include <CLI/CLI.hpp>

#include "tools/cli.h"
#include "tools/explain_msi.h"
#include "tools/stop_signals.h"

namespace irqremap::cli {

namespace {

std::vector<uint64_t> must_encode(const fields::Format& f,
                                  std::vector<std::pair<std::string, uint64_t>> as) {
  auto w = fields::encode(f, as);
  if (!w) throw std::logic_error("demo value does not encode: " + w.error());
  return *w;
}

int run_demo(Io io) {
  io.out << "irqremap demo — one device, one interrupt, two remapping units\n"
            "==============================================================\n\n"
            "A device writes its MSI message (address/data) once, at startup. Moving the\n"
            "interrupt to another CPU never touches the device again: the remapping unit's\n"
            "tables hold the affinity.\n\n";

  io.out << "Step 1 (x86, VT-d). The device at 00:03.0 was given a remappable MSI: handle 5,\n"
            "SHV=1, subhandle 0. The address carries no CPU and no vector:\n\n";
  const uint32_t addr = vtd::msi::remappable_address(5, true);
  if (int rc = explain_msi_x86(MsiQuery{addr, 0, std::nullopt, false}, false, io); rc != 0)
    return rc;

  io.out << "\nStep 2 (x86, VT-d). IRTE 5 in the interrupt remapping table says where it goes:\n"
            "vector 0x41, fixed delivery, physical destination APIC 3, and only requester\n"
            "00:03.0 may use it (SVT=01, SQ=00):\n\n";
  const auto irte = must_encode(vtd::irte::kRemapped, {{"P", 1},
                                                       {"DLM", 0},
                                                       {"V", 0x41},
                                                       {"DST", 3u << 8},
                                                       {"SID", make_rid(0, 3, 0)},
                                                       {"SVT", 1}});
  io.out << fields::explain(fields::decode(vtd::irte::kIrte, irte));
  io.out << fmt::format(
      "\n  To migrate to APIC 2 the OS rewrites DST (low qword {:#018x} -> {:#018x}) and\n"
      "  flushes the interrupt entry cache with an IEC invalidate descriptor for index 5.\n",
      irte[0], fields::set(irte[0], vtd::irte::DST, 2u << 8));

  io.out << "\nStep 3 (arm64, GICv3 ITS). The same device, DeviceID 2, writes EventID 3 to\n"
            "GITS_TRANSLATER:\n\n";
  if (int rc = explain_msi_arm64(MsiQuery{0x08090040, 3, 2u, false}, false, io); rc != 0)
    return rc;
  io.out << "\nStep 4 (arm64, GICv3 ITS). The driver mapped that event with MAPTI: LPI 8195 in\n"
            "collection 1 (one collection per CPU):\n\n";
  const auto mapti = must_encode(
      its::cmd::kMapti, {{"DeviceID", 2}, {"EventID", 3}, {"pINTID", 8195}, {"ICID", 1}});
  io.out << fields::explain(fields::decode(its::cmd::kMapti, mapti));
  io.out << "\n  To migrate, the OS queues MOVI (DeviceID 2, EventID 3, ICID 2) and SYNC; the\n"
            "  device's message store is never written again.\n\n"
            "Try it yourself:  irqremap explain --list   |   irqremap encode irte-remapped P=1 V=0x41\n";
  return 0;
}

}  // namespace

int run_live_demo(Io io, bool x86, bool arm64, const std::string& trace_out,
                  const std::string& trace_svg, const std::string& svg_window);  // cmd_demo_live.cpp

void add_demo(CLI::App& app, Context& ctx) {
  CLI::App* sub = app.add_subcommand(
      "demo",
      "The main job: one device, its message written once, the interrupt migrated and a CPU\n"
      "hot-unplugged on both machines (ITS MOVI+SYNC, VT-d IRTE+IEC flush), step by step");
  auto arch = std::make_shared<std::string>("both");
  auto tour = std::make_shared<bool>(false);
  auto trace_out = std::make_shared<std::string>();
  auto trace_svg = std::make_shared<std::string>();
  auto svg_window = std::make_shared<std::string>();
  sub->add_option("--arch", *arch, "Which machine: arm64, x86 or both")
      ->check(CLI::IsMember({"arm64", "x86", "both"}));
  sub->add_flag("--tour", *tour, "The explain-only guided tour (no CPUs): MSI, IRTE, MAPTI field by field");
  sub->add_option("--trace-out", *trace_out,
                  "Write the runs as Trace Event Format JSON (open in ui.perfetto.dev or chrome://tracing)");
  CLI::Option* svg = sub->add_option("--trace-svg", *trace_svg,
                  "Draw the same timeline as a self-contained SVG picture (lanes, handler slices, MSI arrows)");
  sub->add_option("--trace-svg-window", *svg_window,
                  "Draw only the span of the firmware phases whose names start with this, e.g. migrate")
      ->needs(svg);
  sub->callback([&ctx, arch, tour, trace_out, trace_svg, svg_window] {
    if (*tour) {
      ctx.status = run_demo(ctx.io);
      return;
    }
    // The live demo runs machines: Ctrl-C stops them as it stops `run` (the story so far,
    // RUN FAILED with the stop line, the trace files, status 1).
    const StopSignals signals;
    ctx.status = run_live_demo(ctx.io, *arch != "arm64", *arch != "x86", *trace_out, *trace_svg, *svg_window);
  });
}

}  // namespace irqremap::cli
