// Versions of the CPU emulator and disassembler the machines are built on.
#include <capstone/capstone.h>
#include <fmt/format.h>
#include <string>
#include <unicorn/unicorn.h>

namespace irqremap::arch {

std::string engine_versions() {
  unsigned uc_major = 0, uc_minor = 0;
  uc_version(&uc_major, &uc_minor);
  int cs_major = 0, cs_minor = 0;
  cs_version(&cs_major, &cs_minor);
  return fmt::format("Unicorn {}.{}, Capstone {}.{}", uc_major, uc_minor, cs_major, cs_minor);
}

}  // namespace irqremap::arch
