#pragma once
// A disassembly listing of one embedded guest firmware stub: every executable section of
// its ELF, with the symbol table's labels, decoded by Capstone for the stub's ISA.
#include <expected>
#include <string>

#include "guest-fw/firmware.h"

namespace irqremap::cli {

// The whole listing, or an error line when the ELF is malformed (bounds are checked:
// the embedded images are trusted to be well formed, but a listing must never crash).
// `symbol` limits the listing to the code from that label to the next one.
std::expected<std::string, std::string> firmware_listing(const guestfw::Firmware& fw,
                                                         const std::string& symbol = {});

}  // namespace irqremap::cli
