#pragma once
// `run --migrate` (issue 35 item 5): kvm-unit-tests' migration tests print a line and wait
// for a key on the UART (its lib/migrate.c); its scripts then migrate the VM from one QEMU
// to another (-incoming) and type a key into the new one. irqremap does the same inside
// one process: the line asks the scheduler for a pause, the machine is saved and restored
// into a fresh one, and a key goes to the UART.
//   "Now migrate the VM, then press a key to continue..."  migrate, then the key
//   "Now migrate the VM (quiet)"                           the same
//   "Begin continuous migration", "End continuous migration" (either form)
//                                                          one migration each, then the key
//   "Skipped VM migration (quiet)"                         the key only (nothing to move)
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace irqremap::cli {

// Watches the guest's UART output for those lines.
class MigrationPrompts {
 public:
  enum class Action : uint8_t { Migrate, KeyOnly };
  // One output character; true when it ended a line that asks for an action.
  bool feed(char c) {
    if (c != '\n') {
      if (line_.size() < 256) line_ += c;
      return false;
    }
    const std::string line = std::move(line_);
    line_.clear();
    if (line.starts_with("Now migrate the VM") || line.starts_with("Begin continuous migration") ||
        line.starts_with("End continuous migration"))
      pending_ = Action::Migrate;
    else if (line.starts_with("Skipped VM migration"))
      pending_ = Action::KeyOnly;
    else
      return false;
    return true;
  }
  // The action asked for since the last take (a later line replaces an earlier one).
  std::optional<Action> take() {
    std::optional<Action> a = pending_;
    pending_.reset();
    return a;
  }

 private:
  std::string line_;
  std::optional<Action> pending_;
};

// The keys --migrate types, read by the UART before its other input.
class MigrationKeys : public std::enable_shared_from_this<MigrationKeys> {
 public:
  using Source = std::function<std::optional<uint8_t>(bool at_idle)>;
  void push(uint8_t key) { keys_.push_back(key); }
  // A UART input source: these keys first, then `rest`'s bytes.
  Source source(Source rest) {
    return [self = shared_from_this(), rest = std::move(rest)](bool at_idle) -> std::optional<uint8_t> {
      if (!self->keys_.empty()) {
        const uint8_t k = self->keys_.front();
        self->keys_.pop_front();
        return k;
      }
      return rest ? rest(at_idle) : std::nullopt;
    };
  }

 private:
  std::deque<uint8_t> keys_;
};

}  // namespace irqremap::cli
