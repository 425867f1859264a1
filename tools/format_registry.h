#pragma once
// Every format `irqremap explain` and `encode` know: the remapping units' (remap/formats.h)
// and the machines' own (multiboot structures, local APIC and IDT formats, GIC CPU
// interface, distributor and timer registers). The machines sit above remap/, so their
// formats join here, in the CLI.
#include <span>
#include <string_view>

#include "remap/formats.h"

namespace irqremap::cli {

std::span<const FormatGroup> explainable_format_groups();
// By CLI name (case-insensitive), or nullptr.
const fields::Format* find_explainable_format(std::string_view name);

}  // namespace irqremap::cli
