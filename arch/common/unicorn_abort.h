#pragma once
// Unicorn 2.0.1's translator ends the process on some guest code: tcg_abort() prints
// "tcg fatal error" and calls abort(). The x86 machine's fuzzer found one such input in
// 66,000 random programs: FF /3 or FF /5 with a register operand (far CALL/JMP through a
// register, an invalid encoding that raises #UD on hardware; QEMU 5.0's translator, which
// Unicorn 2.0.1 is, loads the far pointer through an address it never computed). A runaway
// guest must not take the host down, so each vCPU runs its quantum through
// guarded_emu_start(): an abort raised inside Unicorn's own code is caught (SIGABRT, then
// siglongjmp back), the engine is left alone except for uc_close, and the vCPU stops the
// run with one line saying what happened.
//
// An abort inside one of irqremap's callbacks from Unicorn (a failed check, a sanitizer
// report with abort_on_error) is irqremap's own and must end the process as usual: every
// callback holds a HostCallback for its duration, and the handler passes those on to
// whatever handled SIGABRT before (libFuzzer's crash handler, or the default action).
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace irqremap::arch {

// Makes SIGABRT ours (chaining to the handler it replaces) unless it already is. Each vCPU
// calls it when it is created; guarded_emu_start() relies on it.
void install_abort_guard();

// uc_emu_start(uc, begin, until, timeout, count), or std::nullopt when Unicorn aborted
// inside it; the engine may then only be closed.
std::optional<uc_err> guarded_emu_start(uc_engine* uc, uint64_t begin, uint64_t until, uint64_t timeout,
                                        std::size_t count);

// The stop line for a quantum that ended in such an abort; `start` is where it began
// (the code Unicorn could not translate lies on from there).
std::string unicorn_abort_message(uint64_t start, const char* pc_name);

// Whether this thread is inside one of irqremap's callbacks (see above).
inline constinit thread_local bool t_in_host_callback = false;

// Held by every callback irqremap registers with Unicorn (see above). Inline: the block
// hook holds one for every translated block the guest runs.
class HostCallback {
 public:
  HostCallback() : outer_(t_in_host_callback) { t_in_host_callback = true; }
  ~HostCallback() { t_in_host_callback = outer_; }
  HostCallback(const HostCallback&) = delete;
  HostCallback& operator=(const HostCallback&) = delete;

 private:
  bool outer_;
};

}  // namespace irqremap::arch
