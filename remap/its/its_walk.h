#pragma once
// Pure ITS table walks (docs/DESIGN.md, "Conventions"): device table -> DTE -> ITT -> ITE
// -> collection table -> CTE, over GuestMemory and a snapshot of the latched GITS_BASER<n> parameters.
// No register state here, so walks run in tests without an ITS.
//
// Two-level tables (Arm IHI0069 §5.2.1): level-1 index = ID / (page size / entry size);
// the L1 entry (table_format.h kL1) holds the level-2 page address and Valid. An invalid
// L1 entry means the ID has no memory: commands report it as out of range (as KVM does),
// translations drop.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "remap/guest_memory.h"
#include "remap/its/table_format.h"

namespace irqremap::its {

// A table as latched from GITS_BASER<n> when the ITS is enabled.
struct TableParams {
  bool valid = false;
  bool indirect = false;
  uint64_t base = 0;          // byte address of the (level-1) table
  uint64_t page_bytes = 0x1'0000;
  uint64_t pages = 1;         // Size + 1
  uint32_t entry_bytes = 8;   // Entry_Size + 1
  uint64_t id_limit = 0;      // IDs 0..id_limit-1 fit both the table and TYPER's ID bits
  // Entries per page and, when that is a power of two (always, for this ITS: Entry_Size
  // is read-only 8), its log2: the level-1 index is then a shift, not a division.
  uint64_t per_page = 8192;
  unsigned per_page_shift = 13;
  bool per_page_pow2 = true;
  // Host address of the (level-1) table when it lies wholly in one RAM region, set by the
  // ITS when it latches the table (GuestMemory regions never move); else nullptr.
  const std::byte* host = nullptr;

  // IDs the allocated memory can hold (before the TYPER limit).
  uint64_t capacity() const;
  // Latch from a BASER value; id_bits caps the ID range (Devbits+1, or the ICID bits).
  static TableParams from_baser(uint64_t baser, unsigned id_bits);
};

struct ItsTables {
  TableParams device;
  TableParams collection;
  unsigned idbits = 16;  // GITS_TYPER.IDbits + 1: EventID bits the ITS supports
};

// Where the entry for `id` lives. Not found: id beyond the table, or an invalid L1 entry.
struct EntrySlot {
  enum class Kind : uint8_t { Found, OutOfRange, L1Invalid } kind = Kind::OutOfRange;
  uint64_t address = 0;
  bool found() const { return kind == Kind::Found; }
};
MemResult<EntrySlot> entry_address(const GuestMemory& mem, const TableParams& t, uint64_t id);
// The same lookup for the MSI fast path: the host pointer of the entry, or nullptr for
// anything but a found entry wholly in one RAM region (then entry_address says why).
[[gnu::always_inline]] inline const std::byte* entry_host(const GuestMemory& mem,
                                                         const TableParams& t, uint64_t id) {
  if (!t.valid || id >= t.id_limit) return nullptr;
  if (!t.indirect)
    return t.host != nullptr ? t.host + id * t.entry_bytes
                             : mem.host_ptr(t.base + id * t.entry_bytes, t.entry_bytes);
  if (!t.per_page_pow2) return nullptr;
  const uint64_t l1_offset = (id >> t.per_page_shift) * 8;
  const std::byte* l1 =
      t.host != nullptr ? t.host + l1_offset : mem.host_ptr(t.base + l1_offset, 8);
  if (l1 == nullptr) return nullptr;
  const uint64_t e = bits::load_le<uint64_t>(l1);
  if (fields::get(e, table::L1_Valid) == 0) return nullptr;
  const uint64_t l2 = (fields::get(e, table::L1_Physical_Address) << 12) & ~(t.page_bytes - 1);
  return mem.host_ptr(l2 + (id & ((uint64_t{1} << t.per_page_shift) - 1)) * t.entry_bytes,
                      t.entry_bytes);
}

// Decoded entries (docs/DESIGN.md "Conventions"); addresses already shifted to bytes.
struct Dte {
  bool valid = false;
  uint8_t size = 0;       // EventID bits - 1
  uint64_t itt_addr = 0;  // DTE holds bits 51:8
  uint64_t event_count() const { return uint64_t{1} << (size + 1); }
  bool operator==(const Dte&) const = default;
};
struct Ite {
  bool valid = false;
  bool physical = true;
  uint32_t pintid = 0;
  uint16_t icid = 0;
  bool operator==(const Ite&) const = default;
};
struct Cte {
  bool valid = false;
  uint32_t rd = 0;  // processor number
  bool operator==(const Cte&) const = default;
};

// An entry's first doubleword decoded / encoded (table_format.h layouts).
inline Dte dte_from_word(uint64_t w) {
  return Dte{fields::get(w, table::DTE_Valid) != 0, uint8_t(fields::get(w, table::DTE_Size)),
             fields::get(w, table::DTE_ITT_addr) << 8};
}
inline uint64_t ite_word0(const Ite& e) {
  uint64_t w = fields::set(0, table::ITE_Valid, e.valid);
  w = fields::set(w, table::ITE_IntType, e.physical);
  w = fields::set(w, table::ITE_pINTID, e.pintid);
  return fields::set(w, table::ITE_ICID, e.icid);
}
MemResult<Dte> read_dte(const GuestMemory& mem, uint64_t address);
MemResult<void> write_dte(GuestMemory& mem, uint64_t address, const Dte& e);
MemResult<Ite> read_ite(const GuestMemory& mem, uint64_t address);
MemResult<void> write_ite(GuestMemory& mem, uint64_t address, const Ite& e);
MemResult<Cte> read_cte(const GuestMemory& mem, uint64_t address);
MemResult<void> write_cte(GuestMemory& mem, uint64_t address, const Cte& e);
inline uint64_t ite_address(const Dte& dte, uint32_t eventid) {
  return dte.itt_addr + uint64_t(eventid) * table::kIteBytes;
}

// Why a walk stopped; the numbers are the Blocked::reason of a dropped MSI.
enum class WalkFail : uint32_t {
  ItsDisabled = 1,
  DeviceOutOfRange = 2,  // DeviceID beyond Devbits or the device table / L1 invalid
  DeviceUnmapped = 3,    // DTE.Valid = 0
  EventOutOfRange = 4,   // EventID >= 2^(DTE.Size + 1)
  EventUnmapped = 5,     // ITE.Valid = 0
  CollectionOutOfRange = 6,
  CollectionUnmapped = 7,  // CTE.Valid = 0
  MemoryError = 8,
  LpiRejected = 9,  // the redistributor refused it (EnableLPIs = 0, INTID beyond IDbits)
  NotTranslater = 10,
};
// Why and where a walk stopped, as numbers: the MSI path drops millions of writes without
// building a string; describe() says it in words when someone asks (a trace, a command
// error record, `translate arm64`).
struct WalkError {
  WalkFail fail;
  uint32_t devid = 0, eventid = 0, icid = 0;
  uint64_t limit = 0;         // IDs the table holds (out of range), DTE.Size (event range)
  bool l1_invalid = false;    // DeviceOutOfRange: the level-1 entry was invalid
  uint32_t rd = 0, intid = 0;  // LpiRejected; CollectionUnmapped with rd_missing
  bool rd_missing = false;    // CollectionUnmapped: the CTE names no redistributor
  uint64_t address = 0;       // NotTranslater: the MSI's address (limit: GITS_TRANSLATER)
  const char* table = "";     // MemoryError: which read failed
  MemFault fault{};           // MemoryError
  std::string describe() const;  // "event 40 out of range for device 2 (Size=4)"
};

// Device + event: the DTE and ITE (and where the ITE is).
struct IteRef {
  Dte dte;
  uint64_t ite_addr = 0;
  Ite ite;
};
std::expected<IteRef, WalkError> walk_ite(const GuestMemory& mem, const ItsTables& t,
                                          uint32_t devid, uint32_t eventid);
std::expected<Cte, WalkError> walk_cte(const GuestMemory& mem, const ItsTables& t, uint32_t icid);

// The full translation: (DeviceID, EventID) -> (redistributor, pINTID, ICID).
struct Resolved {
  uint32_t rd = 0;
  uint32_t intid = 0;
  uint16_t icid = 0;
  bool operator==(const Resolved&) const = default;
};
std::expected<Resolved, WalkError> walk(const GuestMemory& mem, const ItsTables& t,
                                        uint32_t devid, uint32_t eventid);

}  // namespace irqremap::its
