// ITS command queue and the 12 physical commands (Arm IHI0069 §5.3; errors §6.3).
#include <fmt/format.h>

#include "remap/its/command_format.h"
#include "remap/its/its.h"
#include "remap/its/lpi_format.h"
#include "remap/its/register_format.h"
#include "remap/its/table_format.h"

namespace irqremap::its {

using C = std::array<uint64_t, 4>;
using E = ItsError;

uint64_t Its::queue_bytes() const { return queue_size_; }

void Its::record_error(ItsError code, const C& cmd, uint64_t offset, std::string what) {
  ++error_count_;
  trace_.emit_lazy([&] {
    return Event{EventKind::CommandError, "its",
                 fmt::format("{} ({:#08x}) at CREADR {:#x}: {}", error_name(code), uint32_t(code),
                             offset, what),
                 {{"code", uint32_t(code)}, {"offset", offset}}};
  });
  if (errors_.size() == kMaxKeptErrors) errors_.pop_front();
  errors_.push_back(CommandErrorRecord{code, cmd, offset, std::move(what)});
}

// MAPTI/MAPI (§5.3.9, §5.3.10) when nothing is wrong: a mapped device, an EventID in
// range, a valid pINTID and ICID, DTE and ITE in writable RAM, all through host pointers.
// False: some check fails, and cmd_mapti's checks in the architected order say which.
// `memo` (may be null) keeps the DTE of the previous MAPTI/MAPI of the same queue run.
[[gnu::always_inline]] inline bool Its::mapti_fast(const C& c, bool mapi, DeviceMemo* memo) {
  const uint32_t devid = uint32_t(fields::get(c, cmd::DeviceID));
  const uint32_t eventid = uint32_t(fields::get(c, cmd::EventID));
  const uint32_t pintid = mapi ? eventid : uint32_t(fields::get(c, cmd::pINTID));
  const uint32_t icid = uint32_t(fields::get(c, cmd::ICID));
  if (pintid < lpi::kFirstLpi || (config_.lpi_bits < 32 && pintid >= (1u << config_.lpi_bits)))
    return false;
  if (icid >= collection_limit() || icid >= tables_.collection.id_limit) return false;
  Dte dte;
  std::byte* itt = nullptr;
  if (memo != nullptr && memo->valid && memo->devid == devid) {
    dte = memo->dte;
    itt = memo->itt;
  } else {
    const std::byte* dp = entry_host(mem_, tables_.device, devid);
    if (dp == nullptr) return false;
    dte = dte_from_word(bits::load_le<uint64_t>(dp));
    if (dte.valid)
      itt = mem_.writable_host_ptr(dte.itt_addr, dte.event_count() * table::kIteBytes);
    if (memo != nullptr) *memo = DeviceMemo{devid, true, dte, itt};
  }
  if (!dte.valid || eventid >= dte.event_count()) return false;
  const uint64_t addr = ite_address(dte, eventid);
  std::byte* ip = itt != nullptr ? itt + uint64_t(eventid) * table::kIteBytes
                                 : mem_.writable_host_ptr(addr, table::kIteBytes);
  if (ip == nullptr) return false;
  const uint64_t first = addr >> 12, last = (addr + table::kIteBytes - 1) >> 12;
  if (first != last_ite_page_ || last != first) {
    // A page no MAPTI wrote just before: touch it for writing first, so that a page the
    // guest never used is mapped once, writable, by the host kernel (reading the old ITE
    // first would map the shared zero page and then fault again on the store).
    __atomic_fetch_or(reinterpret_cast<unsigned char*>(ip), 0, __ATOMIC_RELAXED);
    __atomic_fetch_or(reinterpret_cast<unsigned char*>(ip) + table::kIteBytes - 1, 0,
                      __ATOMIC_RELAXED);
    note_ite_written(addr);
    last_ite_page_ = last == first ? first : ~uint64_t{0};
  }
  const bool was_valid = fields::get(bits::load_le<uint64_t>(ip), table::ITE_Valid) != 0;
  bits::store_le<uint64_t>(ip, ite_word0(Ite{true, true, pintid, uint16_t(icid)}));
  bits::store_le<uint32_t>(ip + 8, 0);
  if (was_valid) flush_cache(mapi ? "MAPI over a valid ITE" : "MAPTI over a valid ITE");
  return true;
}

void Its::process_queue() {
  if (!enabled_ || stalled_ || queue_size_ == 0) return;
  if (cwriter_ >= queue_size_ || creadr_ >= queue_size_) {
    record_error(E::IRQREMAP_CWRITER_OOR, C{}, cwriter_,
                 fmt::format("GITS_CWRITER offset {:#x} (CREADR {:#x}) beyond the {:#x}-byte "
                             "queue: nothing processed",
                             cwriter_, creadr_, queue_size_));
    return;
  }
  DeviceMemo memo;
  while (creadr_ != cwriter_) {
    C cmd{};
    CmdResult r;
    // The queue as latched is one block of guest RAM (queue_host_): a command is four
    // loads. The word-by-word reads below only run to say which word failed.
    const std::byte* p =
        queue_host_ != nullptr ? queue_host_ + creadr_ : mem_.host_ptr(queue_base_ + creadr_, 32);
    if (p != nullptr) {
      for (unsigned i = 0; i < 4; ++i) cmd[i] = bits::load_le<uint64_t>(p + 8 * i);
      // MAPTI/MAPI are the bulk of any queue (a device's every event): the common case runs
      // here, with no CmdResult and no trace work (issue 13: 16.7 M of them well under 1 s).
      const auto op = cmd::Opcode(fields::get(cmd, cmd::Op));
      if ((op == cmd::Opcode::MAPTI || op == cmd::Opcode::MAPI) && !trace_.on() &&
          mapti_fast(cmd, op == cmd::Opcode::MAPI, &memo)) {
        ++commands_;
        creadr_ += 32;
        if (creadr_ == queue_size_) creadr_ = 0;
        continue;
      }
    } else {
      for (unsigned i = 0; i < 4 && r; ++i) {
        auto w = mem_.read64(queue_base_ + creadr_ + 8 * i);
        if (w)
          cmd[i] = *w;
        else
          r = fail(E::IRQREMAP_MEMORY_ERROR,
                   fmt::format("command read failed: {}", w.error().describe()));
      }
    }
    memo.valid = false;  // any other command may change a DTE
    if (r) r = execute(cmd);
    ++commands_;
    if (!r) {
      record_error(r.error().code, cmd, creadr_, std::move(r.error().what));
      if (config_.policy == ErrorPolicy::Stall) {
        stalled_ = true;
        trace_.emit_lazy([&] {
          return Event{EventKind::CommandError, "its",
                       fmt::format("queue stalled at CREADR {:#x} (GITS_CREADR.Stalled=1)",
                                   creadr_),
                       {{"offset", creadr_}}};
        });
        return;
      }
    }
    creadr_ += 32;  // wraps at the queue end (queue_size_ is a multiple of 4 KiB)
    if (creadr_ == queue_size_) creadr_ = 0;
  }
}

Its::CmdResult Its::execute(const C& c) {
  const uint8_t op = uint8_t(fields::get(c, cmd::Op));
  trace_.emit_lazy([&] {
    const fields::Format* f = cmd::format_for(op);
    std::string text = f ? std::string(cmd::opcode_name(op)) : fmt::format("opcode {:#04x}", op);
    if (f != nullptr)
      for (const fields::Field& fl : f->fields)
        if (fl.access == fields::Access::RW)
          text += fmt::format(" {}={:#x}", fl.name, fields::get(c, fl) << fl.addr_shift);
    return Event{EventKind::Command, "its", text, {{"opcode", op}}};
  });
  switch (cmd::Opcode(op)) {
    case cmd::Opcode::MAPD: return cmd_mapd(c);
    case cmd::Opcode::MAPC: return cmd_mapc(c);
    case cmd::Opcode::MAPTI: return cmd_mapti(c, false);
    case cmd::Opcode::MAPI: return cmd_mapti(c, true);
    case cmd::Opcode::MOVI: return cmd_movi(c);
    case cmd::Opcode::MOVALL: return cmd_movall(c);
    case cmd::Opcode::DISCARD: return cmd_discard(c);
    case cmd::Opcode::INV: return cmd_inv(c);
    case cmd::Opcode::INVALL: return cmd_invall(c);
    case cmd::Opcode::INT: return cmd_int(c);
    case cmd::Opcode::CLEAR: return cmd_clear(c);
    case cmd::Opcode::SYNC: return cmd_sync(c);
  }
  return fail(E::IRQREMAP_UNKNOWN_COMMAND,
              fmt::format("unknown opcode {:#04x} (not a physical ITS command)", op));
}

std::optional<uint32_t> Its::rd_from_rdbase(uint64_t field) const {
  if (config_.pta) return target_.rd_by_address(field << 16);
  if (field >= target_.redistributor_count()) return std::nullopt;
  return uint32_t(field);
}

// MAPD DeviceID, Size, ITT_addr, V (§5.3.8).
Its::CmdResult Its::cmd_mapd(const C& c) {
  const uint32_t devid = uint32_t(fields::get(c, cmd::DeviceID));
  const uint8_t size = uint8_t(fields::get(c, cmd::Size));
  const bool v = fields::get(c, cmd::V) != 0;
  auto slot = entry_address(mem_, tables_.device, devid);
  if (!slot)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("MAPD: {}", slot.error().describe()));
  if (!slot->found())
    return fail(E::E_ITS_MAPD_DEVICE_OOR,
                slot->kind == EntrySlot::Kind::L1Invalid
                    ? fmt::format("MAPD: DeviceID {} has no device table page (L1 entry invalid)",
                                  devid)
                    : fmt::format("MAPD: DeviceID {} out of range ({} DeviceIDs)", devid,
                                  tables_.device.id_limit));
  if (v && size + 1u > config_.idbits)
    return fail(E::E_ITS_MAPD_ITTSIZE_OOR,
                fmt::format("MAPD: Size {} ({} EventID bits) exceeds GITS_TYPER.IDbits ({} bits)",
                            size, size + 1, config_.idbits));
  const Dte dte{v, v ? size : uint8_t(0), v ? fields::get(c, cmd::ITT_addr) << 8 : 0};
  if (auto w = write_dte(mem_, slot->address, dte); !w)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("MAPD: DTE {}", w.error().describe()));
  flush_cache("MAPD");
  return {};
}

// MAPC ICID, RDbase, V (§5.3.7).
Its::CmdResult Its::cmd_mapc(const C& c) {
  const uint32_t icid = uint32_t(fields::get(c, cmd::ICID));
  const bool v = fields::get(c, cmd::V) != 0;
  const uint64_t rdbase = fields::get(c, cmd::RDbase);
  if (icid >= collection_limit())
    return fail(E::E_ITS_MAPC_COLLECTION_OOR,
                fmt::format("MAPC: ICID {} beyond GITS_TYPER.CIDbits", icid));
  auto slot = entry_address(mem_, tables_.collection, icid);
  if (!slot)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("MAPC: {}", slot.error().describe()));
  if (!slot->found())
    return fail(E::E_ITS_MAPC_COLLECTION_OOR,
                fmt::format("MAPC: ICID {} outside the collection table ({} ICIDs)", icid,
                            tables_.collection.id_limit));
  Cte cte{false, 0};
  if (v) {
    auto rd = rd_from_rdbase(rdbase);
    if (!rd)
      return fail(E::E_ITS_MAPC_PROCNUM_OOR,
                  config_.pta ? fmt::format("MAPC: RDbase {:#x} is no redistributor's RD_base",
                                            rdbase << 16)
                              : fmt::format("MAPC: RDbase {} beyond the {} redistributors",
                                            rdbase, target_.redistributor_count()));
    cte = Cte{true, *rd};
  }
  if (auto w = write_cte(mem_, slot->address, cte); !w)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("MAPC: CTE {}", w.error().describe()));
  flush_cache("MAPC");
  return {};
}

// MAPTI DeviceID, EventID, pINTID, ICID (§5.3.10); MAPI: pINTID = EventID (§5.3.9).
Its::CmdResult Its::cmd_mapti(const C& c, bool mapi) {
  const char* name = mapi ? "MAPI" : "MAPTI";
  const uint32_t devid = uint32_t(fields::get(c, cmd::DeviceID));
  const uint32_t eventid = uint32_t(fields::get(c, cmd::EventID));
  const uint32_t pintid = mapi ? eventid : uint32_t(fields::get(c, cmd::pINTID));
  const uint32_t icid = uint32_t(fields::get(c, cmd::ICID));
  const bool pintid_ok =
      pintid >= lpi::kFirstLpi && (config_.lpi_bits >= 32 || pintid < (1u << config_.lpi_bits));
  const bool icid_ok = icid < collection_limit() && icid < tables_.collection.id_limit;
  if (mapti_fast(c, mapi, nullptr)) return {};
  // Anything else goes through the checks below, in the architected order, which say why.
  auto slot = entry_address(mem_, tables_.device, devid);
  if (!slot)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("{}: {}", name, slot.error().describe()));
  if (!slot->found())
    return fail(E::E_ITS_MAPTI_UNMAPPED_DEVICE,
                fmt::format("{}: DeviceID {} out of range", name, devid));
  auto dte = read_dte(mem_, slot->address);
  if (!dte)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("{}: DTE {}", name, dte.error().describe()));
  if (!dte->valid)
    return fail(E::E_ITS_MAPTI_UNMAPPED_DEVICE,
                fmt::format("{}: device {} not mapped", name, devid));
  if (eventid >= dte->event_count())
    return fail(E::E_ITS_MAPTI_ID_OOR,
                fmt::format("{}: EventID {} out of range for device {} (Size={})", name, eventid,
                            devid, dte->size));
  if (!pintid_ok)
    return fail(E::E_ITS_MAPTI_PHYSICALID_OOR,
                fmt::format("{}: pINTID {} is not an LPI (8192..{})", name, pintid,
                            (uint64_t{1} << config_.lpi_bits) - 1));
  if (!icid_ok)
    return fail(E::E_ITS_MAPTI_COLLECTION_OOR,
                fmt::format("{}: ICID {} out of range", name, icid));
  const uint64_t addr = ite_address(*dte, eventid);
  auto old = read_ite(mem_, addr);
  if (!old)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("{}: ITE {}", name, old.error().describe()));
  if (auto w = write_ite(mem_, addr, Ite{true, true, pintid, uint16_t(icid)}); !w)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("{}: ITE {}", name, w.error().describe()));
  note_ite_written(addr);
  if (old->valid) flush_cache(mapi ? "MAPI over a valid ITE" : "MAPTI over a valid ITE");
  return {};
}

namespace {
// The error code for "no valid translation" of each (DeviceID, EventID) command.
ItsError unmapped_code(cmd::Opcode op) {
  switch (op) {
    case cmd::Opcode::MOVI: return E::E_ITS_MOVI_UNMAPPED_INTERRUPT;
    case cmd::Opcode::INT: return E::E_ITS_INT_UNMAPPED_INTERRUPT;
    case cmd::Opcode::CLEAR: return E::E_ITS_CLEAR_UNMAPPED_INTERRUPT;
    case cmd::Opcode::INV: return E::E_ITS_INV_UNMAPPED_INTERRUPT;
    default: return E::E_ITS_DISCARD_UNMAPPED_INTERRUPT;
  }
}
}  // namespace

// MOVI DeviceID, EventID, ICID (§5.3.12): pending state follows the interrupt.
Its::CmdResult Its::cmd_movi(const C& c) {
  const uint32_t devid = uint32_t(fields::get(c, cmd::DeviceID));
  const uint32_t eventid = uint32_t(fields::get(c, cmd::EventID));
  const uint32_t icid = uint32_t(fields::get(c, cmd::ICID));
  auto ite = walk_ite(mem_, tables_, devid, eventid);
  if (!ite)
    return fail(ite.error().fail == WalkFail::MemoryError ? E::IRQREMAP_MEMORY_ERROR
                                                          : E::E_ITS_MOVI_UNMAPPED_INTERRUPT,
                "MOVI: " + ite.error().describe());
  auto from = walk_cte(mem_, tables_, ite->ite.icid);
  if (!from)
    return fail(E::E_ITS_MOVI_UNMAPPED_COLLECTION, "MOVI: current " + from.error().describe());
  auto to = walk_cte(mem_, tables_, icid);
  if (!to) return fail(E::E_ITS_MOVI_UNMAPPED_COLLECTION, "MOVI: new " + to.error().describe());
  target_.move_pending(from->rd, to->rd, ite->ite.pintid);
  Ite moved = ite->ite;
  moved.icid = uint16_t(icid);
  if (auto w = write_ite(mem_, ite->ite_addr, moved); !w)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("MOVI: ITE {}", w.error().describe()));
  flush_cache("MOVI");
  return {};
}

// MOVALL RDbase1, RDbase2 (§5.3.11).
Its::CmdResult Its::cmd_movall(const C& c) {
  const auto from = rd_from_rdbase(fields::get(c, cmd::RDbase1));
  const auto to = rd_from_rdbase(fields::get(c, cmd::RDbase2));
  if (!from || !to)
    return fail(E::E_ITS_MOVALL_PROCNUM_OOR,
                fmt::format("MOVALL: {} {:#x} names no redistributor", !from ? "RDbase1" : "RDbase2",
                            fields::get(c, !from ? cmd::RDbase1 : cmd::RDbase2)));
  target_.move_all_pending(*from, *to);
  flush_cache("MOVALL");
  return {};
}

// DISCARD DeviceID, EventID (§5.3.3): clear pending state, unmap the event.
Its::CmdResult Its::cmd_discard(const C& c) {
  const uint32_t devid = uint32_t(fields::get(c, cmd::DeviceID));
  const uint32_t eventid = uint32_t(fields::get(c, cmd::EventID));
  auto ite = walk_ite(mem_, tables_, devid, eventid);
  if (!ite)
    return fail(ite.error().fail == WalkFail::MemoryError ? E::IRQREMAP_MEMORY_ERROR
                                                          : E::E_ITS_DISCARD_UNMAPPED_INTERRUPT,
                "DISCARD: " + ite.error().describe());
  auto cte = walk_cte(mem_, tables_, ite->ite.icid);
  if (!cte) return fail(E::E_ITS_DISCARD_UNMAPPED_INTERRUPT, "DISCARD: " + cte.error().describe());
  target_.clear_pending(cte->rd, ite->ite.pintid);
  if (auto w = write_ite(mem_, ite->ite_addr, Ite{false, true, 0, 0}); !w)
    return fail(E::IRQREMAP_MEMORY_ERROR, fmt::format("DISCARD: ITE {}", w.error().describe()));
  flush_cache("DISCARD");
  return {};
}

// INT, CLEAR, INV share the walk: (DeviceID, EventID) -> (RD, pINTID).
#define IRQREMAP_ITS_RESOLVE(OP, NAME)                                                        \
  const uint32_t devid = uint32_t(fields::get(c, cmd::DeviceID));                             \
  const uint32_t eventid = uint32_t(fields::get(c, cmd::EventID));                            \
  auto res = walk(mem_, tables_, devid, eventid);                                             \
  if (!res)                                                                                   \
    return fail(res.error().fail == WalkFail::MemoryError ? E::IRQREMAP_MEMORY_ERROR          \
                                                          : unmapped_code(cmd::Opcode::OP),   \
                NAME ": " + res.error().describe());                                                \
  if (res->rd >= target_.redistributor_count())                                               \
    return fail(unmapped_code(cmd::Opcode::OP),                                               \
                fmt::format(NAME ": collection {} names no redistributor", res->icid));

Its::CmdResult Its::cmd_int(const C& c) {
  IRQREMAP_ITS_RESOLVE(INT, "INT")
  if (!target_.set_pending(res->rd, res->intid))
    trace_.emit_lazy([&] {
      return Event{EventKind::Fault, "its",
                   fmt::format("INT: redistributor {} refused LPI {}", res->rd, res->intid),
                   {{"rd", res->rd}, {"intid", res->intid}}};
    });
  return {};
}

Its::CmdResult Its::cmd_clear(const C& c) {
  IRQREMAP_ITS_RESOLVE(CLEAR, "CLEAR")
  target_.clear_pending(res->rd, res->intid);
  return {};
}

Its::CmdResult Its::cmd_inv(const C& c) {
  IRQREMAP_ITS_RESOLVE(INV, "INV")
  target_.reload_config(res->rd, res->intid);
  return {};
}
#undef IRQREMAP_ITS_RESOLVE

// INVALL ICID (§5.3.6).
Its::CmdResult Its::cmd_invall(const C& c) {
  const uint32_t icid = uint32_t(fields::get(c, cmd::ICID));
  auto cte = walk_cte(mem_, tables_, icid);
  if (!cte)
    return fail(cte.error().fail == WalkFail::MemoryError ? E::IRQREMAP_MEMORY_ERROR
                                                          : E::E_ITS_INVALL_UNMAPPED_COLLECTION,
                "INVALL: " + cte.error().describe());
  target_.reload_all_config(cte->rd);
  return {};
}

// SYNC RDbase (§5.3.13): every effect is already visible (processing is synchronous).
Its::CmdResult Its::cmd_sync(const C& c) {
  const uint64_t rdbase = fields::get(c, cmd::RDbase);
  if (!rd_from_rdbase(rdbase))
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "its",
                   fmt::format("SYNC: RDbase {:#x} names no redistributor (no architected error; "
                               "ignored)", rdbase),
                   {{"rdbase", rdbase}}};
    });
  return {};
}

}  // namespace irqremap::its
