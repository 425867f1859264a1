#pragma once
// The GICv3 ITS (Arm IHI0069 §5.2 tables, §5.3 commands, §12.19 registers):
// register file (MmioDevice over the 128 KiB window: control frame + translation frame),
// command queue, the 12 physical commands with their E_ITS_* errors, GITS_TRANSLATER,
// optional translation cache, and the hand-off to redistributors through LpiTarget.
//
// Choices where the spec leaves room (said once, here):
//  - Commands run synchronously on a CWRITER write; CREADR equals CWRITER when the write
//    returns unless the queue stalled. GITS_CTLR.Quiescent always reads 1.
//  - A CWRITER offset at or beyond the queue end is kept but processes nothing, and is
//    counted and traced as IRQREMAP_CWRITER_OOR (the spec makes it UNPREDICTABLE).
//  - Error policy (ItsConfig::policy): Skip (QEMU/KVM: CREADR moves past the failed
//    command) or Stall (GITS_CREADR.Stalled=1, CREADR stays on the failed command until
//    software writes CWRITER with Retry=1 or rewrites GITS_CBASER). The policy applies to
//    every error, memory errors included. Every error is counted, kept (code + the four
//    command words + queue offset; the last kMaxKeptErrors) and traced.
//  - GITS_CBASER and GITS_BASER<n> are read-only while Enabled=1 (QEMU's choice); table
//    and queue parameters are latched when Enabled goes 0->1. Writing CBASER zeroes
//    CREADR and clears Stalled. CREADR is read-only.
//  - BASER0 = Device table, BASER1 = Collection table (Entry_Size 8, both may be
//    Indirect); BASER2..7 are unimplemented (RAZ/WI). Page_Size resets to 64 KiB; the
//    reserved encoding 3 is stored as 64 KiB.
//  - An invalid level-1 entry makes MAPD/MAPC report *_OOR (as KVM) and a translation
//    drop; MAPTI/MAPI report E_ITS_MAPTI_UNMAPPED_DEVICE for it.
//  - MAPI reports the MAPTI error codes. INT/CLEAR/INV/DISCARD whose ITE names an
//    unmapped collection report the command's *_UNMAPPED_INTERRUPT code.
//  - MAPD on a mapped device replaces the DTE (old ITT contents are not touched);
//    MAPC V=0 leaves pending LPIs where they are; MAPC re-mapping moves no pending state.
//  - MOVI/MOVALL move pending state through LpiTarget (which may NOP when a redistributor
//    has EnableLPIs=0); DISCARD and CLEAR clear it; INV/INVALL ask for a config re-read.
//  - The translation cache holds at most ItsConfig::cache_entries translations
//    (translation_cache.h: set-associative, round-robin eviction); a miss walks the
//    tables and the result may replace an older entry. It is flushed (all entries) on
//    MAPD, MAPC, MAPTI/MAPI over a valid ITE, MOVI, MOVALL, DISCARD, ITS disable, table
//    reprogramming and (through invalidate_all, which the machine calls) EnableLPIs=0.
//  - GITS_TRANSLATER accepts 16- and 32-bit writes only while Enabled=1; a CPU write
//    carries DeviceID 0 (as on QEMU). Dropped MSIs are traced with the reason.
//
// Wiring in a machine (arch/arm64, see tools/cmd_translate_arm64.cpp for a complete one):
//   arm64::Redistributors rds(mem, cpus);              // GICR window at virt::kGicrBase
//   its::Its its(mem, rds, its::ItsConfig{});          // ITS window at virt::kItsBase
//   rds.set_on_enable_change([&](uint32_t, bool on) { if (!on) its.invalidate_all(); });
//   rds.set_on_change([&](uint32_t cpu) { /* re-evaluate cpu's IRQ line */ });
//   bus: [kItsBase, +0x20000) -> its.mmio_*; [kGicrBase, +cpus*0x20000) -> rds.mmio_*;
//   device MSIs: its.translate(MsiWrite{virt::kGitsTranslater, event, device_id});
//   CPU interface: rds.highest_pending(cpu) (HPPIR / IRQ line), rds.acknowledge(cpu)
//   (IAR: clears the pending bit), rds.eoi(cpu, intid) (EOIR).
#include <array>
#include <cstdint>
#include <deque>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/its/its_error.h"
#include "remap/its/its_walk.h"
#include "remap/its/lpi_target.h"
#include "remap/its/translation_cache.h"
#include "remap/mmio.h"
#include "remap/remapper.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::its {

enum class ErrorPolicy : uint8_t { Skip, Stall };

// GITS_TYPER (Arm IHI0069 §12.19.12) and behaviour knobs. Defaults are QEMU 7.2's: 16
// DeviceID and EventID bits, CIL=1 with 16 ICID bits, PTA=0.
struct ItsConfig {
  unsigned devbits = 16;  // DeviceID bits (TYPER.Devbits + 1), 1..32
  unsigned idbits = 16;   // EventID bits (TYPER.IDbits + 1), 1..32
  bool cil = true;        // TYPER.CIL
  unsigned cidbits = 16;  // ICID bits when CIL=1 (TYPER.CIDbits + 1), 1..16
  bool pta = false;       // TYPER.PTA: RDbase is an RD_base address
  unsigned lpi_bits = 16; // pINTID must be < 2^lpi_bits (GICD_TYPER.IDbits + 1)
  bool cache = true;      // translation cache on/off
  // Translation cache capacity in entries (rounded up to whole 3-way buckets of 64
  // bytes). The default, 4,096 buckets, is 256 KiB of host memory: bounded as an ITS's
  // own cache is, small enough to stay in a core's L2 so that a miss costs the walk plus
  // one cheap lookup, and big enough for every event of 48 devices with 256 each.
  std::size_t cache_entries = 12'288;
  ErrorPolicy policy = ErrorPolicy::Skip;
  uint64_t base = 0x0808'0000;  // window base: GITS_TRANSLATER = base + 0x10040
};

// One command error, kept for introspection.
struct CommandErrorRecord {
  ItsError code{};
  std::array<uint64_t, 4> command{};
  uint64_t offset = 0;  // byte offset in the queue
  std::string what;     // "MAPD: DeviceID 70000 out of range ..."
};

class Its final : public MmioDevice, public Remapper {
 public:
  static constexpr std::size_t kMaxKeptErrors = 1024;

  Its(GuestMemory& mem, LpiTarget& target, ItsConfig config = {});

  // MmioDevice: the 128 KiB window.
  std::string_view mmio_name() const override { return "ITS"; }
  uint64_t mmio_size() const override { return 0x2'0000; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // Remapper: msi.address must be GITS_TRANSLATER, msi.data is the EventID, msi.source
  // the DeviceID. A translated MSI is handed to LpiTarget::set_pending.
  std::string_view unit_name() const override { return "its"; }
  Translation translate(const MsiWrite& msi) override;
  // The same translation and delivery for a machine's bus, which needs no Translation:
  // nothing is formatted or allocated unless a trace sink listens. True when delivered.
  bool deliver(const MsiWrite& msi) { return deliver(msi.address, msi.source, msi.data); }
  // The same with the MSI's parts in registers: address, DeviceID, EventID.
  bool deliver(uint64_t address, uint32_t devid, uint32_t eventid);
  void invalidate_all() override;
  RemapStats stats() const override { return stats_; }
  std::vector<Mapping> mappings() const override;

  // The pure lookup, bypassing cache and delivery (for tools and tests).
  std::expected<Resolved, WalkError> resolve(uint32_t devid, uint32_t eventid) const;

  // Introspection.
  const ItsConfig& config() const { return config_; }
  const ItsTables& tables() const { return tables_; }
  bool enabled() const { return enabled_; }
  bool stalled() const { return stalled_; }
  uint64_t creadr() const { return creadr_; }
  uint64_t cwriter() const { return cwriter_; }
  uint64_t error_count() const { return error_count_; }
  std::size_t cache_capacity() const { return cache_.capacity(); }
  const std::deque<CommandErrorRecord>& errors() const { return errors_; }
  uint64_t commands_processed() const { return commands_; }
  std::size_t cache_size() const { return cache_.size(); }
  // The cache stands aside while a stream of MSIs does not hit it (translation_cache.h).
  bool cache_bypassing() const { return cache_.bypassing(); }
  void set_cache_enabled(bool on);
  void set_policy(ErrorPolicy p) { config_.policy = p; }
  Trace& trace() { return trace_; }
  uint64_t typer() const;

  // Its part of a snapshot (its_state.cpp): GITS_CTLR.Enabled, GITS_CBASER, GITS_CWRITER,
  // GITS_CREADR (with Stalled), GITS_BASER<n>, the queue latched at enable, the kept
  // command errors, the counters, the pages ITEs were written to and the translation
  // cache. An ITS may drop cached translations at any time (IHI0069 §5.2), but this model
  // traces each lookup as a hit or a miss, so a restored ITS holds what the saved one held
  // (translation_cache.h, TranslationCache::state).
  void state(snapshot::Io& io);
 private:
  // A failed command: its architected code and the sentence that explains it. Success
  // carries nothing, so the millions of commands that succeed build no string.
  struct CmdFail {
    ItsError code{};
    std::string what;
  };
  using CmdResult = std::expected<void, CmdFail>;
  static std::unexpected<CmdFail> fail(ItsError code, std::string what) {
    return std::unexpected(CmdFail{code, std::move(what)});
  }

  // Registers.
  uint64_t read_reg64(uint64_t reg) const;
  void write_ctlr(uint32_t v);
  void write_cbaser(uint64_t v);
  void write_cwriter(uint64_t v);
  void write_baser(unsigned n, uint64_t v);
  // Takes the tables and the queue from BASER<n>/CBASER (at enable, and at a restore);
  // the enable flushes the cache after it, a restore keeps the cache it loaded.
  void latch();
  void write_translater(unsigned size, uint64_t value);

  // Queue and commands (its_commands.cpp).
  uint64_t queue_bytes() const;
  void process_queue();
  CmdResult execute(const std::array<uint64_t, 4>& cmd);
  CmdResult cmd_mapd(const std::array<uint64_t, 4>& c);
  CmdResult cmd_mapc(const std::array<uint64_t, 4>& c);
  CmdResult cmd_mapti(const std::array<uint64_t, 4>& c, bool mapi);
  // The device of the last MAPTI/MAPI within one process_queue() run: its DTE and, when
  // the whole ITT lies in one writable RAM region, the ITT's host address (a device's
  // MAPTIs come in runs). Only the ITS writes guest memory while the queue runs (the CWRITER
  // write is processed synchronously; the machine is single-threaded) and any command
  // other than a MAPTI/MAPI drops the memo, so it always equals a fresh DTE read.
  struct DeviceMemo {
    uint32_t devid = 0;
    bool valid = false;
    Dte dte;
    std::byte* itt = nullptr;
  };
  bool mapti_fast(const std::array<uint64_t, 4>& c, bool mapi, DeviceMemo* memo);
  CmdResult cmd_movi(const std::array<uint64_t, 4>& c);
  CmdResult cmd_movall(const std::array<uint64_t, 4>& c);
  CmdResult cmd_discard(const std::array<uint64_t, 4>& c);
  CmdResult cmd_inv(const std::array<uint64_t, 4>& c);
  CmdResult cmd_invall(const std::array<uint64_t, 4>& c);
  CmdResult cmd_int(const std::array<uint64_t, 4>& c);
  CmdResult cmd_clear(const std::array<uint64_t, 4>& c);
  CmdResult cmd_sync(const std::array<uint64_t, 4>& c);
  // RDbase of MAPC/SYNC/MOVALL -> redistributor number (PTA decides the encoding).
  std::optional<uint32_t> rd_from_rdbase(uint64_t rdbase_field) const;
  uint64_t collection_limit() const { return uint64_t{1} << (config_.cil ? config_.cidbits : 16); }
  void record_error(ItsError code, const std::array<uint64_t, 4>& cmd, uint64_t offset,
                    std::string what);
  void flush_cache(std::string_view why);
  // mappings() index: guest pages into which MAPTI/MAPI wrote a valid ITE. The ITT is
  // the ITS's own memory (software allocates it and hands it over with MAPD; IHI0069
  // §5.2), so only these commands make an ITE valid, and mappings() reads only ITEs on
  // marked pages: its cost follows the mapped events, not the ITT sizes.
  void note_ite_written(uint64_t address);
  bool ite_page_marked(uint64_t page) const;
  // translate() and deliver(): cache or walk, trace, hand the LPI to its redistributor.
  // True with `out` set; false after drop(), with the reason in last_drop_ (a member, so
  // that the MSIs that succeed build no WalkError).
  bool route(uint64_t address, uint32_t devid, uint32_t eventid, LpiDelivery& out);
  // walk()'s reads in walk()'s order through host pointers, building no error value: the
  // miss path of route() when no trace listens. False: some step did not give a mapped
  // entry in RAM, and walk_explained() runs to say which.
  bool walk_fast(uint32_t devid, uint32_t eventid, Resolved& out) const;
  bool rd_exists(uint32_t rd) const;
  bool pend(uint32_t rd, uint32_t intid);
  // route()'s cold ends, out of line so the hot path stays small.
  [[gnu::cold, gnu::noinline]] bool refuse(const WalkError& e);
  [[gnu::cold, gnu::noinline]] bool refuse_request(uint64_t address);
  [[gnu::cold, gnu::noinline]] void trace_lookup(bool hit, uint32_t devid, uint32_t eventid) const;
  // `r` by value: a reference would make route() keep its Resolved in memory.
  [[gnu::cold, gnu::noinline]] void trace_translation(uint32_t devid, uint32_t eventid,
                                                      Resolved r) const;
  // walk() with the reads traced and a redistributor the target lacks reported.
  std::expected<Resolved, WalkError> walk_explained(uint32_t devid, uint32_t eventid);
  std::unexpected<WalkError> drop(WalkError e);

  GuestMemory& mem_;
  LpiTarget& target_;
  std::span<const PendingTableView* const> views_;  // target_.pending_views()
  ItsConfig config_;
  Trace trace_;

  bool enabled_ = false;
  uint64_t cbaser_ = 0;
  uint64_t cwriter_ = 0;  // Offset only (Retry is not stored)
  uint64_t creadr_ = 0;   // Offset only
  bool stalled_ = false;
  std::array<uint64_t, 8> baser_{};
  ItsTables tables_;
  uint64_t queue_base_ = 0, queue_size_ = 0;  // latched at enable
  const std::byte* queue_host_ = nullptr;      // the whole queue when in one RAM region

  TranslationCache cache_;
  // 1 GiB of guest-physical space -> one bit per 4 KiB page (32 KiB per GiB that holds
  // ITEs); the last chunk used is remembered, as MAPTIs come in runs per device.
  std::unordered_map<uint64_t, std::vector<uint64_t>> ite_pages_;
  uint64_t last_chunk_ = ~uint64_t{0};
  uint64_t last_ite_page_ = ~uint64_t{0};  // page of the last fast MAPTI (already marked)
  std::vector<uint64_t>* last_bits_ = nullptr;
  RemapStats stats_;
  WalkError last_drop_{WalkFail::ItsDisabled};  // why route() last returned false
  uint64_t error_count_ = 0, commands_ = 0;
  std::deque<CommandErrorRecord> errors_;
};

}  // namespace irqremap::its
