#include "tools/gdb_attach.h"

#include <fmt/format.h>

#include <charconv>

#include "arch/arm64/gdb_arm64.h"
#include "arch/common/gdb/session.h"
#include "arch/common/gdb/tcp.h"
#include "arch/x86/gdb_x86.h"
#include "tools/cli.h"

namespace irqremap::cli {

uint16_t parse_gdb_port(std::string_view spec) {
  std::string_view port = spec;
  for (std::string_view prefix : {"tcp::", "tcp:localhost:", "tcp:127.0.0.1:"})
    if (spec.starts_with(prefix)) port = spec.substr(prefix.size());
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || v > 65535)
    throw UsageError(fmt::format("--gdb {}: give a TCP port (1234 or tcp::1234; the stub listens on 127.0.0.1 only)",
                                 spec));
  return uint16_t(v);
}

namespace {

std::unique_ptr<gdb::TcpListener> listen(std::string_view spec, std::ostream& err) {
  auto l = gdb::TcpListener::open(parse_gdb_port(spec));
  if (!l) throw UsageError(fmt::format("--gdb {}: {}", spec, l.error()));
  err << fmt::format("irqremap: gdb stub on 127.0.0.1:{}\n", (*l)->port());
  err.flush();
  return std::move(*l);
}

class Arm64Gdb final : public GdbAttachment {
 public:
  Arm64Gdb(arm64::Arm64Machine& m, std::unique_ptr<gdb::TcpListener> l, bool wait)
      : target_(m), session_(target_, target_, std::move(l), wait), hooks_(m, session_) {}
  void exited(int status) override { session_.exited(status); }

 private:
  arm64::Arm64GdbTarget target_;
  gdb::Session session_;
  arm64::Arm64GdbAttachment hooks_;  // last: unhooked before the session goes
};

class X86Gdb final : public GdbAttachment {
 public:
  X86Gdb(x86::X86Machine& m, std::unique_ptr<gdb::TcpListener> l, bool wait)
      : target_(m), session_(target_, target_, std::move(l), wait), hooks_(m, session_) {}
  void exited(int status) override { session_.exited(status); }

 private:
  x86::X86GdbTarget target_;
  gdb::Session session_;
  x86::X86GdbAttachment hooks_;
};

}  // namespace

std::unique_ptr<GdbAttachment> attach_gdb(arm64::Arm64Machine& m, std::string_view spec, bool wait,
                                          std::ostream& err) {
  return std::make_unique<Arm64Gdb>(m, listen(spec, err), wait);
}

std::unique_ptr<GdbAttachment> attach_gdb(x86::X86Machine& m, std::string_view spec, bool wait, std::ostream& err) {
  return std::make_unique<X86Gdb>(m, listen(spec, err), wait);
}

}  // namespace irqremap::cli
