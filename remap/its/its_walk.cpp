#include "remap/its/its_walk.h"

#include <algorithm>
#include <bit>
#include <fmt/format.h>

#include "remap/its/register_format.h"
#include "remap/its/table_format.h"

namespace irqremap::its {

using namespace table;

uint64_t TableParams::capacity() const {
  if (!valid || entry_bytes == 0) return 0;
  const uint64_t per_page = page_bytes / entry_bytes;
  if (!indirect) return pages * per_page;
  return (pages * page_bytes / kL1Bytes) * per_page;
}

TableParams TableParams::from_baser(uint64_t baser, unsigned id_bits) {
  TableParams t;
  t.valid = fields::get(baser, reg::BASER_Valid) != 0;
  t.indirect = fields::get(baser, reg::BASER_Indirect) != 0;
  t.page_bytes = reg::page_bytes(fields::get(baser, reg::BASER_Page_Size));
  t.pages = fields::get(baser, reg::BASER_Size) + 1;
  t.entry_bytes = uint32_t(fields::get(baser, reg::BASER_Entry_Size) + 1);
  const uint64_t pa = fields::get(baser, reg::BASER_Physical_Address) << 12;
  if (t.page_bytes == 0x1'0000) {
    // 64 KiB pages: BASER[15:12] hold PA[51:48] (IHI0069 §12.19.1).
    t.base = (pa & bits::mask(47, 16)) | (bits::extract(baser, 15, 12) << 48);
  } else {
    t.base = pa & ~(t.page_bytes - 1);
  }
  const uint64_t id_space = id_bits >= 64 ? ~uint64_t{0} : uint64_t{1} << id_bits;
  t.id_limit = std::min(t.capacity(), id_space);
  t.per_page = t.entry_bytes != 0 ? t.page_bytes / t.entry_bytes : 0;
  t.per_page_pow2 = std::has_single_bit(t.per_page);
  t.per_page_shift = t.per_page_pow2 ? unsigned(std::countr_zero(t.per_page)) : 0;
  return t;
}

MemResult<EntrySlot> entry_address(const GuestMemory& mem, const TableParams& t, uint64_t id) {
  if (!t.valid || id >= t.id_limit) return EntrySlot{EntrySlot::Kind::OutOfRange, 0};
  if (!t.indirect) return EntrySlot{EntrySlot::Kind::Found, t.base + id * t.entry_bytes};
  // §5.2.1: level-1 index = ID / (page size / entry size).
  const uint64_t l1_index = t.per_page_pow2 ? id >> t.per_page_shift : id / t.per_page;
  const uint64_t l1_addr = t.base + l1_index * kL1Bytes;
  auto l1 = mem.read64(l1_addr);
  if (!l1) return std::unexpected(l1.error());
  if (!fields::get(*l1, L1_Valid)) return EntrySlot{EntrySlot::Kind::L1Invalid, l1_addr};
  const uint64_t l2 = (fields::get(*l1, L1_Physical_Address) << 12) & ~(t.page_bytes - 1);
  const uint64_t in_page = t.per_page_pow2 ? id & (t.per_page - 1) : id % t.per_page;
  return EntrySlot{EntrySlot::Kind::Found, l2 + in_page * t.entry_bytes};
}

MemResult<Dte> read_dte(const GuestMemory& mem, uint64_t address) {
  auto w = mem.read64(address);
  if (!w) return std::unexpected(w.error());
  return dte_from_word(*w);
}

MemResult<void> write_dte(GuestMemory& mem, uint64_t address, const Dte& e) {
  uint64_t w = fields::set(0, DTE_Valid, e.valid);
  w = fields::set(w, DTE_Size, e.size);
  w = fields::set(w, DTE_ITT_addr, e.itt_addr >> 8);
  return mem.write64(address, w);
}

MemResult<Ite> read_ite(const GuestMemory& mem, uint64_t address) {
  auto lo = mem.read64(address);
  if (!lo) return std::unexpected(lo.error());
  auto hi = mem.read32(address + 8);
  if (!hi) return std::unexpected(hi.error());
  return Ite{fields::get(*lo, ITE_Valid) != 0, fields::get(*lo, ITE_IntType) != 0,
             uint32_t(fields::get(*lo, ITE_pINTID)), uint16_t(fields::get(*lo, ITE_ICID))};
}

MemResult<void> write_ite(GuestMemory& mem, uint64_t address, const Ite& e) {
  const uint64_t w = ite_word0(e);
  if (!mem.contains(address, kIteBytes)) return std::unexpected(MemFault{address, kIteBytes, true});
  if (auto r = mem.write64(address, w); !r) return r;
  return mem.write32(address + 8, 0);
}

MemResult<Cte> read_cte(const GuestMemory& mem, uint64_t address) {
  auto w = mem.read64(address);
  if (!w) return std::unexpected(w.error());
  return Cte{fields::get(*w, CTE_Valid) != 0, uint32_t(fields::get(*w, CTE_RDbase))};
}

MemResult<void> write_cte(GuestMemory& mem, uint64_t address, const Cte& e) {
  return mem.write64(address, fields::set(fields::set(0, CTE_Valid, e.valid), CTE_RDbase, e.rd));
}

std::string WalkError::describe() const {
  switch (fail) {
    case WalkFail::MemoryError: return fmt::format("{} read failed: {}", table, fault.describe());
    case WalkFail::DeviceOutOfRange:
      return l1_invalid ? fmt::format("device {} has no device table page (level-1 entry invalid)", devid)
                        : fmt::format("device {} out of range (device table holds {} DeviceIDs)", devid, limit);
    case WalkFail::DeviceUnmapped: return fmt::format("device {} not mapped (DTE Valid=0)", devid);
    case WalkFail::EventOutOfRange:
      return fmt::format("event {} out of range for device {} (Size={})", eventid, devid, limit);
    case WalkFail::EventUnmapped:
      return fmt::format("event {} of device {} not mapped (ITE Valid=0)", eventid, devid);
    case WalkFail::CollectionOutOfRange:
      return fmt::format("collection {} out of range (collection table holds {} ICIDs)", icid, limit);
    case WalkFail::CollectionUnmapped:
      return rd_missing ? fmt::format("collection {} names redistributor {} which does not exist", icid, rd)
                        : fmt::format("collection {} not mapped (CTE Valid=0)", icid);
    case WalkFail::ItsDisabled: return "ITS disabled (GITS_CTLR.Enabled=0)";
    case WalkFail::LpiRejected:
      return fmt::format("redistributor {} refused LPI {} (EnableLPIs=0 or INTID beyond "
                         "GICR_PROPBASER.IDbits)", rd, intid);
    case WalkFail::NotTranslater:
      return fmt::format("address {:#x} is not GITS_TRANSLATER ({:#x})", address, limit);
  }
  return "walk failed";
}

namespace {
WalkError mem_error(const char* table, const MemFault& f) {
  WalkError e{WalkFail::MemoryError};
  e.table = table;
  e.fault = f;
  return e;
}
}  // namespace

std::expected<IteRef, WalkError> walk_ite(const GuestMemory& mem, const ItsTables& t,
                                          uint32_t devid, uint32_t eventid) {
  WalkError e{WalkFail::DeviceOutOfRange};
  e.devid = devid;
  e.eventid = eventid;
  auto slot = entry_address(mem, t.device, devid);
  if (!slot) return std::unexpected(mem_error("device table level-1 entry", slot.error()));
  if (!slot->found()) {
    e.l1_invalid = slot->kind == EntrySlot::Kind::L1Invalid;
    e.limit = t.device.id_limit;
    return std::unexpected(e);
  }
  auto dte = read_dte(mem, slot->address);
  if (!dte) return std::unexpected(mem_error("DTE", dte.error()));
  if (!dte->valid) {
    e.fail = WalkFail::DeviceUnmapped;
    return std::unexpected(e);
  }
  if (eventid >= dte->event_count()) {
    e.fail = WalkFail::EventOutOfRange;
    e.limit = dte->size;
    return std::unexpected(e);
  }
  const uint64_t addr = ite_address(*dte, eventid);
  auto ite = read_ite(mem, addr);
  if (!ite) return std::unexpected(mem_error("ITE", ite.error()));
  if (!ite->valid) {
    e.fail = WalkFail::EventUnmapped;
    return std::unexpected(e);
  }
  return IteRef{*dte, addr, *ite};
}

std::expected<Cte, WalkError> walk_cte(const GuestMemory& mem, const ItsTables& t, uint32_t icid) {
  WalkError e{WalkFail::CollectionOutOfRange};
  e.icid = icid;
  auto slot = entry_address(mem, t.collection, icid);
  if (!slot) return std::unexpected(mem_error("collection table level-1 entry", slot.error()));
  if (!slot->found()) {
    e.limit = t.collection.id_limit;
    return std::unexpected(e);
  }
  auto cte = read_cte(mem, slot->address);
  if (!cte) return std::unexpected(mem_error("CTE", cte.error()));
  if (!cte->valid) {
    e.fail = WalkFail::CollectionUnmapped;
    return std::unexpected(e);
  }
  return *cte;
}

std::expected<Resolved, WalkError> walk(const GuestMemory& mem, const ItsTables& t,
                                        uint32_t devid, uint32_t eventid) {
  auto ite = walk_ite(mem, t, devid, eventid);
  if (!ite) return std::unexpected(ite.error());
  auto cte = walk_cte(mem, t, ite->ite.icid);
  if (!cte) return std::unexpected(cte.error());
  return Resolved{cte->rd, ite->ite.pintid, ite->ite.icid};
}

}  // namespace irqremap::its
