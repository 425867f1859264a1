#pragma once
// The interrupt-remapping decision as pure functions (docs/DESIGN.md, "Conventions": pure
// walks, no state):
// classify an inbound MSI (Intel VT-d spec rev 5.10 §5.1.2, §5.1.4), check an IRTE
// against the request (§5.1.4.1, §9.9-9.10, source-ID verification §9.9 Table 26), and
// post into a posted-interrupt descriptor (§5.2.3, §9.11). The unit (unit.h) owns the
// registers, memory reads, the interrupt entry cache and fault recording around them.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "remap/remapper.h"
#include "remap/vtd/irte_format.h"

namespace irqremap::vtd {

// The latched state translation depends on (GSTS, the SIRTP-latched IRTA, CAP.PI).
struct IrState {
  bool ire = false;          // GSTS.IRES
  bool cfis = false;         // GSTS.CFIS
  bool eime = false;         // latched IRTA.EIME
  uint64_t irt_base = 0;     // latched IRTA.IRTA
  uint64_t irt_entries = 0;  // 2^(S+1)
  bool posted = false;       // CAP.PI
};

struct RequestDecode {
  enum class Kind : uint8_t { Pass, Remap, Fault } kind = Kind::Fault;
  ApicDelivery pass;           // Kind::Pass: the compatibility-format interrupt as sent
  uint32_t index = 0;          // Kind::Remap: the IRTE index
  uint8_t reason = 0;          // Kind::Fault
  std::string_view why;        // Kind::Fault / Pass: one line, spec names
};
// Step 1: address/data of one MSI -> pass through, IRTE index, or fault 20h/21h/25h.
RequestDecode decode_request(uint64_t address, uint32_t data, const IrState& ir);

// A compatibility-format message (§5.1.2.1) as the local APICs see it.
ApicDelivery compat_delivery(uint64_t address, uint32_t data);

using Irte = std::array<uint64_t, 2>;

struct IrteOutcome {
  enum class Kind : uint8_t { Remapped, Posted, Fault } kind = Kind::Fault;
  ApicDelivery delivery;   // Kind::Remapped
  uint64_t pda = 0;        // Kind::Posted: posted-interrupt descriptor address
  uint8_t vv = 0;          //   virtual vector
  bool urgent = false;     //   URG
  uint8_t reason = 0;      // Kind::Fault: 22h, 24h or 26h
  bool fpd = false;        // IRTE.FPD (evaluated even when P=0)
  std::string_view why;
};
// Step 2a: the IRTE alone (P, reserved/invalid fields, SVT=11b): what the interrupt entry
// cache can keep. Remapped/Posted outcomes still need the source-ID check.
IrteOutcome check_irte_entry(const Irte& irte, const IrState& ir);
// Step 2b: with a Remapped/Posted entry outcome, the request's source ID (fault 26h).
IrteOutcome check_source(const IrteOutcome& entry, const Irte& irte, uint16_t sid);
// Step 2: the IRTE against the request's source ID (§5.1.4.1 order: P, reserved/invalid
// fields, source-ID verification).
IrteOutcome check_irte(const Irte& irte, uint16_t sid, const IrState& ir);

// Source-ID verification alone (§9.9 SVT/SQ): true when rid passes. Inline: every
// remapped MSI runs it, cached or not.
// The fields it reads (SID, SQ, SVT) all lie in the IRTE's upper doubleword, `w1`.
inline bool source_id_ok_w1(uint64_t w1, uint16_t rid) {
  constexpr uint16_t kSqMask[4] = {0xFFFF, 0xFFFB, 0xFFF9, 0xFFF8};  // §9.9 Table 26
  static_assert(irte::SID.word() == 1 && irte::SQ.word() == 1 && irte::SVT.word() == 1);
  auto get = [w1](const fields::Field& f) { return bits::extract(w1, f.word_hi(), f.word_lo()); };
  const uint16_t sid = uint16_t(get(irte::SID));
  switch (get(irte::SVT)) {
    case 0: return true;
    case 1: {
      const uint16_t m = kSqMask[get(irte::SQ)];
      return (sid & m) == (rid & m);
    }
    case 2: {
      // StartBus = SID[15:8], EndBus = SID[7:0] (§9.9; QEMU has them reversed).
      const unsigned bus = rid >> 8, start = sid >> 8, end = sid & 0xFF;
      return start <= bus && bus <= end;
    }
    default: return false;
  }
}
inline bool source_id_ok(const Irte& e, uint16_t rid) { return source_id_ok_w1(e[1], rid); }

using Pid = std::array<uint64_t, 8>;
struct PostOutcome {
  bool reserved_set = false;  // fault 28h: nothing was changed
  bool notify = false;        // ON went 0 -> 1: send NV to NDST
  uint8_t nv = 0;
  uint32_t ndst = 0;          // raw NDST field
};
// Step 3 for IM=1: set PIR[vv]; X = !ON && (URG || !SN); if X set ON and notify (§5.2.3).
PostOutcome post(Pid& pid, uint8_t vv, bool urgent);

// The APIC ID a DST/NDST field names: DST[15:8] in xAPIC mode (EIME=0), else all 32 bits.
constexpr uint32_t apic_id(uint32_t dst, bool eime) { return eime ? dst : (dst >> 8) & 0xFF; }

}  // namespace irqremap::vtd
