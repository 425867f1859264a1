#include "tools/format_registry.h"

#include <array>
#include <vector>

#include "arch/arm64/generic_timer.h"
#include "arch/arm64/gic_cpu_interface.h"
#include "arch/arm64/gicv3_distributor.h"
#include "arch/common/multiboot.h"
#include "arch/x86/apic_regs.h"
#include "arch/x86/idt_gate.h"

namespace irqremap::cli {

std::span<const FormatGroup> explainable_format_groups() {
  static const std::array<const fields::Format*, 6> x86_machine{
      &arch::multiboot::kHeader, &arch::multiboot::kInfo, &x86::idt::kGate,
      &x86::apic::kApicBase,     &x86::apic::kSvr,        &x86::apic::kIcr};
  static const std::array<const fields::Format*, 3> arm64_machine{&arm64::gicd::kCtlr, &arm64::icc::kSgi1r,
                                                                   &arm64::cnt::kCtl};
  static const std::vector<FormatGroup> groups = [] {
    std::vector<FormatGroup> g(all_format_groups().begin(), all_format_groups().end());
    g.push_back({"x86 machine (boot, local APIC, IDT)", x86_machine});
    g.push_back({"arm64 machine (GICv3 CPU interface and distributor, generic timer)", arm64_machine});
    return g;
  }();
  return groups;
}

const fields::Format* find_explainable_format(std::string_view name) {
  return find_format_in(explainable_format_groups(), name);
}

}  // namespace irqremap::cli
