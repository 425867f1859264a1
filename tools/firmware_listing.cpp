#include "tools/firmware_listing.h"

#include <capstone/capstone.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

namespace irqremap::cli {

namespace {

// ELF64 section header fields used here (System V gABI, "Sections").
struct Section {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0, addr = 0, offset = 0, size = 0;
  uint32_t link = 0;
  uint64_t entsize = 0;
};
constexpr uint32_t kShtProgbits = 1, kShtSymtab = 2;
constexpr uint64_t kShfExecinstr = 0x4;

class Reader {
 public:
  explicit Reader(std::span<const std::byte> b) : b_(b) {}
  template <typename T>
  std::optional<T> at(uint64_t off) const {
    if (off > b_.size() || sizeof(T) > b_.size() - off) return std::nullopt;
    T v;
    std::memcpy(&v, b_.data() + off, sizeof v);
    return v;
  }
  std::string cstr(uint64_t off) const {
    std::string s;
    while (off < b_.size() && b_[off] != std::byte{0}) s.push_back(char(b_[off++]));
    return s;
  }
  bool has(uint64_t off, uint64_t n) const { return off <= b_.size() && n <= b_.size() - off; }
  const uint8_t* ptr(uint64_t off) const { return reinterpret_cast<const uint8_t*>(b_.data() + off); }

 private:
  std::span<const std::byte> b_;
};

std::expected<std::vector<Section>, std::string> sections(const Reader& r) {
  auto shoff = r.at<uint64_t>(0x28);
  auto shentsize = r.at<uint16_t>(0x3A), shnum = r.at<uint16_t>(0x3C), shstrndx = r.at<uint16_t>(0x3E);
  if (!shoff || !shentsize || !shnum || !shstrndx || *shentsize < 64 ||
      !r.has(*shoff, uint64_t(*shentsize) * *shnum) || *shstrndx >= *shnum)
    return std::unexpected("section header table outside the file");
  std::vector<Section> out(*shnum);
  for (unsigned i = 0; i < *shnum; ++i) {
    const uint64_t h = *shoff + uint64_t(i) * *shentsize;
    Section& s = out[i];
    s.type = *r.at<uint32_t>(h + 4);
    s.flags = *r.at<uint64_t>(h + 8);
    s.addr = *r.at<uint64_t>(h + 16);
    s.offset = *r.at<uint64_t>(h + 24);
    s.size = *r.at<uint64_t>(h + 32);
    s.link = *r.at<uint32_t>(h + 40);
    s.entsize = *r.at<uint64_t>(h + 56);
    s.name = std::to_string(*r.at<uint32_t>(h));  // resolved below
  }
  const Section& strtab = out[*shstrndx];
  for (Section& s : out) {
    const uint64_t n = std::stoull(s.name);
    s.name = n < strtab.size ? r.cstr(strtab.offset + n) : "?";
  }
  return out;
}

// Labels by address: functions and the assembler's global labels.
std::multimap<uint64_t, std::string> labels(const Reader& r, const std::vector<Section>& secs) {
  std::multimap<uint64_t, std::string> out;
  for (const Section& s : secs) {
    if (s.type != kShtSymtab || s.entsize < 24 || s.link >= secs.size() || !r.has(s.offset, s.size))
      continue;
    const Section& str = secs[s.link];
    for (uint64_t e = s.offset; e + 24 <= s.offset + s.size; e += s.entsize) {
      const uint32_t name = *r.at<uint32_t>(e);
      const uint8_t info = *r.at<uint8_t>(e + 4);
      const uint16_t shndx = *r.at<uint16_t>(e + 6);
      const uint64_t value = *r.at<uint64_t>(e + 8);
      const unsigned type = info & 0xF;
      if (name == 0 || shndx == 0 || shndx >= secs.size() || !(secs[shndx].flags & kShfExecinstr))
        continue;
      if (type != 0 /*NOTYPE*/ && type != 2 /*FUNC*/) continue;
      std::string n = name < str.size ? r.cstr(str.offset + name) : "";
      // Skip the assembler's mapping symbols ($x, $d) and local numeric labels.
      if (n.empty() || n[0] == '$' || n.starts_with(".L")) continue;
      out.emplace(value, std::move(n));
    }
  }
  return out;
}

}  // namespace

std::expected<std::string, std::string> firmware_listing(const guestfw::Firmware& fw,
                                                         const std::string& symbol) {
  const Reader r(fw.elf);
  if (!r.has(0, 64) || std::memcmp(fw.elf.data(), "\x7f" "ELF", 4) != 0)
    return std::unexpected(fmt::format("{}: not an ELF image", fw.name));
  auto secs = sections(r);
  if (!secs) return std::unexpected(fmt::format("{}: {}", fw.name, secs.error()));
  const auto syms = labels(r, *secs);

  std::optional<uint64_t> from, to;
  if (!symbol.empty()) {
    auto it = std::find_if(syms.begin(), syms.end(), [&](const auto& p) { return p.second == symbol; });
    if (it == syms.end()) return std::unexpected(fmt::format("{}: no symbol '{}'", fw.name, symbol));
    from = it->first;
    auto next = syms.upper_bound(*from);
    if (next != syms.end()) to = next->first;
  }

  const bool arm = fw.arch == "arm64";
  csh cs = 0;
  if (cs_open(arm ? CS_ARCH_ARM64 : CS_ARCH_X86, arm ? CS_MODE_ARM : CS_MODE_64, &cs) != CS_ERR_OK)
    return std::unexpected("Capstone cannot open the disassembler");
  std::string out = fmt::format("{}: {}\n", fw.name, fw.description);
  cs_insn* insn = cs_malloc(cs);
  for (const Section& s : *secs) {
    if (s.type != kShtProgbits || !(s.flags & kShfExecinstr) || !r.has(s.offset, s.size)) continue;
    if (from && (*from < s.addr || *from >= s.addr + s.size)) continue;
    if (!from) out += fmt::format("\nsection {} at {:#x} ({} bytes)\n", s.name, s.addr, s.size);
    const uint64_t start = from.value_or(s.addr);
    const uint64_t end = std::min(to.value_or(s.addr + s.size), s.addr + s.size);
    const uint8_t* code = r.ptr(s.offset + (start - s.addr));
    size_t left = end - start;
    uint64_t pc = start;
    while (left > 0) {
      for (auto [it, last] = syms.equal_range(pc); it != last; ++it) out += fmt::format("\n<{}>:\n", it->second);
      const uint8_t* before = code;
      if (!cs_disasm_iter(cs, &code, &left, &pc, insn)) {
        // Data in the text section (literal pools): show it and step one unit on.
        const size_t step = std::min<size_t>(arm ? 4 : 1, left);
        uint64_t word = 0;
        std::memcpy(&word, before, step);
        out += fmt::format("  {:#010x}:  {:0{}x}  .data\n", pc, word, 2 * step);
        code += step;
        left -= step;
        pc += step;
        continue;
      }
      // A64 instructions read best as the 32-bit word; x86 as its byte sequence.
      std::string hex;
      if (arm && insn->size == 4) {
        uint32_t w;
        std::memcpy(&w, insn->bytes, 4);
        hex = fmt::format("{:08x}", w);
      } else {
        for (uint16_t i = 0; i < insn->size; ++i) hex += fmt::format("{:02x}", insn->bytes[i]);
      }
      out += fmt::format("  {:#010x}:  {:<20} {}{}{}\n", insn->address, hex, insn->mnemonic,
                         insn->op_str[0] != '\0' ? " " : "", insn->op_str);
    }
  }
  cs_free(insn, 1);
  cs_close(&cs);
  return out;
}

}  // namespace irqremap::cli
