#pragma once
// Construction-time choices of a VT-d unit: what CAP/ECAP advertise and how big the
// implementation-defined structures are.
#include <cstdint>

namespace irqremap::vtd {

struct Config {
  // Number of fault recording registers (CAP.NFR = nfr - 1). Clamped to
  // [1, reg::kMaxFaultRecords] so every FRCD lies inside the 4 KiB window.
  unsigned nfr = 4;
  // Interrupt entry cache slots; 0 turns the cache off (every MSI reads its IRTE).
  unsigned iec_entries = 0;
  bool posted = true;    // CAP.PI: posted-interrupt IRTEs (IM=1)
  unsigned mhmv = 15;    // ECAP.MHMV: largest IEC index mask (clamped to 15)
  bool smts = false;     // ECAP.SMTS: allows IQA.DW=1 (256-bit descriptors)
  bool eim = true;       // ECAP.EIM: x2APIC (IRTA.EIME=1) supported
  bool esirtps = false;  // CAP.ESIRTPS: SIRTP and IRE=0 also invalidate the IEC
  bool coherent = true;  // ECAP.C
  // DMA remapping (legacy mode). aw_bits is QEMU's intel-iommu "aw-bits": 39 advertises
  // SAGAW 39-bit only (3-level tables) and MGAW 38, as QEMU 7.2's default; 48 adds
  // 4-level tables (SAGAW 0x6, MGAW 47). It is also the host address width above which
  // table addresses are reserved.
  unsigned aw_bits = 39;
  uint8_t sllps = 0x3;            // CAP.SLLPS: 2 MiB and 1 GiB second-level pages
  bool pass_through = true;       // ECAP.PT: context entries may use TT=10b
  unsigned context_cache_entries = 0;  // 0 turns the context cache off
  unsigned iotlb_entries = 0;          // 0 turns the IOTLB off
};

}  // namespace irqremap::vtd
