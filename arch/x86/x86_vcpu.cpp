#include "arch/x86/x86_vcpu.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "arch/common/host_stop.h"
#include "arch/common/unicorn_abort.h"
#include "arch/x86/engine_cpuid.h"
#include "arch/x86/exception_delivery.h"
#include "arch/x86/exception_in_flight.h"
#include "arch/x86/insn_access.h"
#include "arch/x86/insn_prefixes.h"
#include "arch/x86/msr_checks.h"
#include "arch/x86/interrupt_entry.h"
#include "arch/x86/pause_latency.h"
#include "arch/x86/real_mode_interrupt.h"
#include "arch/x86/tlb_invalidation.h"
#include "arch/x86/segment_descriptor.h"
#include "arch/x86/vex_prefix.h"

namespace irqremap::x86 {

std::string exception_name(uint32_t v) {
  static constexpr const char* kNames[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD",
                                           "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP",
                                           "#PF", "15",  "#MF", "#AC", "#MC", "#XM", "#VE",
                                           "#CP"};
  if (v < std::size(kNames)) return kNames[v];
  return fmt::format("vector {:#04x}", v);
}

X86Vcpu::X86Vcpu(unsigned index, uc_engine* uc, GuestMemory& mem, LocalApic& apic, IoPortBus& io)
    : index_(index), uc_(uc), mem_(mem), apic_(apic), io_(io) {
  arch::install_abort_guard();
  uc_hook_add(uc_, &code_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(&X86Vcpu::on_code), this,
              1, 0);
  uc_hook_add(uc_, &in_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&X86Vcpu::on_in), this, 1,
              0, UC_X86_INS_IN);
  uc_hook_add(uc_, &out_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&X86Vcpu::on_out), this, 1,
              0, UC_X86_INS_OUT);
  uc_hook_add(uc_, &cpuid_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&X86Vcpu::on_cpuid), this, 1, 0,
              UC_X86_INS_CPUID);
  uc_hook_add(uc_, &intr_hook_, UC_HOOK_INTR, reinterpret_cast<void*>(&X86Vcpu::on_intr), this,
              1, 0);
  // Unicorn 2.0.1 reports #UD (EXCP06_ILLOP) to UC_HOOK_INSN_INVALID instead of
  // UC_HOOK_INTR; it is an exception like the others.
  uc_hook_add(uc_, &invalid_hook_, UC_HOOK_INSN_INVALID, reinterpret_cast<void*>(&X86Vcpu::on_invalid), this, 1, 0);
  // Unicorn's reset state, to return to on INIT and before running the boot ROM.
  if (uc_context_alloc(uc_, &reset_context_) == UC_ERR_OK) uc_context_save(uc_, reset_context_);
  // Exit addresses from a set (empty) instead of uc_emu_start's `until`: after each run
  // Unicorn 2.0.1 invalidates the translation at `until` - 1 and looks that address up
  // through the guest's page tables; where it is unmapped the lookup raises a #PF that
  // Unicorn ignores but still records as in flight (exception_in_flight.h), so a few runs
  // later the guest's next exception became a silent triple fault. An empty set also means
  // no address the guest can reach ends a run (real-mode code at linear 0 included).
  uc_ctl_exits_enable(uc_);
  uc_hook_add(uc_, &unmapped_hook_, UC_HOOK_MEM_UNMAPPED, reinterpret_cast<void*>(&X86Vcpu::on_unmapped), this, 1, 0);
  if (auto f = ExceptionInFlight::locate()) {
    in_flight_ = *f;
    if (uc_context_alloc(uc_, &scratch_context_) != UC_ERR_OK) error_ = "unicorn: cannot allocate a context";
  } else {
    error_ = f.error();  // the first step reports it: exceptions could not be delivered right
  }
  if (auto e = ErrorCodeRecord::locate()) error_codes_ = *e;  // else #TS/#NP/#SS/#GP push 0
  if (auto s = SegmentState::locate())
    segments_ = *s;
  else if (!error_)
    error_ = s.error();  // privilege changes could not be delivered right
}

uint64_t X86Vcpu::StartupPage::mmio_read(uint64_t offset, unsigned size) {
  // m16:16 far pointer (SDM vol. 2 JMP "ptr16:16"): offset word 0, then the segment.
  const uint32_t pointer = uint32_t(vector) << 8 << 16;
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i)
    if (offset + i < 4) v |= uint64_t((pointer >> (8 * (offset + i))) & 0xFF) << (8 * i);
  return v;
}

void X86Vcpu::start_in_boot_rom(boot_rom::Path path, uint32_t ebx, uint8_t startup_vector) {
  if (reset_context_ != nullptr) uc_context_restore(uc_, reset_context_);
  startup_page_.vector = startup_vector;
  dr7_ = 0x400;  // DR7's reset value (SDM vol. 3A §18.2.4)
  breakpoints_.clear();
  const uint64_t rip = boot_rom::kEntry64, rsi = uint64_t(path), rbx = ebx, zero = 0, rflags = 2;
  for (int r : {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSP, UC_X86_REG_RBP,
                UC_X86_REG_RDI})
    uc_reg_write(uc_, r, &zero);
  uc_reg_write(uc_, UC_X86_REG_RBX, &rbx);
  uc_reg_write(uc_, UC_X86_REG_RSI, &rsi);
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &rflags);
  uc_reg_write(uc_, UC_X86_REG_RIP, &rip);
  running_ = true;
  halted_ = false;
  sti_shadow_ = movss_shadow_ = nmi_blocked_ = false;
}

X86Vcpu::~X86Vcpu() {
  for (uc_hook h : {code_hook_, in_hook_, out_hook_, cpuid_hook_, intr_hook_, invalid_hook_, unmapped_hook_, block_hook_, fetch_hook_})
    if (h != 0) uc_hook_del(uc_, h);
  for (uc_hook h : site_hooks_) uc_hook_del(uc_, h);
  if (reset_context_ != nullptr) uc_context_free(reset_context_);
  if (scratch_context_ != nullptr) uc_context_free(scratch_context_);
}

void X86Vcpu::reset(uint64_t entry, uint64_t stack) {
  uint64_t rflags = 2;
  uc_reg_write(uc_, UC_X86_REG_RIP, &entry);
  uc_reg_write(uc_, UC_X86_REG_RSP, &stack);
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &rflags);
  running_ = true;
  halted_ = false;
  sti_shadow_ = movss_shadow_ = nmi_blocked_ = false;
}

arch::VcpuState X86Vcpu::state() const {
  if (!running_)
    return apic_.init_pending() || apic_.startup_pending() ? arch::VcpuState::WaitingForInterrupt
                                                           : arch::VcpuState::Off;
  return halted_ ? arch::VcpuState::WaitingForInterrupt : arch::VcpuState::Running;
}

arch::StepResult X86Vcpu::step(uint64_t max_insns, bool exact) {
  arch::StepResult r;
  stall_ = 0;  // stall_of_step() is this step's from here, also when it runs nothing
  if (error_) {
    r.stop = arch::StopRequest{arch::StopKind::GuestFault, *take_error(), 1};
    return r;
  }
  choose_mode();
  executed_ = 0;
  in_block_ = 0;
  pending_ = 0;
  pending_stall_ = 0;
  cur_ = nullptr;
  stop_.reset();
  limit_ = max_insns;
  exact_ = exact;
  exact_tail_.reset();
  retranslate_ = false;
  stop_at_.reset();
  end_quantum_ = false;
  irq_check_ = apic_.wake_pending() || apic_.startup_pending() || extint_pending();
  if (attention_) seen_attention_ = *attention_;
  // A step that starts in the STI shadow: its first block is the shadow (see "Execution").
  prev_sti_ = sti_shadow_;
  prev_movss_ = movss_shadow_;
  prev_end_ = rip();
  if (!precise_) sti_shadow_ = movss_shadow_ = false;
  // `until` is ignored: exits come from the (empty) exit set, see the constructor. Fast
  // mode counts with its own hooks, not Unicorn's `count`, which would add a hook on every
  // instruction.
  in_step_ = true;
  uint64_t start = rip();
  std::optional<uc_err> ran;
  for (;;) {
    start = rip();
    ran = arch::guarded_emu_start(uc_, start, 0, 0, precise_ ? max_insns : 0);
    resume_at_stop();
    if (!ran || *ran != UC_ERR_OK || !retranslate_ || stop_ || error_) break;
    retranslate_ = false;  // the block is translated again with its hooks: go on
  }
  executed_ += pending_;  // the last block ran whole (an exception counted its part)
  add_stall(std::exchange(pending_stall_, 0));
  pending_ = 0;
  cur_ = nullptr;
  if (ran && *ran == UC_ERR_OK && exact_tail_ && !stop_ && !error_) ran = run_exact_tail();
  in_step_ = false;
  drop_scratch();
  if (!precise_) entered_ += executed_;
  r.executed = executed_;
  if (!ran) {
    r.stop = arch::StopRequest{arch::StopKind::Unsupported, arch::unicorn_abort_message(start, "RIP"), 1};
    return r;
  }
  const uc_err e = *ran;
  if (auto err = take_error())
    r.stop = arch::StopRequest{arch::StopKind::GuestFault, *err, 1};
  else if (stop_)
    r.stop = std::move(stop_);
  else if (e == UC_ERR_INSN_INVALID)
    r.stop = arch::StopRequest{arch::StopKind::Unsupported, "invalid or unsupported instruction", 1};
  else if (e != UC_ERR_OK)
    r.stop = arch::StopRequest{arch::StopKind::GuestFault, fmt::format("guest fault: {}", uc_strerror(e)), 1};
  stop_.reset();
  return r;
}

void X86Vcpu::choose_mode() {
  // Armed data or I/O breakpoints need the per-instruction hook (update_data_breakpoints).
  const bool precise = bool(on_insn_) || sites_full_ || !data_breakpoints_.empty();
  if (mode_chosen_ && precise == precise_) return;
  mode_chosen_ = true;
  precise_ = precise;
  for (uc_hook h : site_hooks_) uc_hook_del(uc_, h);
  site_hooks_.clear();
  hooked_at_.clear();
  blocks_.clear();
  recent_.fill(Recent{});
  if (precise_) {
    if (block_hook_ != 0) uc_hook_del(uc_, block_hook_);
    block_hook_ = 0;
    if (code_hook_ == 0)
      uc_hook_add(uc_, &code_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(&X86Vcpu::on_code), this, 1, 0);
  } else {
    if (code_hook_ != 0) uc_hook_del(uc_, code_hook_);
    code_hook_ = 0;
    uc_hook_add(uc_, &block_hook_, UC_HOOK_BLOCK, reinterpret_cast<void*>(&X86Vcpu::on_block), this, 1, 0);
    watch_fetches();
  }
  // Translations made for the other mode's hooks go. Not with uc_ctl_flush_tlb (Unicorn
  // 2.0.1's name for UC_CTL_TB_FLUSH): that clears the whole translation buffer, a gigabyte
  // touched page by page, which took seconds.
  for (const GuestMemory::Region& reg : mem_.regions()) uc_ctl_remove_cache(uc_, reg.base, reg.base + reg.size);
}

void X86Vcpu::watch_fetches() {
  if (fetch_hook_ != 0) return;
  // RAM and ROM without execute permission: every byte a block is translated from
  // reaches on_fetch once (see "Execution"). The hook stays in precise mode too.
  for (const GuestMemory::Region& reg : mem_.regions())
    uc_mem_protect(uc_, reg.base, reg.size, reg.read_only ? UC_PROT_READ : (UC_PROT_READ | UC_PROT_WRITE));
  uc_hook_add(uc_, &fetch_hook_, UC_HOOK_MEM_FETCH_PROT, reinterpret_cast<void*>(&X86Vcpu::on_fetch), this, 1, 0);
}

X86Vcpu::Block& X86Vcpu::block_at(uint64_t address, uint32_t size) {
  Recent& slot = recent_[recent_slot(address)];
  if (slot.address == address && slot.size == size) return *slot.block;
  for (Block& k : blocks_[address])
    if (k.size == size) {
      slot = Recent{address, size, &k};
      return k;
    }
  Block b;
  b.size = size;
  uc_tb tb{};
  const bool known = uc_ctl_request_cache(uc_, address, &tb) == UC_ERR_OK && tb.size == size;
  std::vector<uint8_t> bytes(size);
  if (uc_mem_read(uc_, address, bytes.data(), size) == UC_ERR_OK) {
    // The mode the guest's descriptors say first; QEMU's own count decides (code_bits()
    // reads CS from the descriptor table, which the guest may have rewritten since it
    // loaded CS, as kvm-unit-tests does on its way to 64-bit mode).
    const unsigned guess = code_bits();
    b.decoded = decoder_.decode(bytes, address, guess);
    for (unsigned bits : {64u, 32u, 16u}) {
      if (!known || (b.decoded.starts.size() == tb.icount && !b.decoded.undecoded)) break;
      if (bits != guess)
        if (DecodedBlock d = decoder_.decode(bytes, address, bits); d.starts.size() == tb.icount && !d.undecoded)
          b.decoded = std::move(d);
    }
  } else {
    b.decoded.sites.push_back({address, address + size - 1});  // every instruction checks itself
  }
  for (const uint64_t bp : breakpoints_)  // instruction breakpoints are trap sites too
    if (bp >= address && bp - address < size &&
        std::binary_search(b.decoded.starts.begin(), b.decoded.starts.end(), uint16_t(bp - address)))
      b.decoded.sites.push_back({bp, bp});
  b.icount = known ? tb.icount : uint32_t(std::max<size_t>(b.decoded.starts.size(), 1));
  // request_cache may have translated (on_fetch then dropped this address): look again.
  std::vector<Block>& kept = blocks_[address];
  kept.push_back(std::move(b));  // may move the address's other blocks: the slot is rewritten
  slot = Recent{address, size, &kept.back()};
  return kept.back();
}

bool X86Vcpu::hook_sites(Block& b) {
  // Each hook is looked at by Unicorn for every instruction it translates and every hooked
  // instruction it runs, so their number is capped; past the cap the CPU runs in precise
  // mode (choose_mode), where on_code sees every instruction.
  constexpr std::size_t kMaxSiteHooks = 1024;
  bool added = false;
  for (const DecodedBlock::Site& site : b.decoded.sites) {
    if (hooked_at_.contains(site.first)) continue;
    if (site_hooks_.size() >= kMaxSiteHooks) {
      sites_full_ = true;
      return true;
    }
    uc_hook h = 0;
    if (uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&X86Vcpu::on_site), this, site.first,
                    site.last) != UC_ERR_OK) {
      sites_full_ = true;
      return true;
    }
    site_hooks_.push_back(h);
    hooked_at_.insert(site.first);
    added = true;
  }
  b.hooked = true;
  return added;
}

uint64_t X86Vcpu::through(uint64_t at) const {
  if (cur_ == nullptr || at < block_start_ || at - block_start_ >= cur_->size) return pending_;
  const auto& starts = cur_->decoded.starts;
  const uint64_t n = uint64_t(std::upper_bound(starts.begin(), starts.end(), uint16_t(at - block_start_)) - starts.begin());
  return std::min<uint64_t>(std::max<uint64_t>(n, 1), pending_);
}

void X86Vcpu::settle_block(uint64_t at) {
  if (precise_) return;  // on_code has counted
  executed_ += through(at);
  pending_ = 0;
  pending_stall_ = 0;  // a PAUSE ends its block: it has not run
  cur_ = nullptr;
  in_block_ = 0;
}

bool X86Vcpu::nmi_takeable(bool in_shadow) const {
  return apic_.nmi_pending() && !nmi_blocked_ && !in_shadow;
}

bool X86Vcpu::interrupt_ready(bool in_shadow) const {
  if (apic_.init_pending() || apic_.startup_pending()) return true;  // regardless of IF
  if (nmi_takeable(in_shadow)) return true;
  return !in_shadow && (apic_.deliverable() || extint_pending()) && (rflags() & kRflagsIF) != 0;
}

void X86Vcpu::on_block(uc_engine* uc, uint64_t address, uint32_t size, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  self->executed_ += self->pending_;  // the block before ran whole
  self->add_stall(std::exchange(self->pending_stall_, 0));  // and its PAUSE, if it ends with one
  self->pending_ = 0;
  self->cur_ = nullptr;
  if (self->end_quantum_) {
    // An exception asked for the quantum to end at its handler (on_intr, raise_exception).
    self->stop_at_ = address;
    uc_emu_stop(uc);
    return;
  }
  if (self->counting_) return;  // run_exact_tail counts each instruction itself
  Block& b = self->block_at(address, size);
  const bool in_shadow = self->prev_sti_ && address == self->prev_end_;
  self->movss_shadow_ = in_shadow && self->prev_movss_;
  // A host stop (Ctrl-C, SIGTERM: host_stop.h) ends even a long quantum at the next block.
  bool stop = self->stop_.has_value() || self->error_.has_value() || self->halted_ || self->sites_full_ ||
              self->spent() >= self->limit_ || arch::host_stop_request() != 0;
  if (!stop && self->exact_ && self->executed_ + b.icount > self->limit_) {
    // This block would run past the budget: stop before it, then run its first
    // instructions one by one (run_exact_tail).
    self->exact_tail_ = Tail{address, size};
    stop = true;
  }
  if (!stop) stop = self->boundary_stop(in_shadow);
  if (!stop && !b.hooked && self->hook_sites(b)) {
    // New trap sites: translate the block again with their hooks, before it runs.
    uc_ctl_remove_cache(uc, address, address + size);
    self->retranslate_ = !self->sites_full_;
    stop = true;
  }
  if (stop) {
    self->sti_shadow_ = in_shadow;
    self->stop_at_ = address;  // Unicorn leaves RIP there only when the block is not chained
    uc_emu_stop(uc);
    return;
  }
  self->cur_ = &b;
  self->block_start_ = address;
  self->pending_ = b.icount;
  self->pending_stall_ = b.decoded.ends_with_pause ? kPauseStall : 0;
  self->prev_sti_ = b.decoded.ends_with_shadow;
  self->prev_movss_ = b.decoded.shadow_blocks_nmi;
  self->prev_end_ = address + size;
}

void X86Vcpu::on_site(uc_engine*, uint64_t address, uint32_t size, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  if (self->counting_ || self->precise_) return;  // on_count / on_code check every instruction
  self->in_block_ = self->through(address);
  self->check_insn(address, size);
  self->in_block_ = 0;
}

std::optional<uc_err> X86Vcpu::run_exact_tail() {
  // A code hook bounded to the block, and the block translated again so that it calls
  // it; both undone afterwards, so the block runs with its own hooks only again. Fewer
  // instructions than the block holds are left, so the run ends inside it (a block
  // branches only at its end) or at an exception (on_intr ends the run there).
  const Tail t = *std::exchange(exact_tail_, std::nullopt);
  uc_hook h = 0;
  if (uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&X86Vcpu::on_count), this, t.address,
                  t.address + t.size - 1) != UC_ERR_OK)
    return UC_ERR_OK;  // the quantum ends at the block boundary instead
  uc_ctl_remove_cache(uc_, t.address, t.address + t.size);
  counting_ = true;
  const std::optional<uc_err> ran = arch::guarded_emu_start(uc_, t.address, 0, 0, 0);
  counting_ = false;
  resume_at_stop();  // stopped at a handler (on_intr)
  uc_hook_del(uc_, h);
  uc_ctl_remove_cache(uc_, t.address, t.address + t.size);
  return ran;
}

void X86Vcpu::on_count(uc_engine* uc, uint64_t address, uint32_t size, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  if (self->executed_ >= self->limit_) {
    uc_emu_stop(uc);  // before this instruction (the code hook synced RIP)
    return;
  }
  ++self->executed_;
  self->check_insn(address, size);
}

bool X86Vcpu::on_fetch(uc_engine*, uc_mem_type, uint64_t address, int, int64_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  // A block is being translated from this byte: what was kept for a block starting here
  // may be old code (see "Execution").
  if (auto it = self->blocks_.find(address); it != self->blocks_.end()) {
    for (const Block& b : it->second)
      if (self->cur_ == &b) self->cur_ = nullptr;
    self->blocks_.erase(it);
    self->recent_[recent_slot(address)] = Recent{};
  }
  return true;  // the fetch goes on
}

uint64_t X86Vcpu::rip() const {
  uint64_t v = 0;
  uc_reg_read(uc_, UC_X86_REG_RIP, &v);
  return v;
}

uint64_t X86Vcpu::rflags() const {
  uint64_t v = 0;
  uc_reg_read(uc_, UC_X86_REG_RFLAGS, &v);
  return v;
}

void X86Vcpu::fail(std::string what) {
  if (!error_) error_ = std::move(what);
  uc_emu_stop(uc_);
}

bool X86Vcpu::vector_into_guest(uint8_t vector, std::string_view what, std::optional<uint64_t> error_code) {
  if ((paging_regs().cr0 & kCr0PE) == 0) return vector_into_real_mode(vector, what);
  return deliver(InterruptEvent{vector, error_code, false}, what, rip());
}

namespace {

// Delivery's memory through the guest's paging (interrupt_entry.h): supervisor-mode
// accesses by linear address, a #PF with its error code and CR2 where the walk faults. An
// access that crosses a page is split at it, each part translated on its own.
class PagedMemory final : public LinearMemory {
 public:
  PagedMemory(GuestMemory& mem, const PagingRegs& regs) : mem_(mem), regs_(regs) {}
  std::expected<uint64_t, DeliveryFault> read64(uint64_t a) override {
    uint64_t v = 0;
    auto ok = access(a, reinterpret_cast<uint8_t*>(&v), Access::Read);
    if (!ok) return std::unexpected(ok.error());
    return v;
  }
  std::expected<void, DeliveryFault> write64(uint64_t a, uint64_t v) override {
    return access(a, reinterpret_cast<uint8_t*>(&v), Access::Write);
  }

 private:
  std::expected<void, DeliveryFault> access(uint64_t a, uint8_t* bytes, Access kind) {
    size_t done = 0;
    while (done < 8) {
      const uint64_t la = a + done;
      const size_t n = std::min<uint64_t>(8 - done, 0x1000 - (la & 0xFFF));
      auto t = translate(mem_, regs_, la, {kind, false});
      if (!t) {
        if (t.error().kind == WalkFault::Kind::PageFault)
          return std::unexpected(DeliveryFault{14, t.error().error_code,
                                               fmt::format("#PF at linear {:#x} ({})", la, t.error().what), la});
        return std::unexpected(DeliveryFault{std::nullopt, 0, t.error().what, std::nullopt});
      }
      auto span = std::span<std::byte>(reinterpret_cast<std::byte*>(bytes) + done, n);
      auto r = kind == Access::Write ? mem_.write(t->pa, span) : mem_.read(t->pa, span);
      if (!r) return std::unexpected(DeliveryFault{std::nullopt, 0, r.error().describe(), std::nullopt});
      done += n;
    }
    return {};
  }
  GuestMemory& mem_;
  PagingRegs regs_;
};

}  // namespace

std::optional<DeliveryFault> X86Vcpu::try_vector(const InterruptEvent& ev, std::string_view what) {
  CpuFrameRegs r;
  uint64_t cs = 0, ss = 0;
  uc_reg_read(uc_, UC_X86_REG_RIP, &r.rip);
  uc_reg_read(uc_, UC_X86_REG_RSP, &r.rsp);
  uc_reg_read(uc_, UC_X86_REG_RFLAGS, &r.rflags);
  uc_reg_read(uc_, UC_X86_REG_CS, &cs);
  uc_reg_read(uc_, UC_X86_REG_SS, &ss);
  r.cs = uint16_t(cs);
  r.ss = uint16_t(ss);
  r.cpl = cpl();
  uc_x86_mmr idtr{}, gdtr{}, ldtr{}, tr{};
  uc_reg_read(uc_, UC_X86_REG_IDTR, &idtr);
  uc_reg_read(uc_, UC_X86_REG_GDTR, &gdtr);
  uc_reg_read(uc_, UC_X86_REG_LDTR, &ldtr);
  uc_reg_read(uc_, UC_X86_REG_TR, &tr);
  r.idtr = {idtr.base, idtr.limit};
  r.gdtr = {gdtr.base, gdtr.limit};
  r.ldtr = {ldtr.base, ldtr.limit};
  r.tr = {tr.base, tr.limit};
  r.tr_selector = tr.selector;
  const uint64_t from = r.rip;
  const uint16_t old_cs = r.cs;
  PagedMemory linear(mem_, paging_regs());
  auto entry = enter_interrupt(r, linear, ev);
  if (!entry) return entry.error();
  if (entry->cs_descriptor && (r.cs != old_cs || entry->stack_switched)) {
    // A new code segment or privilege level: its hidden part and the CPL (segment_state.h).
    if (!segments_) return DeliveryFault{std::nullopt, 0, "no way to load CS in this Unicorn", std::nullopt};
    segments_->load_code64(uc_, scratch_context_, r.cs, *entry->cs_descriptor, entry->stack_switched, r.ss, r.cpl);
  }
  uc_reg_write(uc_, UC_X86_REG_RIP, &r.rip);
  uc_reg_write(uc_, UC_X86_REG_RSP, &r.rsp);
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &r.rflags);
  ++taken_[ev.vector];
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, fmt::format("cpu{}", index_),
                 fmt::format("{} taken: vector {:#04x} through the IDT, RIP {:#x} -> {:#x}{}{}", what, ev.vector, from,
                             r.rip, old_cs != r.cs ? fmt::format(", CS {:#x} -> {:#x}", old_cs, r.cs) : "",
                             halted_ ? " (woke from HLT)" : ""),
                 {{"vector", ev.vector}, {"cpu", index_}, {"taken", 1}}};
  });
  halted_ = false;
  return std::nullopt;
}

bool X86Vcpu::deliver(InterruptEvent ev, std::string_view what, uint64_t fault_rip) {
  std::string name(what);
  std::string history;
  for (;;) {
    auto f = try_vector(ev, name);
    if (!f) return true;
    history += fmt::format("{}cannot deliver {}: {}", history.empty() ? "" : "; then ", name, f->what);
    halted_ = false;  // the next step reports a stop
    // §6.15 Interrupt 8, Table 6-5: a fault while delivering #DF shuts the processor down; a
    // contributory exception (or #PF) while delivering a contributory exception or a #PF
    // (a #PF while delivering a #PF too) is #DF; otherwise the second is taken serially. A
    // table or frame outside RAM is no architected fault: it counts as contributory.
    const bool second_df_class = !f->vector || double_fault_class(*f->vector);
    const bool first_pf = ev.vector == 14 && !ev.software;
    const bool first_contributory = !ev.software && double_fault_class(ev.vector) && ev.vector != 14;
    if (ev.vector == 8 && !ev.software) {
      error_ = fmt::format("triple fault: {}", history);
      return false;
    }
    bool to_df = false;
    if (first_pf)
      to_df = second_df_class;
    else if (first_contributory)
      to_df = second_df_class && (!f->vector || *f->vector != 14);
    if (!f->vector && !to_df) {
      error_ = fmt::format("triple fault: {}", history);  // nothing architected to deliver instead
      return false;
    }
    // The fault's frame names the instruction that caused the event (a software
    // interrupt's own address; an exception's or interrupt's RIP is already that).
    uc_reg_write(uc_, UC_X86_REG_RIP, &fault_rip);
    if (to_df) {
      ev = InterruptEvent{8, 0, false};
      name = "#DF";
    } else {
      ev = InterruptEvent{*f->vector, f->error_code, false, exception_is_fault(*f->vector)};
      name = fmt::format("{}({:#x})", exception_name(*f->vector), f->error_code);
      if (f->cr2) uc_reg_write(uc_, UC_X86_REG_CR2, &*f->cr2);  // a #PF of the delivery: its address
    }
    trace_.emit_lazy([&] {
      return Event{EventKind::Fault, fmt::format("cpu{}", index_), history, {{"cpu", index_}}};
    });
  }
}

void X86Vcpu::software_interrupt(uint8_t vector, uint32_t size) {
  // INT n "Operation": the frame holds the next instruction; a fault raised while
  // delivering (the gate's DPL, P, ...) is a fault of the INT instruction itself.
  if (in_flight_ && scratch_context_ != nullptr) in_flight_->clear(uc_, scratch_context_);
  const uint64_t at = rip(), next = at + size;
  uc_reg_write(uc_, UC_X86_REG_RIP, &next);
  deliver(InterruptEvent{vector, std::nullopt, true}, vector == 3 ? "#BP (INT3)" : vector == 4 ? "#OF (INTO)" : fmt::format("INT {:#x}", vector),
          at);
  if (error_) uc_emu_stop(uc_);
}

bool X86Vcpu::take_startup_events() {
  if (apic_.take_init()) {
    // INIT (SDM vol. 3A §9.1.1, §11.4.7.3): the processor resets and waits for a Start Up.
    apic_.init_reset();
    running_ = false;
    halted_ = false;
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, fmt::format("cpu{}", index_), "INIT: waiting for Start Up IPI",
                   {{"cpu", index_}}};
    });
  }
  const auto sipi = apic_.take_startup();
  if (!sipi) return false;
  if (running_) {  // §9.4.4.1: a Start Up to a processor not waiting for one is ignored
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, fmt::format("cpu{}", index_),
                   fmt::format("Start Up vector {:#04x} ignored: not waiting for SIPI", *sipi), {{"cpu", index_}}};
    });
    return false;
  }
  start_in_boot_rom(boot_rom::Path::StartupIpi, 0, *sipi);
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, fmt::format("cpu{}", index_),
                 fmt::format("Start Up vector {:#04x}: real mode at {:#06x}:0000 (physical {:#x})", *sipi,
                             uint32_t(*sipi) << 8, uint32_t(*sipi) << 12),
                 {{"cpu", index_}, {"vector", *sipi}}};
  });
  return true;
}

bool X86Vcpu::take_nmi_at_boundary() {
  if (error_ || !running_ || debug_hits_ != 0 || !nmi_takeable(sti_shadow_) || !apic_.take_nmi()) return false;
  nmi_blocked_ = true;  // until the next IRET (SDM vol. 3A §6.7.1)
  return vector_into_guest(2, "NMI");
}

bool X86Vcpu::take_interrupt() {
  if (error_) return false;
  if (apic_.init_pending() || apic_.startup_pending()) take_startup_events();
  if (!running_) return false;
  // A data breakpoint the quantum's last instruction hit: its #DB trap outranks NMI and
  // interrupts (SDM vol. 3A Table 6-2), which the handler's first boundary may take.
  if (debug_hits_ != 0) {
    data_breakpoint_trap(linear_rip());
    return false;  // no interrupt taken
  }
  if (take_nmi_at_boundary()) return true;
  if ((rflags() & kRflagsIF) == 0 || sti_shadow_) return false;
  if (const auto v = apic_.acknowledge()) return vector_into_guest(*v, "interrupt");
  if (extint_pending()) return vector_into_guest(extint_ack_(), "interrupt (8259 ExtINT)");
  return false;
}

void X86Vcpu::fault_trapped(uint32_t vector, std::optional<uint32_t> error_code, const std::string& event,
                            bool debug_fault) {
  // The code hook runs before the instruction, RIP is still at it, so the frame's RIP is
  // the faulting instruction and the instruction never executes.
  trace_.emit_lazy([&] { return Event{EventKind::Fault, fmt::format("cpu{}", index_), event, {{"cpu", index_}}}; });
  raise_exception(vector, error_code, debug_fault);
}

void X86Vcpu::refuse_msr(const std::string& what) {
  // #GP(0) at the RDMSR/WRMSR (SDM §11.12.1.2, RDMSR/WRMSR "Protected Mode Exceptions").
  fault_trapped(13, 0, fmt::format("{}: #GP(0) (SDM §11.12)", what));
}

unsigned X86Vcpu::cpl() const {
  uint64_t cr0 = 0;
  uc_reg_read(uc_, UC_X86_REG_CR0, &cr0);
  if ((cr0 & kCr0PE) == 0) return 0;  // real-address mode
  if (rflags() & kRflagsVM) return 3;               // virtual-8086 mode
  uint64_t cs = 0;
  uc_reg_read(uc_, UC_X86_REG_CS, &cs);
  return unsigned(cs & 3);  // CS.RPL is the CPL once CS is loaded
}

const uint8_t* X86Vcpu::insn_bytes(uint64_t address, uint32_t size, std::array<uint8_t, 15>& scratch) const {
  if (const std::byte* b = mem_.host_ptr(address, size)) return reinterpret_cast<const uint8_t*>(b);
  if (size > scratch.size() || uc_mem_read(uc_, address, scratch.data(), size) != UC_ERR_OK) return nullptr;
  return scratch.data();
}

std::optional<uint32_t> X86Vcpu::cs_descriptor_high() const {
  const auto d = cs_descriptor();
  return d ? std::optional<uint32_t>(uint32_t(*d >> 32)) : std::nullopt;
}

std::optional<uint32_t> X86Vcpu::cs_descriptor_low() const {
  const auto d = cs_descriptor();
  return d ? std::optional<uint32_t>(uint32_t(*d)) : std::nullopt;
}

std::optional<uint64_t> X86Vcpu::cs_descriptor() const {
  // Unicorn keeps CS.L and CS.D only in the segment's hidden part, which its API does not
  // read, so they are read where the guest loaded CS from: its descriptor in the GDT or
  // LDT (a descriptor rewritten since then is not what the CPU uses; SDM vol. 3A §3.4.3).
  uint64_t cs = 0;
  uc_reg_read(uc_, UC_X86_REG_CS, &cs);
  if ((cs & ~uint64_t{3}) == 0) return std::nullopt;
  uc_x86_mmr table{};
  uc_reg_read(uc_, (cs & 4) != 0 ? UC_X86_REG_LDTR : UC_X86_REG_GDTR, &table);
  if ((cs | 7) > table.limit) return std::nullopt;
  const auto at = translate(mem_, paging_regs(), table.base + (cs & 0xFFF8), {Access::Read, false});
  if (!at) return std::nullopt;
  const auto descriptor = mem_.read64(at->pa);
  if (!descriptor) return std::nullopt;
  return *descriptor;
}

bool X86Vcpu::code64() const {
  const PagingRegs regs = paging_regs();
  if ((regs.efer & kEferLMA) == 0) return false;
  // A null CS in IA-32e mode is the reset state of Unicorn's 64-bit engine, in which a raw
  // image or an ELF64 is entered (boot_rom.h): 64-bit code. So is a descriptor that cannot
  // be read.
  const auto high = cs_descriptor_high();
  return !high || (*high >> 21 & 1) != 0;  // L, bit 21 of the high dword (§3.4.5)
}

bool X86Vcpu::code32_operands() const {
  uint64_t cr0 = 0;
  uc_reg_read(uc_, UC_X86_REG_CR0, &cr0);
  if ((cr0 & kCr0PE) == 0 || (rflags() & kRflagsVM) != 0) return false;  // real and virtual-8086: 16-bit
  const auto high = cs_descriptor_high();
  return high && (*high >> 22 & 1) != 0;  // D, bit 22 of the high dword (§3.4.5)
}

void X86Vcpu::resume_at_stop() {
  if (!stop_at_) return;
  // The block the run stopped before: its address is linear, RIP is CS-relative.
  const uint64_t rip = *std::exchange(stop_at_, std::nullopt) - cs_base();
  uc_reg_write(uc_, UC_X86_REG_RIP, &rip);
}

uint64_t X86Vcpu::cs_base() const {
  uint64_t cr0 = 0, cs = 0;
  uc_reg_read(uc_, UC_X86_REG_CR0, &cr0);
  uc_reg_read(uc_, UC_X86_REG_CS, &cs);
  if ((cr0 & kCr0PE) == 0 || (rflags() & kRflagsVM) != 0) return (cs & 0xFFFF) << 4;  // real-address, virtual-8086
  if (code64()) return 0;  // 64-bit mode ignores the base (SDM vol. 3A §3.4.4)
  const auto low = cs_descriptor_low(), high = cs_descriptor_high();
  if (!low || !high) return 0;
  // Base 15:0 in the low dword's 31:16, 23:16 and 31:24 in the high dword (§3.4.5).
  return (*low >> 16) | ((*high & 0xFF) << 16) | (*high & 0xFF00'0000);
}

unsigned X86Vcpu::code_bits() const {
  if (code64()) return 64;
  uint64_t cr0 = 0;
  uc_reg_read(uc_, UC_X86_REG_CR0, &cr0);
  if ((cr0 & kCr0PE) == 0 || (rflags() & kRflagsVM) != 0) return 16;  // real-address, virtual-8086
  const auto high = cs_descriptor_high();
  return high && (*high >> 22 & 1) == 0 ? 16 : 32;  // D, bit 22 (§3.4.5)
}

void X86Vcpu::perform(TrappedInsn t, uint64_t address, uint32_t size) {
  if (t.lock) {  // each instruction's "Exceptions": #UD if the LOCK prefix is used
    fault_trapped(6, std::nullopt, fmt::format("LOCK-prefixed {} at {:#x}: #UD", mnemonic(t.op), address));
    return;
  }
  switch (t.op) {
    case TrappedOp::Rdmsr:
    case TrappedOp::Wrmsr: msr_access(size, t.op == TrappedOp::Wrmsr); return;
    case TrappedOp::Rdtsc:
    case TrappedOp::Rdtscp: read_tsc(size, t.op == TrappedOp::Rdtscp); return;
    case TrappedOp::Syscall: system_call(size); return;
    case TrappedOp::None: return;
  }
}

void X86Vcpu::system_call(uint32_t size) {
  // SYSCALL "Operation" (SDM vol. 2B): #UD unless IA32_EFER.SCE (and IA-32e mode); the
  // vendor is AuthenticAMD, whose SYSCALL from compatibility mode goes to IA32_CSTAR.
  const auto msr = [&](uint32_t index) {
    uc_x86_msr m{index, 0};
    uc_reg_read(uc_, UC_X86_REG_MSR, &m);
    return m.value;
  };
  const uint64_t efer = msr(kMsrIa32Efer);
  if ((efer & kEferSCE) == 0 || (efer & kEferLMA) == 0 || !segments_) {
    fault_trapped(6, std::nullopt, fmt::format("SYSCALL at {:#x} with IA32_EFER.SCE clear: #UD", rip()));
    return;
  }
  const uint64_t star = msr(0xC000'0081), fmask = msr(0xC000'0084);
  const uint64_t target = code64() ? msr(kMsrIa32Lstar) : msr(kMsrIa32Cstar);
  const uint64_t next = code64() ? rip() + size : uint32_t(rip() + size), flags = rflags() & ~kRflagsRF;
  const uint64_t new_flags = (flags & ~fmask) | 2;
  uc_reg_write(uc_, UC_X86_REG_RCX, &next);
  uc_reg_write(uc_, UC_X86_REG_R11, &flags);
  // CS = STAR[47:32] as a flat 64-bit code segment at DPL 0, SS the selector after it; CPL 0.
  const uint16_t cs = uint16_t(star >> 32) & 0xFFFC;
  segments_->load_code64(uc_, scratch_context_, cs, 0x00AF'9B00'0000'FFFF, true, uint16_t(cs + 8), 0);
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &new_flags);
  uc_reg_write(uc_, UC_X86_REG_RIP, &target);
}

void X86Vcpu::read_tsc(uint32_t size, bool with_aux) {
  uint64_t cr4 = 0;
  uc_reg_read(uc_, UC_X86_REG_CR4, &cr4);
  if (const unsigned level = (cr4 & kCr4TSD) != 0 ? cpl() : 0; level != 0) {
    fault_trapped(13, 0, fmt::format("{} at CPL {} with CR4.TSD set: #GP(0)",
                                     mnemonic(with_aux ? TrappedOp::Rdtscp : TrappedOp::Rdtsc), level));
    return;
  }
  const uint64_t v = tsc_.read(clock());
  // EDX:EAX, the high halves of RAX and RDX cleared; RDTSCP also loads ECX with
  // IA32_TSC_AUX[31:0] (the instructions' "Operation").
  const uint64_t rax = uint32_t(v), rdx = v >> 32;
  uc_reg_write(uc_, UC_X86_REG_RAX, &rax);
  uc_reg_write(uc_, UC_X86_REG_RDX, &rdx);
  if (with_aux) {
    uc_x86_msr aux{kMsrIa32TscAux, 0};
    uc_reg_read(uc_, UC_X86_REG_MSR, &aux);  // Unicorn keeps IA32_TSC_AUX (WRMSR runs natively)
    const uint64_t rcx = uint32_t(aux.value);
    uc_reg_write(uc_, UC_X86_REG_RCX, &rcx);
  }
  // `address` is linear (CS.base + RIP); the code hook has synced RIP itself.
  const uint64_t next = rip() + size;
  uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // performed: skip the instruction
}

bool X86Vcpu::msr_access(uint32_t size, bool write) {
  uint64_t rcx = 0, rax = 0, rdx = 0;
  uc_reg_read(uc_, UC_X86_REG_RCX, &rcx);
  const uint32_t msr = uint32_t(rcx);
  const bool tsc = msr == kMsrIa32Tsc;
  const bool deadline = msr == kMsrIa32TscDeadline;
  if (cpl() == 0) {  // Unicorn raises #GP(0) at CPL > 0 itself
    // The checks Unicorn does not make (msr_checks.h): an unimplemented MSR, a value the
    // MSR refuses. What passes them runs natively (or below).
    uc_reg_read(uc_, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc_, UC_X86_REG_RDX, &rdx);
    const uint64_t value = (rdx << 32) | uint32_t(rax);
    uc_x86_msr mcg_cap{kMsrIa32McgCap, 0};
    uc_reg_read(uc_, UC_X86_REG_MSR, &mcg_cap);  // Unicorn's IA32_MCG_CAP: its bank count
    const bool apic_on = (apic_.apic_base() & (1u << 11)) != 0;
    const MsrCpu cpu{uint32_t(mcg_cap.value & 0xFF),
                     machine_cpuid(7, 0, engine_cpuid(7, 0), index_, apic_on, features_).edx};
    if (const auto why = msr_refusal(msr, write, value, cpu)) {
      fault_trapped(13, 0, write ? fmt::format("WRMSR {:#x} <- {:#x}: {}: #GP(0)", msr, value, *why)
                                 : fmt::format("RDMSR {:#x}: {}: #GP(0)", msr, *why));
      return true;
    }
  }
  if (write && msr == kMsrIa32Efer && cpl() == 0 && segments_) {
    // Unicorn 2.0.1's WRMSR drops EFER.SCE (its CPUID has no SYSCALL); the other bits go
    // through it, SCE into its CPU state (segment_state.h), where its SYSRET looks.
    uc_reg_read(uc_, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc_, UC_X86_REG_RDX, &rdx);
    uc_x86_msr efer{kMsrIa32Efer, (rdx << 32) | uint32_t(rax)};
    uc_reg_write(uc_, UC_X86_REG_MSR, &efer);
    uc_reg_read(uc_, UC_X86_REG_MSR, &efer);
    segments_->write_efer(uc_, scratch_context_, (efer.value & ~kEferSCE) | (((rdx << 32) | uint32_t(rax)) & kEferSCE));
    const uint64_t next = rip() + size;
    uc_reg_write(uc_, UC_X86_REG_RIP, &next);
    return true;
  }
  if (!tsc && !deadline && !LocalApic::handles_msr(msr)) return false;  // executes natively
  if (deadline && !features_.tsc_deadline) {  // §11.5.4.1: the MSR exists only with CPUID.1:ECX[24]
    refuse_msr(fmt::format("{} {:#x} (no TSC-deadline mode)", write ? "WRMSR" : "RDMSR", msr));
    return true;
  }
  if (const unsigned level = cpl(); level != 0) {  // RDMSR/WRMSR: #GP(0) if CPL is not 0
    fault_trapped(13, 0, fmt::format("{} {:#x} at CPL {}: #GP(0)", write ? "WRMSR" : "RDMSR", msr, level));
    return true;
  }
  if (write) {
    uc_reg_read(uc_, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc_, UC_X86_REG_RDX, &rdx);
    const uint64_t value = (rdx << 32) | uint32_t(rax);
    if (tsc) {
      tsc_.write(clock(), value);
    } else if (deadline) {
      // The deadline is in this CPU's TSC; the timer counts on the clock it is offset from
      // (a deadline already passed expires at once).
      const uint64_t now = clock(), ahead = value - tsc_.read(now);
      apic_.write_tsc_deadline(value, int64_t(ahead) > 0 ? now + ahead : now);
    } else if (!apic_.msr_write(msr, value)) {
      refuse_msr(fmt::format("WRMSR {:#x} <- {:#x}", msr, value));
      return true;
    }
  } else {
    const auto v = tsc        ? std::optional<uint64_t>(tsc_.read(clock()))
                   : deadline ? std::optional<uint64_t>(apic_.tsc_deadline())
                              : apic_.msr_read(msr);
    if (!v) {
      refuse_msr(fmt::format("RDMSR {:#x}", msr));
      return true;
    }
    rax = uint32_t(*v);
    rdx = *v >> 32;
    uc_reg_write(uc_, UC_X86_REG_RAX, &rax);
    uc_reg_write(uc_, UC_X86_REG_RDX, &rdx);
  }
  const uint64_t next = rip() + size;  // `address` is linear, RIP is synced (read_tsc)
  uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // skip the instruction: it has been performed
  return true;
}

void X86Vcpu::on_code(uc_engine* uc, uint64_t address, uint32_t size, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  // A data or I/O breakpoint the instruction before hit: its #DB trap comes before this
  // instruction and before any interrupt (SDM vol. 3A Table 6-2: traps on the previous
  // instruction outrank external interrupts and this instruction's faults).
  if (self->debug_hits_ != 0 && self->data_breakpoint_trap(address)) return;
  // Unicorn's count stops the step at its instructions; its time (PAUSE stall) here.
  if (self->in_step_ && (self->spent() >= self->limit_ || self->boundary_stop(self->sti_shadow_))) {
    uc_emu_stop(uc);  // before this instruction (the code hook synced RIP)
    return;
  }
  ++self->executed_;
  ++self->entered_;
  self->last_insn_ = address;
  if (self->on_insn_) self->on_insn_(address, size);
  self->check_insn(address, size);
}

bool X86Vcpu::boundary_stop(bool in_shadow) {
  if (attention_ && *attention_ != seen_attention_) {
    // Some local APIC changed: an interrupt for this CPU, or another CPU able to run.
    seen_attention_ = *attention_;
    irq_check_ = true;
    if (others_need_turn_ && others_need_turn_()) return true;
  }
  if (!irq_check_) return false;
  if (interrupt_ready(in_shadow)) return true;
  if (!apic_.wake_pending() && !apic_.startup_pending() && !extint_pending()) irq_check_ = false;
  return false;
}

void X86Vcpu::check_insn(uint64_t address, uint32_t size) {
  sti_shadow_ = movss_shadow_ = false;
  if (size == 0) return;
  if (!breakpoints_.empty() && instruction_breakpoint(address)) return;
  std::array<uint8_t, 15> scratch;
  const uint8_t* b = insn_bytes(address, size, scratch);
  if (b == nullptr) return;
  if (const size_t i = opcode_start({b, size}); i + 1 == size && b[i] == 0x9C) {
    clear_rf_before_pushf();
    return;
  }
  if (const auto si = classify_software_interrupt({b, size})) {
    // Delivered here in IA-32e mode (outside it Unicorn reports it and the run stops);
    // INTO only when it raises #OF: with OF clear, or as #UD in 64-bit code, Unicorn runs it.
    const bool raise = !si->into || ((rflags() & (1u << 11)) != 0 && !code64());
    if (raise && (paging_regs().efer & kEferLMA) != 0) {
      software_interrupt(si->vector, size);
      settle_block(address);  // the block ends at the handler (RIP written)
    }
    return;
  }
  const std::span<const uint8_t> whole{b, size};
  if (is_iret(whole) && nmi_blocked_) {
    // IRET ends the blocking of NMIs (SDM vol. 3A §6.7.1), even one that then faults; a
    // pending NMI is taken at the boundary after it.
    nmi_blocked_ = false;
    if (apic_.nmi_pending()) irq_check_ = true;
  }
  Shadow sh = shadow_after(whole, false);
  if (sh == Shadow::MovSs && b[opcode_start(whole)] == 0x17 && code64()) sh = Shadow::None;  // POP SS: #UD
  if (sh != Shadow::None) {
    // STI, MOV SS, POP SS: interrupts recognised after the next instruction (§6.8.3).
    sti_shadow_ = true;
    movss_shadow_ = sh == Shadow::MovSs;
    return;
  }
  if (size == 1) {
    if (b[0] == 0xF4) halted_ = true;  // HLT itself then ends uc_emu_start
    return;
  }
  if (is_pause(whole)) {
    // Unicorn runs it (a no-op); its delay is this CPU's time (pause_latency.h). The fast
    // mode counts a PAUSE that ends its block when the block has run (on_block).
    if (pending_stall_ == 0) add_stall(kPauseStall);
    return;
  }
  const std::span<const uint8_t> insn{b, size};
  if (const size_t i = opcode_start(insn); i < size && (b[i] == 0xC4 || b[i] == 0xC5)) {
    // A VEX prefix this CPU has no instruction for (vex_prefix.h), or BMI, or LES/LDS:
    // the mode is read only when it decides between VEX and LES/LDS.
    const bool code64 = vex_depends_on_mode(insn) && this->code64();
    if (const auto vex = decode_vex(insn, code64))
      if (const char* why = vex_undefined(*vex)) {
        settle_block(address);  // the #UD's frame: this instruction ends the block
        fault_trapped(6, std::nullopt, fmt::format("VEX-encoded instruction at {:#x}: #UD ({})", address, why));
      }
    return;
  }
  if (invalidates_tlb(insn)) {
    // The alias runs are cached translations (va_aliases.h): they go before the
    // instruction runs, and the next access maps what the tables say then.
    if (const std::size_t n = aliases_.drop_all(uc_); n != 0)
      trace_.emit_lazy([&] {
        return Event{EventKind::Note, fmt::format("cpu{}", index_),
                     fmt::format("TLB invalidation at {:#x}: {} alias run(s) dropped", address, n), {{"runs", n}}};
      });
  }
  if (const CheckedInsn c = classify_checked(insn); c.op != CheckedOp::None) {
    insn_size_ = size;
    if (!check_system_insn(c)) settle_block(address);  // faulted or performed: RIP written
    return;
  }
  // Every trapped instruction ends in 05, 30, 31, 32 or F9: one compare for most others.
  const uint8_t last = b[size - 1];
  if (last != 0x30 && last != 0x31 && last != 0x32 && last != 0xF9 && last != 0x05) return;
  if (const TrappedInsn t = classify_trapped(insn); t.op != TrappedOp::None) {
    // Performed here (RIP written past it) or faulted (RIP at a handler): the block ends at
    // this instruction and Unicorn goes on in a new one. An MSR left to Unicorn runs on.
    const uint64_t before = rip();
    perform(t, address, size);
    if (error_ || rip() != before) settle_block(address);
  }
}

uint32_t X86Vcpu::on_in(uc_engine*, uint32_t port, int size, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  self->io_breakpoint(uint16_t(port), size);
  return self->io_.in(uint16_t(port), unsigned(size));
}

void X86Vcpu::on_out(uc_engine*, uint32_t port, int size, uint32_t value, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  self->io_breakpoint(uint16_t(port), size);
  self->io_.out(uint16_t(port), unsigned(size), value);
  if (self->after_out_) self->after_out_();
}

void X86Vcpu::on_intr(uc_engine*, uint32_t intno, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  // A #GP at a non-canonical RIP: the fetch after a branch there (canonical_fault); the
  // branch is the running block's last instruction, or the last one the precise mode saw.
  std::optional<uint64_t> branch;
  if (intno == 13 && !seg::canonical(self->rip())) {
    if (self->precise_)
      branch = self->last_insn_;
    else if (self->cur_ != nullptr && !self->cur_->decoded.starts.empty() && !self->cur_->decoded.undecoded)
      branch = self->block_start_ + self->cur_->decoded.starts.back();
  }
  // RIP is the faulting instruction (or the one after INT n): the block counts up to it
  // (block addresses are linear).
  self->settle_block(self->linear_rip());
  // #TS/#NP/#SS/#GP raised by the engine: the error code it kept (error_code_record.h).
  std::optional<uint32_t> code;
  if (self->error_codes_ && self->scratch_context_ != nullptr && intno >= 10 && intno <= 13)
    code = self->error_codes_->read(self->uc_, self->scratch_context_);
  if (intno == 13 && code.value_or(0) == 0) intno = self->canonical_fault(branch);
  if (const uint8_t hits = std::exchange(self->debug_hits_, 0); hits != 0 && intno == 1) {
    // Unicorn's single-step #DB after an instruction that also hit a data breakpoint: one
    // #DB reports both (SDM vol. 3A §18.2.3, DR6.BS with B0-B3).
    uint64_t dr6 = 0;
    uc_reg_read(self->uc_, UC_X86_REG_DR6, &dr6);
    dr6 = (dr6 & ~uint64_t{0xF}) | hits;
    uc_reg_write(self->uc_, UC_X86_REG_DR6, &dr6);
  }  // any other exception: the instruction faulted, so it did not complete (no trap)
  self->raise_exception(intno, code);
  // The exact tail counts only its own block: the quantum ends at the handler's block
  // (not by uc_emu_stop from here: see "Execution" in the header).
  if (self->counting_) self->end_quantum_ = true;
}

uint32_t X86Vcpu::canonical_fault(std::optional<uint64_t> branch) {
  const auto gpr = [&](int n) {
    uint64_t v = 0;
    if (n >= 0) uc_reg_read(uc_, kGprIds[n], &v);
    return v;
  };
  if (!code64()) return 13;
  std::array<uint8_t, 15> scratch{};
  if (branch) {
    // The branch's target was not canonical: #GP(0) at the branch, which has changed
    // nothing (its "64-Bit Mode Exceptions"); Unicorn moved RIP there, and RSP for CALL
    // and RET.
    const uint8_t* b = insn_bytes(*branch, 15, scratch);
    const auto delta = b != nullptr ? near_branch_rsp_delta(b, 15, *branch) : std::nullopt;
    if (!delta) return 13;
    const uint64_t rsp = gpr(4) - uint64_t(*delta), at = *branch - cs_base();
    uc_reg_write(uc_, UC_X86_REG_RSP, &rsp);
    uc_reg_write(uc_, UC_X86_REG_RIP, &at);
    return 13;
  }
  // A reference through SS to a non-canonical address is #SS(0) (SDM vol. 3A §6.15,
  // Interrupt 12); Unicorn raises #GP(0) for every non-canonical address.
  const uint64_t at = linear_rip();
  const uint8_t* b = insn_bytes(at, 15, scratch);
  if (b == nullptr) return 13;
  bool implicit = false;
  const auto op = stack_operand(b, 15, at, implicit);
  if (op) {
    const uint64_t ea = gpr(op->base) + gpr(op->index) * op->scale + uint64_t(op->disp);
    if (!seg::canonical(ea)) return 12;
  } else if (implicit && !seg::canonical(gpr(4))) {
    return 12;
  }
  return 13;
}

bool X86Vcpu::on_unmapped(uc_engine*, uc_mem_type type, uint64_t address, int, int64_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  return static_cast<X86Vcpu*>(p)->take_unmapped(type, address);
}

bool X86Vcpu::map_alias(uint64_t va, uint64_t pa) {
  // Unicorn accesses the page mapped at the VA itself, so a device page needs the device
  // behind the alias (set_alias_mmio). RAM goes as a run over the pages the guest's
  // tables map from here into the same RAM (va_aliases.h), found with the machine's walk.
  const PagingRegs regs = paging_regs();
  const auto walk = [&](uint64_t va_page) -> std::optional<uint64_t> {
    const auto t = translate(mem_, regs, va_page, {Access::Read, false});
    if (!t) return std::nullopt;
    return t->pa & ~(arch::VaAliases::kPage - 1);
  };
  // At the cap the oldest run goes (va_aliases.h), but not the one the running block's
  // code is in: Unicorn fetches the rest of it through the same look-up.
  if (!aliases_.map(uc_, mem_, va, pa, alias_mmio_, trace_, index_, walk, linear_rip())) return false;
  // A RAM or ROM alias is code too: without execute permission its translations reach
  // on_fetch as RAM's do (see "Execution").
  if (fetch_hook_ != 0)
    if (const GuestMemory::Region* r = mem_.region_at(pa))
      uc_mem_protect(uc_, va & ~(arch::VaAliases::kPage - 1), aliases_.run_pages(va) * arch::VaAliases::kPage,
                     r->read_only ? UC_PROT_READ : (UC_PROT_READ | UC_PROT_WRITE));
  return true;
}

bool X86Vcpu::take_unmapped(uc_mem_type type, uint64_t va) {
  const Access kind = type == UC_MEM_FETCH_UNMAPPED ? Access::Fetch
                      : type == UC_MEM_WRITE_UNMAPPED ? Access::Write
                                                      : Access::Read;
  const PagingRegs regs = paging_regs();
  const char* what = kind == Access::Fetch ? "fetch" : kind == Access::Write ? "write" : "read";
  auto refuse = [&](arch::StopKind k, std::string line) {
    if (!stop_) stop_ = arch::StopRequest{k, std::move(line), 1};
    return false;  // Unicorn ends the run with UC_ERR_*_UNMAPPED
  };
  if ((regs.cr0 & kCr0PG) == 0)  // linear = physical: nothing is there
    return refuse(arch::StopKind::GuestFault, fmt::format("guest fault: {} of unmapped physical address {:#x}", what, va));
  auto t = translate(mem_, regs, va, {kind, user_mode()});
  if (!t && t.error().kind == WalkFault::Kind::PageFault) {
    // The #PF the processor raises for this access (§4.7). Unicorn refused the access
    // before its own walk; with the scratch page there the walk runs and raises it, at
    // the instruction (see "linear address" above).
    const uint64_t page = va & ~(arch::VaAliases::kPage - 1);
    drop_scratch();
    scratch_page_.assign(arch::VaAliases::kPage, 0);
    if (uc_mem_map_ptr(uc_, page, arch::VaAliases::kPage, UC_PROT_READ | UC_PROT_WRITE, scratch_page_.data()) ==
        UC_ERR_OK) {
      scratch_at_ = page;
      scratch_error_code_ = t.error().error_code;
      return true;
    }
    return refuse(arch::StopKind::Unsupported, fmt::format("guest {} of VA {:#x}: #PF, and no page to raise it from", what, va));
  }
  if (!t)
    return refuse(arch::StopKind::Unsupported, fmt::format("guest {} of VA {:#x}: {}", what, va, t.error().what));
  if (map_alias(va, t->pa)) return true;  // the access goes on at the alias
  if (aliases_.contains(va))
    return refuse(arch::StopKind::Unsupported,
                  fmt::format("guest {} of VA {:#x} -> PA {:#x}: Unicorn refused it again after an alias page was "
                              "mapped at the VA", what, va, t->pa));
  return refuse(arch::StopKind::GuestFault,
                fmt::format("guest fault: {} of VA {:#x} -> PA {:#x}, where nothing is mapped", what, va, t->pa));
}

void X86Vcpu::drop_scratch() {
  if (!scratch_at_) return;
  uc_mem_unmap(uc_, *scratch_at_, arch::VaAliases::kPage);
  scratch_at_.reset();
}

bool X86Vcpu::on_invalid(uc_engine*, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  self->settle_block(self->linear_rip());
  self->raise_exception(6);
  return true;  // handled: Unicorn then ends this uc_emu_start, the handler runs next step
}

PagingRegs X86Vcpu::paging_regs() const {
  PagingRegs r;
  uc_x86_msr efer{0xC000'0080, 0};
  uc_reg_read(uc_, UC_X86_REG_CR0, &r.cr0);
  uc_reg_read(uc_, UC_X86_REG_CR3, &r.cr3);
  uc_reg_read(uc_, UC_X86_REG_CR4, &r.cr4);
  uc_reg_read(uc_, UC_X86_REG_MSR, &efer);
  r.efer = efer.value;
  return r;
}

bool X86Vcpu::user_mode() const { return cpl() == 3; }

std::optional<bool> X86Vcpu::instruction_writes() const {
  // The instruction's bytes through the guest's translation (it may run at a VA other
  // than its PA); up to 15 bytes, stopping where the next page is not mapped.
  const PagingRegs regs = paging_regs();
  const uint64_t at = rip();
  std::array<uint8_t, 15> bytes{};
  size_t n = 0;
  while (n < bytes.size()) {
    auto t = translate(mem_, regs, at + n, {Access::Fetch, user_mode()});
    if (!t) break;
    const size_t in_page = std::min<size_t>(bytes.size() - n, 0x1000 - ((at + n) & 0xFFF));
    const std::byte* p = mem_.host_ptr(t->pa, in_page);
    if (p == nullptr) break;
    std::memcpy(bytes.data() + n, p, in_page);
    n += in_page;
  }
  if (n == 0) return std::nullopt;
  return instruction_writes_memory(bytes.data(), n, at);
}

void X86Vcpu::raise_exception(uint32_t vector, std::optional<uint32_t> error_code, bool debug_fault) {
  // The engine's nested-exception record is cleared as soon as an exception is reported:
  // nesting during delivery is this function's business (below), and once the handler is
  // entered the next fault is a new exception (exception_in_flight.h).
  if (in_flight_ && scratch_context_ != nullptr) in_flight_->clear(uc_, scratch_context_);
  // Unicorn has left RIP at the faulting instruction (a fault) or after it (INT n, INT3,
  // INTO), and CR2 = the linear address for #PF.
  const PagingRegs regs = paging_regs();
  uint64_t cr2 = 0;
  uc_reg_read(uc_, UC_X86_REG_CR2, &cr2);
  const std::string name = exception_name(vector);
  if ((regs.cr0 & kCr0PE) == 0) {  // real mode: through the IVT, no error code (§20.1.4)
    if (!vector_into_real_mode(uint8_t(vector), name)) fail(fmt::format("shutdown: {}", *take_error()));
    return;
  }
  if ((regs.efer & kEferLMA) == 0) {  // only IA-32e mode IDT delivery is modelled
    fail(fmt::format("guest exception {} (vector {}) outside 64-bit mode ({}): not delivered", name, vector,
                     (regs.cr0 & kCr0PE) != 0 ? "protected mode" : "real mode"));
    return;
  }
  uc_x86_mmr idtr{};
  uc_reg_read(uc_, UC_X86_REG_IDTR, &idtr);
  if (idtr.limit == 0) {
    fail(fmt::format("guest exception {} (vector {}) with no usable IDT (IDTR.limit 0)", name, vector));
    return;
  }
  if (scratch_at_) {
    // The scratch page made Unicorn's walk raise this #PF (take_unmapped): its error code
    // is the one the machine's walk found. The page goes when the run ends (step()), at the
    // handler's first block boundary: unmapped from inside this hook, Unicorn ran the
    // handler's block wrongly.
    if (vector == 14 && (cr2 & ~(arch::VaAliases::kPage - 1)) == *scratch_at_ && !error_code)
      error_code = scratch_error_code_;
    end_quantum_ = true;
  }
  if (vector == 14 && !error_code) {
    PageAccess access{Access::Read, user_mode()};
    if (fault_is_fetch(rip(), cr2))
      access.kind = Access::Fetch;
    else if (instruction_writes().value_or(false))
      access.kind = Access::Write;
    error_code = page_fault_error_code(mem_, regs, cr2, access);
  }
  std::optional<uint64_t> code;
  if (exception_has_error_code(vector)) code = error_code.value_or(0);  // §6.13: 0 but for #PF (above)
  // A fault during delivery is delivered in its place, or as #DF, or stops the run
  // (deliver(), SDM §6.15 "Exception and Interrupt Reference", Interrupt 8).
  const bool fault = exception_is_fault(vector) || (vector == 1 && debug_fault);
  if (!deliver(InterruptEvent{uint8_t(vector), code, false, fault}, name, rip())) uc_emu_stop(uc_);
}

bool X86Vcpu::vector_into_real_mode(uint8_t vector, std::string_view what) {
  RealModeRegs r;
  uint64_t ip = 0, sp = 0, flags = 0, cs = 0, ss = 0;
  uc_reg_read(uc_, UC_X86_REG_RIP, &ip);
  uc_reg_read(uc_, UC_X86_REG_RSP, &sp);
  uc_reg_read(uc_, UC_X86_REG_RFLAGS, &flags);
  uc_reg_read(uc_, UC_X86_REG_CS, &cs);
  uc_reg_read(uc_, UC_X86_REG_SS, &ss);
  uc_x86_mmr idtr{};
  uc_reg_read(uc_, UC_X86_REG_IDTR, &idtr);
  r = RealModeRegs{uint16_t(ip), uint16_t(cs), uint16_t(sp), uint16_t(ss), (ss & 0xFFFF) << 4, uint32_t(flags),
                   idtr.base, idtr.limit};
  const uint16_t from_cs = r.cs, from_ip = r.ip;
  if (auto ok = enter_real_mode_interrupt(r, mem_, vector); !ok) {
    error_ = fmt::format("cannot deliver {} in real mode: {}", what, ok.error());
    halted_ = false;
    return false;
  }
  // Unicorn 2.0.1's 64-bit engine sets only a segment's selector on a CS write, not its
  // base: a handler in another segment (a BIOS handler at F000:xxxx) gets CS's base
  // through the engine's context (segment_state.h).
  if (r.cs != from_cs) {
    if (!segments_) {
      error_ = fmt::format("cannot deliver {} in real mode: no way to load CS {:#06x} in this Unicorn", what, r.cs);
      halted_ = false;
      return false;
    }
    segments_->load_real_cs(uc_, scratch_context_, r.cs);
  }
  const uint64_t new_ip = r.ip, new_sp = (sp & ~uint64_t{0xFFFF}) | r.sp, new_flags = r.flags;
  uc_reg_write(uc_, UC_X86_REG_RIP, &new_ip);
  uc_reg_write(uc_, UC_X86_REG_RSP, &new_sp);
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &new_flags);
  ++taken_[vector];
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, fmt::format("cpu{}", index_),
                 fmt::format("{} taken: vector {:#04x} through the real-mode IVT, {:#06x}:{:#06x} -> {:#06x}:{:#06x}{}",
                             what, vector, from_cs, from_ip, r.cs, r.ip, halted_ ? " (woke from HLT)" : ""),
                 {{"vector", vector}, {"cpu", index_}, {"taken", 1}}};
  });
  halted_ = false;
  return true;
}

void X86Vcpu::clear_rf_before_pushf() {
  // PUSHF stores RF (and VM) as 0 (SDM vol. 2B PUSHF); Unicorn 2.0.1 copies RFLAGS.RF.
  // RF set here means the previous instruction was an IRET whose image had it: it would
  // be cleared after this instruction anyway (SDM vol. 3A §17.3.1.1), and PUSHF is no
  // instruction breakpoint it could still suppress once it runs.
  uint64_t f = rflags();
  if ((f & kRflagsRF) == 0) return;
  f &= ~kRflagsRF;
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &f);
}

}  // namespace irqremap::x86
