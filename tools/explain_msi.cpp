#include "tools/explain_msi.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "remap/vtd/msi_format.h"

namespace irqremap::cli {

namespace {
// QEMU virt: the ITS frame at 0x0808_0000, GITS_TRANSLATER at +0x1_0040 (IHI0069 §12.19;
// QEMU 7.2 hw/arm/virt.c base_memmap).
constexpr uint64_t kVirtItsBase = 0x08080000;
constexpr uint64_t kTranslaterOffset = 0x10040;
}  // namespace

int explain_msi_x86(const MsiQuery& q, bool json, Io io) {
  namespace msi = vtd::msi;
  const bool high = (q.address >> 32) != 0;
  const bool window = ((q.address >> 20) & 0xFFF) == msi::kInterruptWindow;
  const bool remappable = msi::is_remappable(q.address);
  const fields::Format& af = remappable ? msi::kAddrRemappable : msi::kAddrCompat;
  const fields::Format& df = remappable ? msi::kDataRemappable : msi::kDataCompat;
  const uint64_t a32 = q.address & 0xFFFFFFFFu;
  const fields::Decoded ad = fields::decode(af, std::array{a32});
  fields::Decoded dd = fields::decode(df, std::array{uint64_t{q.data}});
  const auto idx = msi::remappable_index(q.address, q.data);
  if (remappable && !idx.shv) dd.problems.clear();  // data is ignored when SHV=0 (§5.1.2.2)

  std::string summary;
  if (high || !window)
    summary = fmt::format("not an interrupt request: address {:#x} is outside 0xFEEx_xxxx; "
                          "VT-d blocks it with fault 20h",
                          q.address);
  else if (remappable)
    summary = fmt::format("remappable format: handle {:#x}{} selects IRTE index {} ({:#x})",
                          idx.handle,
                          idx.shv ? fmt::format(" + subhandle {:#x} (SHV=1)", idx.subhandle)
                                  : std::string(" (SHV=0, data ignored)"),
                          idx.index, idx.index);
  else
    summary = "compatibility format: no IRTE; with IR enabled it passes through only when "
              "GSTS.CFIS=1 and IRTA.EIME=0, else fault 25h";

  if (json) {
    nlohmann::json j;
    j["arch"] = "x86";
    j["format"] = remappable ? "remappable" : "compatibility";
    j["interrupt_request"] = !high && window;
    if (remappable) {
      j["handle"] = idx.handle;
      j["shv"] = idx.shv;
      j["subhandle"] = idx.subhandle;
      j["irte_index"] = idx.index;
    }
    j["address"] = fields::to_json(ad);
    j["data"] = fields::to_json(dd);
    j["summary"] = summary;
    io.out << j.dump(2) << "\n";
    return 0;
  }
  io.out << fmt::format("x86 MSI address={:#x} data={:#x}\n{}\n\n", q.address, q.data, summary);
  io.out << fields::explain(ad) << "\n" << fields::explain(dd);
  if (remappable && !idx.shv) io.out << "  (data is ignored when SHV=0)\n";
  return 0;
}

int explain_msi_arm64(const MsiQuery& q, bool json, Io io) {
  const uint64_t translater = kVirtItsBase + kTranslaterOffset;
  const bool at_translater = q.address == translater;
  const std::string dev = q.device_id ? fmt::format("{}", *q.device_id) : "(from the bus side)";
  std::string summary =
      at_translater
          ? fmt::format("a write to GITS_TRANSLATER: EventID {} of DeviceID {}; the ITS looks up "
                        "DTE[DeviceID] -> ITT entry[EventID] -> (pINTID, ICID) -> collection -> "
                        "redistributor",
                        q.data, dev)
          : fmt::format("address {:#x} is not GITS_TRANSLATER of the virt ITS ({:#x}); "
                        "the write does not reach the ITS translation path",
                        q.address, translater);
  if (json) {
    nlohmann::json j;
    j["arch"] = "arm64";
    j["address"] = fmt::format("{:#x}", q.address);
    j["gits_translater"] = at_translater;
    j["EventID"] = q.data;
    if (q.device_id) j["DeviceID"] = *q.device_id;
    j["summary"] = summary;
    io.out << j.dump(2) << "\n";
    return 0;
  }
  io.out << fmt::format("arm64 MSI address={:#x} data={:#x}\n{}\n\n", q.address, q.data, summary);
  io.out << "  The data is the EventID, not a vector: the device never names a CPU.\n"
            "  The DeviceID is not in the message: the bus (PCIe requester ID through the\n"
            "  IORT/msi-map, or a fixed ID for a platform device) adds it on the side.\n"
            "  The affinity lives in the ITS tables, so moving the interrupt (MOVI + SYNC)\n"
            "  never rewrites the device's message.\n";
  return 0;
}

}  // namespace irqremap::cli
