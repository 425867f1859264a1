#pragma once
// --trace-out: a Timeline (timeline.h) as Trace Event Format JSON, the format
// ui.perfetto.dev and chrome://tracing open. Processes and tracks are named with metadata
// events; slices are "X" events, marks thread-scoped instants ("i"), flows "s"/"t"/"f"
// events. The viewer's microsecond is one retired instruction, so the same run gives the
// same file.
#include <ostream>

#include "tools/timeline.h"

namespace irqremap::cli {

// {"traceEvents": [...], ...}: the whole file, one event a line, written as it is made
// (no document tree of the whole run in memory).
void write_timeline_json(const Timeline& t, std::ostream& out);

}  // namespace irqremap::cli
