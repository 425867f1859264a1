#pragma once
// VT-d interrupt-remapping fault reasons (Intel VT-d spec rev 5.10 §7.1.3, Table 15) and
// which of them are "qualified", i.e. suppressed by IRTE.FPD=1 (spec/vtd.md §3).
#include <cstdint>

namespace irqremap::vtd::fault_reason {

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
// FRCD.FI holds the interrupt index except for these (§11.4.7.6).
constexpr bool has_index(uint8_t reason) {
  return reason != kRequestReserved && reason != kCompatBlocked && reason < 0x29;
}

}  // namespace irqremap::vtd::fault_reason
