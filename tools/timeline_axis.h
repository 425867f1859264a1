#pragma once
// The compressed time axis of --trace-svg (timeline_svg.h): virtual time -> x. Around the
// times where something happens the scale is linear; a quiet stretch longer than `gap`
// instructions becomes a break of fixed width, so the picture keeps what a reader looks at.
#include <cstdint>
#include <vector>

namespace irqremap::cli {

class CompressedAxis {
 public:
  struct Segment {
    uint64_t t0, t1;  // virtual time, inclusive range drawn linearly
    double x0;        // where t0 lands
  };
  // `times`: every time something starts, ends or happens (any order, repeats allowed).
  CompressedAxis(std::vector<uint64_t> times, uint64_t gap, double px_per_insn, double break_px, double pad_insns);
  double x(uint64_t t) const;
  double width() const { return width_; }
  const std::vector<Segment>& segments() const { return segments_; }
  double px_per_insn() const { return scale_; }
  double break_px() const { return break_px_; }

 private:
  std::vector<Segment> segments_;
  double scale_, break_px_, width_ = 0;
};

}  // namespace irqremap::cli
