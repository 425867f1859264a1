#pragma once
// VT-d fault reasons (Intel VT-d spec rev 5.10 §7.1.3): DMA-remapping reasons 1h-Ch in
// legacy mode and interrupt-remapping reasons 20h-28h (Table 15), and which of them are
// "qualified", i.e. suppressed by FPD=1 in the context entry or IRTE (§7.1.3, §9.9 FPD).
#include <cstdint>

namespace irqremap::vtd::fault_reason {

// DMA remapping, legacy mode (§7.1.3). The context entry's FPD only exists once the
// context entry has been read, so faults raised before that (root entry, root or context
// table access) are never suppressed; FPD is evaluated even for a context entry with P=0.
inline constexpr uint8_t kRootNotPresent = 0x1;     // root entry P=0
inline constexpr uint8_t kContextNotPresent = 0x2;  // context entry P=0
inline constexpr uint8_t kContextInvalid = 0x3;     // TT/AW not supported, SLPTPTR access error
inline constexpr uint8_t kAddressBeyondAw = 0x4;    // address above 2^AGAW - 1
inline constexpr uint8_t kWrite = 0x5;              // write to a page without W
inline constexpr uint8_t kRead = 0x6;               // read of a page without R
inline constexpr uint8_t kPagingEntryAccess = 0x7;  // second-level entry read failed
inline constexpr uint8_t kRootTableAccess = 0x8;    // root entry read failed
inline constexpr uint8_t kContextTableAccess = 0x9; // context entry read failed
inline constexpr uint8_t kRootReserved = 0xA;       // reserved bit in a present root entry
inline constexpr uint8_t kContextReserved = 0xB;    // reserved bit in a present context entry
inline constexpr uint8_t kPagingReserved = 0xC;     // reserved bit in a second-level entry

constexpr bool is_dma(uint8_t reason) { return reason >= 0x1 && reason <= 0xF; }
constexpr bool dma_qualified(uint8_t reason) {
  return is_dma(reason) && reason != kRootNotPresent && reason != kRootTableAccess &&
         reason != kContextTableAccess && reason != kRootReserved;
}

inline constexpr uint8_t kRequestReserved = 0x20;  // reserved field in remappable request
inline constexpr uint8_t kIndexOver = 0x21;        // index >= 2^(IRTA.S+1)
inline constexpr uint8_t kNotPresent = 0x22;       // IRTE.P = 0
inline constexpr uint8_t kIrtAccess = 0x23;        // IRTE read failed
inline constexpr uint8_t kIrteReserved = 0x24;     // reserved/invalid field in a present IRTE
inline constexpr uint8_t kCompatBlocked = 0x25;    // compatibility format with EIME=1 or CFIS=0
inline constexpr uint8_t kSourceId = 0x26;         // SID/SQ/SVT verification failed
inline constexpr uint8_t kPidAccess = 0x27;        // posted descriptor read/write failed
inline constexpr uint8_t kPidReserved = 0x28;      // reserved bits in the posted descriptor

// FPD applies only to these (spec Table 15 "qualified" column).
constexpr bool qualified(uint8_t reason) {
  return reason == kNotPresent || reason == kIrteReserved || reason == kSourceId ||
         reason == kPidAccess || reason == kPidReserved;
}
// FRCD.FI holds the interrupt index for interrupt-remapping faults except these
// (§11.4.7.6); for DMA faults it holds the page address instead.
constexpr bool has_index(uint8_t reason) {
  return reason >= 0x20 && reason != kRequestReserved && reason != kCompatBlocked && reason < 0x29;
}

}  // namespace irqremap::vtd::fault_reason
