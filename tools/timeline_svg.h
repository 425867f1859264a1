#pragma once
// --trace-svg: a Timeline (timeline.h) drawn as one self-contained SVG file (no scripts,
// no fonts or images from outside; generic font families only), the same tracks, slices,
// marks and flows that --trace-out writes as JSON. For each machine run: a lane per CPU
// and per unit, handler and phase slices labelled with their vector, INTID or name, marks
// for the instants, an arrow for each MSI's flow, and a time axis in retired
// instructions. Every element carries the event's decoded fields as a <title> tooltip.
//
// The axis is compressed: a stretch of more than kSvgGap instructions in which nothing starts,
// ends or happens on any lane is cut to a fixed-width break labelled with its length, so
// a boot of 100 000 spin-loop instructions and a handler of 40 share one readable picture.
// The output depends only on the timeline: the same run gives the same bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "tools/timeline.h"

namespace irqremap::cli {

inline constexpr uint64_t kSvgGap = 400;  // instructions; longer quiet stretches become breaks

// With a `window`, each run is drawn only over the span of its firmware phases whose names
// start with `window` (--trace-svg-window; phases: arch/common/phase_marker.h), and a run
// without such a phase is left out: the picture shows what the firmware marked as the
// interesting part, however long the boot before it.
std::string timeline_svg(const Timeline& t, const std::string& window = "");

// The distinct names of the firmware phases in `t`, in order of first appearance, so a
// window that matches none can be refused with what there is.
std::vector<std::string> phase_names(const Timeline& t);

}  // namespace irqremap::cli
