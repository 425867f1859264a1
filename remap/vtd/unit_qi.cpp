// VT-d unit: queued invalidation (§6.5.2): the queue walk on IQT writes, the IEC
// invalidate descriptor (§6.5.2.8) and the invalidation wait descriptor (§6.5.2.9).
#include <fmt/format.h>

#include "remap/vtd/dma_inv_format.h"
#include "remap/vtd/fault_format.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/inv_desc_format.h"
#include "remap/vtd/qi_format.h"
#include "remap/vtd/unit.h"

namespace irqremap::vtd {

void Unit::queue_error(std::string why) {
  const uint32_t old = fsts_;
  fsts_ |= uint32_t(1) << fault::IQE.lo;
  trace_.emit_lazy([&] {
    return ev(EventKind::CommandError, "vtd",
                 fmt::format("IQE: descriptor at IQH={:#x}: {} (IQH stays on it)", iqh_, why),
                 {{"iqh", iqh_}});
  });
  status_raised(old);
}

void Unit::process_queue() {
  if (!(gsts_ & (uint32_t(1) << gcmd::QIES.lo)) || (fsts_ & (uint32_t(1) << fault::IQE.lo))) return;
  const unsigned shift = iq_dw_ ? 5 : 4;
  if (iq_dw_ && (iqt_ & 0x10)) {
    queue_error("IQT bit 4 set while IQA.DW=1 (256-bit descriptors)");
    return;
  }
  const uint64_t tail = iqt_ >> shift;
  if (tail >= iq_entries_) {
    queue_error(fmt::format("IQT {:#x} points past the end of the {}-entry queue", iqt_, iq_entries_));
    return;
  }
  const unsigned words = iq_dw_ ? 4 : 2;
  uint64_t head = iqh_ >> shift;
  while (head != tail) {
    const uint64_t addr = iq_base_ + head * words * 8;
    const std::byte* p = addr < iq_base_ ? nullptr : mem_.host_ptr(addr, words * 8);
    if (p == nullptr) {
      queue_error(fmt::format("descriptor at {:#x} is outside guest RAM", addr));
      return;
    }
    std::array<uint64_t, 4> d{};
    for (unsigned w = 0; w < words; ++w) d[w] = bits::load_le<uint64_t>(p + 8 * w);
    if (auto err = execute_descriptor(std::span<const uint64_t>(d.data(), words), words)) {
      queue_error(*err);
      return;
    }
    head = (head + 1) % iq_entries_;
    iqh_ = head << shift;
  }
}

std::optional<std::string> Unit::execute_descriptor(std::span<const uint64_t> d, unsigned words) {
  const uint64_t type = inv_desc::type_of(d[0]);
  const bool wide = words == 4;
  if (wide && (type == inv_desc::kTypeIec || type == inv_desc::kTypeWait) && (d[2] | d[3]) != 0)
    return fmt::format("type {} descriptor with bits 255:128 set (must be zero-padded, §6.5.2)", type);
  const auto command = [&](std::string text, std::vector<std::pair<std::string, uint64_t>> v) {
    trace_.emit_lazy([&] { return ev(EventKind::Command, "vtd", std::move(text), std::move(v)); });
  };
  switch (type) {
    case inv_desc::kTypeIec: {
      if ((d[0] & fields::reserved_mask(inv_desc::kIecFields, 0)) != 0 || d[1] != 0)
        return fmt::format("IEC invalidate descriptor {:#x}:{:#x} has reserved bits set", d[0], d[1]);
      ++stats_.invalidations;
      if (fields::get(d[0], inv_desc::IEC_G) == 0) {
        const unsigned n = iec_.invalidate_all();
        command(fmt::format("IEC invalidate, global ({} cached entries dropped)", n),
                {{"type", 4}, {"dropped", n}});
        trace_.emit_lazy([&] {
          return ev(EventKind::CacheInvalidate, "vtd", "IEC global invalidation", {{"dropped", n}});
        });
        return std::nullopt;
      }
      const unsigned im = unsigned(fields::get(d[0], inv_desc::IEC_IM));
      if (im > config_.mhmv)
        return fmt::format("IEC invalidate IM={} exceeds ECAP.MHMV={}", im, config_.mhmv);
      const uint64_t count = uint64_t{1} << im;
      const uint64_t first = fields::get(d[0], inv_desc::IEC_IIDX) & ~(count - 1);
      const unsigned n = iec_.invalidate_range(first, count);
      command(fmt::format("IEC invalidate, index {}..{} (IIDX={:#x} IM={}; {} dropped)", first,
                          first + count - 1, fields::get(d[0], inv_desc::IEC_IIDX), im, n),
              {{"type", 4}, {"first", first}, {"count", count}, {"dropped", n}});
      trace_.emit_lazy([&] {
        return ev(EventKind::CacheInvalidate, "vtd",
                     fmt::format("IEC entries {}..{} invalidated", first, first + count - 1),
                     {{"first", first}, {"count", count}, {"dropped", n}});
      });
      return std::nullopt;
    }
    case inv_desc::kTypeWait: {
      // PD is reserved: ECAP.PDS is not advertised.
      if ((d[0] & (fields::reserved_mask(inv_desc::kWaitFields, 0) | (1u << inv_desc::WAIT_PD.lo))) != 0 ||
          (d[1] & fields::reserved_mask(inv_desc::kWaitFields, 1)) != 0)
        return fmt::format("invalidation wait descriptor {:#x}:{:#x} has reserved bits set", d[0], d[1]);
      const bool sw = fields::get(d[0], inv_desc::WAIT_SW) != 0;
      const bool iflag = fields::get(d[0], inv_desc::WAIT_IF) != 0;
      const bool fn = fields::get(d[0], inv_desc::WAIT_FN) != 0;
      const uint64_t saddr = fields::get(d, inv_desc::WAIT_SADDR) << 2;
      const uint32_t sdata = uint32_t(fields::get(d[0], inv_desc::WAIT_SDATA));
      command(fmt::format("invalidation wait SW={} IF={} FN={} status {:#x} -> {:#x}", sw, iflag,
                          fn, sdata, saddr),
              {{"type", 5}, {"sw", sw}, {"if", iflag}, {"fn", fn}});
      // SW first, then IF (both may be set: QEMU gitlab #3028 shows what goes wrong otherwise).
      if (sw && !mem_.write32(saddr, sdata))
        return fmt::format("status write to {:#x} is outside guest RAM", saddr);
      if (iflag) {
        const uint32_t iwc = uint32_t(1) << qi::IWC.lo;
        if (!(ics_ & iwc)) {
          ics_ |= iwc;
          iectl_ |= uint32_t(1) << fault::IP.lo;
          if (!(iectl_ & (uint32_t(1) << fault::IM.lo)))
            send_event("invalidation completion event", iectl_, iedata_, ieaddr_, ieuaddr_);
        }
      }
      return std::nullopt;  // FN: descriptors run synchronously, so the fence always holds
    }
    case dma_inv::kTypeCc: {
      if (wide && (d[2] | d[3]) != 0)
        return "context-cache invalidate descriptor with bits 255:128 set";
      if ((d[0] & fields::reserved_mask(dma_inv::kCcFields, 0)) != 0 || d[1] != 0)
        return fmt::format("context-cache invalidate descriptor {:#x}:{:#x} has reserved bits set", d[0], d[1]);
      command(fmt::format("context-cache invalidate G={}", fields::get(d[0], dma_inv::CC_G)),
              {{"type", type}});
      return invalidate_context(unsigned(fields::get(d[0], dma_inv::CC_G)),
                                uint16_t(fields::get(d[0], dma_inv::CC_DID)),
                                uint16_t(fields::get(d[0], dma_inv::CC_SID)),
                                unsigned(fields::get(d[0], dma_inv::CC_FM)), "queued");
    }
    case dma_inv::kTypeIotlb: {
      if (wide && (d[2] | d[3]) != 0) return "IOTLB invalidate descriptor with bits 255:128 set";
      if ((d[0] & fields::reserved_mask(dma_inv::kIotlbDescFields, 0)) != 0 ||
          (d[1] & fields::reserved_mask(dma_inv::kIotlbDescFields, 1)) != 0)
        return fmt::format("IOTLB invalidate descriptor {:#x}:{:#x} has reserved bits set", d[0], d[1]);
      command(fmt::format("IOTLB invalidate G={}", fields::get(d[0], dma_inv::IQ_G)), {{"type", type}});
      return invalidate_iotlb(unsigned(fields::get(d[0], dma_inv::IQ_G)),
                              uint16_t(fields::get(d[0], dma_inv::IQ_DID)),
                              d[1] & dma_inv::IQ_ADDR.word_mask(),
                              unsigned(fields::get(d, dma_inv::IQ_AM)), "queued");
    }
    case 3:
      // ECAP.DT=0: no device-TLB exists, so nothing is cached that this could drop.
      command("device-TLB invalidate: no device-TLBs (ECAP.DT=0), nothing to drop", {{"type", type}});
      return std::nullopt;
    case 6: case 7: case 8: case 9:
      if (!wide)
        return fmt::format("descriptor type {} exists only as a 256-bit descriptor (IQA.DW=1)", type);
      command(fmt::format("descriptor type {} (scalable-mode invalidate): no-op for interrupt "
                          "remapping", type),
              {{"type", type}});
      return std::nullopt;
    default: return fmt::format("invalid descriptor type {}", type);
  }
}

}  // namespace irqremap::vtd
