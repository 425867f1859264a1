#pragma once
// Remapper: the cross-architecture interface both remapping units implement
// (docs/DESIGN.md, "Shared vocabulary"). A machine's MSI path is: device -> MsiWrite ->
// Remapper::translate -> delivery to the unit's own target interface (local APICs or
// redistributors), or a fault/drop.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "remap/msi.h"

namespace irqremap {

// x86: what VT-d hands to the local APICs (spec §5.1.4: the interrupt request after
// remapping, or a compatibility-format message passed through).
struct ApicDelivery {
  uint32_t dest = 0;         // APIC ID (xAPIC: 8 bits; x2APIC: 32 bits)
  bool dest_logical = false; // DM
  bool redirection_hint = false;  // RH
  uint8_t vector = 0;
  uint8_t delivery_mode = 0;  // DLM: 0 Fixed, 1 LowPri, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT
  bool level = false;         // TM
  bool remapped = true;       // false: compatibility format passed through (CFIS)
  bool operator==(const ApicDelivery&) const = default;
};

// x86: a posted interrupt (IRTE IM=1, spec §5.2.3): PIR bit set in the descriptor and,
// when due, a notification interrupt.
struct PostedDelivery {
  uint64_t descriptor = 0;  // posted-interrupt descriptor address
  uint8_t vector = 0;       // VV: the PIR bit set
  bool notified = false;    // the notification event was sent
  uint32_t ndst = 0;        // notification destination
  uint8_t nv = 0;           // notification vector
  bool operator==(const PostedDelivery&) const = default;
};

// AArch64: an LPI handed to a redistributor.
struct LpiDelivery {
  uint32_t rd = 0;     // redistributor (PE number)
  uint32_t intid = 0;  // pINTID (>= 8192)
  bool operator==(const LpiDelivery&) const = default;
};

// The request went nowhere: a VT-d fault (reason 0x20..0x28) or an ITS drop.
struct Blocked {
  uint32_t reason = 0;   // VT-d fault reason; for the ITS an implementation code
  std::string what;      // one line naming the cause with spec names
  bool recorded = false; // VT-d: a fault record was written (false under FPD)
  bool operator==(const Blocked&) const = default;
};

using Translation = std::variant<ApicDelivery, PostedDelivery, LpiDelivery, Blocked>;

// One line for a translation outcome ("delivered dest=0x3 vector=0x41 ..." / "fault ...").
std::string describe(const Translation& t);

struct RemapStats {
  uint64_t translations = 0;
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t invalidations = 0;
  uint64_t faults = 0;  // blocked requests, recorded or not
};

// One live mapping, for dumps and teaching.
struct Mapping {
  std::string source;  // "IRTE 5 (SID 00:03.0)" or "DeviceID 2 EventID 3"
  std::string target;  // "APIC 0x3 vector 0x41 Fixed edge" or "collection 1 -> RD 1, LPI 8195"
  bool cached = false; // the unit's cache holds a translation for it
};

class Remapper {
 public:
  virtual ~Remapper() = default;
  virtual std::string_view unit_name() const = 0;
  // Full architected processing of one inbound MSI: translate, record faults, and hand
  // the result to the unit's target interface. Returns what happened.
  virtual Translation translate(const MsiWrite& msi) = 0;
  // Drop every cached translation (the software-visible global invalidation).
  virtual void invalidate_all() = 0;
  virtual RemapStats stats() const = 0;
  virtual std::vector<Mapping> mappings() const = 0;
};

}  // namespace irqremap
