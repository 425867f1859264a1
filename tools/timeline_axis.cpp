#include "tools/timeline_axis.h"

#include <algorithm>

namespace irqremap::cli {

CompressedAxis::CompressedAxis(std::vector<uint64_t> times, uint64_t gap, double px_per_insn, double break_px,
                               double pad_insns)
    : scale_(px_per_insn), break_px_(break_px) {
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  if (times.empty()) times.push_back(0);
  const uint64_t pad = uint64_t(pad_insns);
  // Segments of times no more than `gap` apart, padded on both sides so a mark never sits on
  // a break.
  uint64_t start = times.front() > pad ? times.front() - pad : 0, last = times.front();
  double x = 0;
  auto close = [&](uint64_t end) {
    segments_.push_back(Segment{start, end, x});
    x += double(end - start) * scale_;
  };
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] - last > gap) {
      close(last + pad);
      x += break_px_;
      start = times[i] - pad;
    }
    last = times[i];
  }
  close(last + pad);
  width_ = x;
}

double CompressedAxis::x(uint64_t t) const {
  // The segment holding t, or the break after the last segment starting at or before t.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), t,
                             [](uint64_t v, const Segment& s) { return v < s.t0; });
  if (it == segments_.begin()) return segments_.front().x0;
  const Segment& s = *(it - 1);
  if (t <= s.t1) return s.x0 + double(t - s.t0) * scale_;
  const double end = s.x0 + double(s.t1 - s.t0) * scale_;
  if (it == segments_.end()) return end;
  // Inside a break: spread linearly over its width (a slice may span one).
  return end + break_px_ * double(t - s.t1) / double(it->t0 - s.t1);
}

}  // namespace irqremap::cli
