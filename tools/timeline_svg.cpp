#include "tools/timeline_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "tools/timeline_axis.h"

namespace irqremap::cli {

namespace {

// Layout, in SVG user units (pixels).
constexpr double kLabelW = 92, kLaneH = 20, kTitleH = 22, kAxisH = 28, kBlockGap = 16, kMargin = 8;
constexpr double kPxPerInsn = 0.75, kBreakPx = 18, kPadInsns = 12;
constexpr double kCharW = 5.6;  // width of one character of the 9.5px monospace labels

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

uint64_t value(const TimelineArgs& a, std::string_view key, uint64_t fallback = ~uint64_t{0}) {
  for (const auto& [k, v] : a.values)
    if (k == key) return v;
  return fallback;
}

// The tooltip: the event's one-line text, then its named values.
std::string title(std::string_view head, const TimelineArgs& a) {
  std::string t(head);
  if (!a.text.empty()) t += (t.empty() ? "" : ": ") + a.text;
  for (const auto& [k, v] : a.values) t += fmt::format("\n{} = {:#x}", k, v);
  return "<title>" + esc(t) + "</title>";
}

// The short visible label of a mark or translation, from its decoded fields ("" = none).
std::string short_label(std::string_view cat, const TimelineArgs& a) {
  if (cat == "msi") return value(a, "slot") != ~uint64_t{0} ? fmt::format("slot {}", value(a, "slot")) : "MSI";
  if (cat == "translate") {
    if (value(a, "rd") != ~uint64_t{0}) return fmt::format("RD{} LPI {}", value(a, "rd"), value(a, "intid"));
    if (value(a, "dest") != ~uint64_t{0}) return fmt::format("APIC {} {:#04x}", value(a, "dest"), value(a, "vector"));
    return "";
  }
  if (cat == "fault") return value(a, "reason") != ~uint64_t{0} ? fmt::format("fault {:#x}", value(a, "reason")) : "fault";
  if (cat == "hazard") return "HAZARD";
  if (cat == "command") return a.text.substr(0, std::min(a.text.find_first_of(" :,("), size_t(10)));
  return "";
}

struct Block {
  const TimelineProcess& p;
  CompressedAxis axis;
  std::map<int, int> row;  // tid -> lane
  double y0;               // top of the block
  double lane_y(int tid) const { return y0 + kTitleH + kLaneH * row.at(tid); }
  double height() const { return kTitleH + kLaneH * double(row.size()) + kAxisH; }
};

CompressedAxis axis_of(const TimelineProcess& p) {
  std::vector<uint64_t> times;
  for (const TimelineSlice& s : p.slices) {
    times.push_back(s.ts);
    times.push_back(s.ts + s.dur);
  }
  for (const TimelineMark& m : p.marks) times.push_back(m.ts);
  for (const TimelineFlow& f : p.flows)
    for (const TimelineFlowPoint& pt : f.points) times.push_back(pt.ts);
  return CompressedAxis(std::move(times), kSvgGap, kPxPerInsn, kBreakPx, kPadInsns);
}

// Draws text only where it fits before `limit` (the next thing on the lane).
void label(std::string& out, double x, double y, double limit, std::string_view text, const char* cls) {
  if (text.empty() || x + kCharW * double(text.size()) > limit) return;
  out += fmt::format("<text class=\"{}\" x=\"{}\" y=\"{}\">{}</text>\n", cls, num(x), num(y), esc(text));
}

void draw_block(std::string& out, const Block& b, double plot_x) {
  const TimelineProcess& p = b.p;
  const double lanes_h = kLaneH * double(b.row.size());
  auto X = [&](uint64_t t) { return plot_x + b.axis.x(t); };
  out += fmt::format("<g class=\"process\" id=\"p{}\">\n", p.pid);
  out += fmt::format("<text class=\"ptitle\" x=\"{}\" y=\"{}\">{}</text>\n", num(kMargin), num(b.y0 + 15), esc(p.name));
  // Lanes: a stripe and a name each.
  for (const auto& [tid, r] : b.row) {
    const double y = b.lane_y(tid);
    out += fmt::format("<rect class=\"stripe{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", r % 2, num(kMargin),
                       num(y), num(plot_x + b.axis.width() - kMargin), num(kLaneH));
    out += fmt::format("<text class=\"lane\" x=\"{}\" y=\"{}\">{}</text>\n", num(kMargin + 4), num(y + 14),
                       esc(p.track(tid)->name));
  }
  // Breaks in the axis: a dashed line across the lanes, the instructions skipped below.
  const auto& segs = b.axis.segments();
  const double axis_y = b.y0 + kTitleH + lanes_h;
  double last_label = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const double x = plot_x + segs[i].x0;
    if (i > 0) {
      const double bx = x - kBreakPx / 2;
      out += fmt::format("<line class=\"break\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"><title>{3} instructions "
                         "without events left out</title></line>\n",
                         num(bx), num(b.y0 + kTitleH), num(axis_y + 6), segs[i].t0 - segs[i - 1].t1);
    }
    const std::string t = fmt::format("{}", segs[i].t0);
    out += fmt::format("<line class=\"tick\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", num(x), num(axis_y),
                       num(axis_y + 5));
    if (x >= last_label) {
      out += fmt::format("<text class=\"axis\" x=\"{}\" y=\"{}\">{}</text>\n", num(x), num(axis_y + 15), t);
      last_label = x + kCharW * double(t.size() + 1);
    }
  }
  out += fmt::format("<text class=\"axis\" x=\"{}\" y=\"{}\">virtual time (retired instructions); breaks cut "
                     "quiet stretches</text>\n",
                     num(plot_x), num(axis_y + 25));
  // Where the next drawn thing on each lane starts, for labels that must not overlap it.
  std::map<int, std::vector<double>> starts;
  for (const TimelineSlice& s : p.slices) starts[s.tid].push_back(X(s.ts));
  for (const TimelineMark& m : p.marks) starts[m.tid].push_back(X(m.ts));
  for (auto& [tid, v] : starts) std::sort(v.begin(), v.end());
  auto next_after = [&](int tid, double x) {
    const auto& v = starts[tid];
    auto it = std::upper_bound(v.begin(), v.end(), x + 0.5);
    return it == v.end() ? plot_x + b.axis.width() : *it;
  };
  // Phases under handlers.
  for (const char* cat : {"phase", "handler"})
    for (const TimelineSlice& s : p.slices) {
      if (s.cat != cat) continue;
      const double x = X(s.ts), w = std::max(X(s.ts + s.dur) - x, 2.0), y = b.lane_y(s.tid);
      const bool phase = s.cat == "phase";
      out += fmt::format("<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\">{}</rect>\n", s.cat, num(x),
                         num(y + (phase ? 1 : 4)), num(w), num(phase ? kLaneH - 2 : kLaneH - 8),
                         title(s.name, s.args));
      // The name, or its last word ("0x50", "8192") when the whole name does not fit.
      const std::string last = s.name.substr(s.name.rfind(' ') + 1);
      const std::string& text = x + 2 + kCharW * double(s.name.size()) <= x + w ? s.name : last;
      label(out, x + 2, y + (phase ? 11 : 13.5), x + w, text, phase ? "plabel" : "hlabel");
    }
  std::map<std::pair<int, uint64_t>, bool> labelled;  // one label per lane and instant
  for (const TimelineMark& m : p.marks) {
    const double x = X(m.ts), y = b.lane_y(m.tid) + kLaneH / 2;
    const std::string tip = title(m.name, m.args);
    if (m.cat == "msi")
      out += fmt::format("<circle class=\"msi\" cx=\"{}\" cy=\"{}\" r=\"4\">{}</circle>\n", num(x), num(y), tip);
    else if (m.cat == "translate")  // a purple bar where the MSI's arrow bends
      out += fmt::format("<rect class=\"translate\" x=\"{}\" y=\"{}\" width=\"2.0\" height=\"{}\">{}</rect>\n",
                         num(x - 1), num(y - kLaneH / 2 + 4), num(kLaneH - 8), tip);
    else if (m.cat == "fault" || m.cat == "hazard" || m.cat == "command-error")
      out += fmt::format("<path class=\"fault\" d=\"M{0} {1}l5 6h-10z\">{2}</path>\n", num(x), num(y - 5), tip);
    else
      out += fmt::format("<line class=\"mark\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\">{3}</line>\n", num(x),
                         num(y - 5), num(y + 5), tip);
    const std::string text = short_label(m.cat, m.args);
    if (!text.empty() && !labelled[{m.tid, m.ts}]) {
      labelled[{m.tid, m.ts}] = true;
      label(out, x + 5, y + 4, next_after(m.tid, x), text, "mlabel");
    }
  }
  // Flows last, on top: one arrow per MSI through its points.
  for (const TimelineFlow& f : p.flows) {
    if (f.points.size() < 2) continue;
    std::string d;
    for (const TimelineFlowPoint& pt : f.points)
      d += fmt::format("{}{} {}", d.empty() ? "M" : " L", num(X(pt.ts)), num(b.lane_y(pt.tid) + kLaneH / 2));
    out += fmt::format("<path class=\"flow{}\" d=\"{}\"><title>MSI {} ({})</title></path>\n", f.ended() ? "" : " open",
                       d, f.id, f.ended() ? "to its end" : "not taken when the run ended");
  }
  out += "</g>\n";
}

constexpr std::string_view kStyle =
    "<style>\n"
    "text{font-family:monospace;font-size:9.5px;fill:#222}\n"
    ".ptitle{font-family:sans-serif;font-size:12px;font-weight:bold}\n"
    ".lane{font-size:10.5px;font-weight:bold}\n"
    ".stripe0{fill:#f7f7f7}.stripe1{fill:#ececec}\n"
    ".handler{fill:#4c78a8}.phase{fill:#f3dc8b;stroke:#c9a227;stroke-width:0.5}.translate{fill:#8e44ad}\n"
    ".hlabel{fill:#fff}.plabel{fill:#6b5410}.mlabel{fill:#444;font-size:8.5px}\n"
    ".msi{fill:#2a9d3a}.fault{fill:#d62728}.mark{stroke:#888;stroke-width:1}\n"
    ".flow{fill:none;stroke:#e45756;stroke-width:1.2;marker-end:url(#arrow)}\n"
    ".open{stroke-dasharray:3 2}\n"
    ".break{stroke:#999;stroke-dasharray:2 3}.tick{stroke:#555}.axis{fill:#555}\n"
    "</style>\n";

// The part of `p` inside its phases named `window...`, or nothing when it has none.
std::optional<TimelineProcess> windowed(const TimelineProcess& p, const std::string& window) {
  uint64_t from = ~uint64_t{0}, to = 0;
  for (const TimelineSlice& s : p.slices)
    if (s.cat == "phase" && s.name.starts_with(window)) {
      from = std::min(from, s.ts);
      to = std::max(to, s.ts + s.dur);
    }
  if (from > to) return std::nullopt;
  TimelineProcess w{p.pid, p.name, p.tracks, {}, {}, {}, to};
  for (const TimelineSlice& s : p.slices) {
    if (s.ts + s.dur < from || s.ts > to) continue;
    TimelineSlice c = s;  // clipped to the window
    c.ts = std::max(s.ts, from);
    c.dur = std::max<uint64_t>(std::min(s.ts + s.dur, to) - c.ts, 1);
    w.slices.push_back(std::move(c));
  }
  for (const TimelineMark& m : p.marks)
    if (m.ts >= from && m.ts <= to) w.marks.push_back(m);
  for (const TimelineFlow& f : p.flows) {
    bool inside = true;
    for (const TimelineFlowPoint& pt : f.points) inside = inside && pt.ts >= from && pt.ts <= to;
    if (inside) w.flows.push_back(f);
  }
  return w;
}

}  // namespace

std::vector<std::string> phase_names(const Timeline& t) {
  std::vector<std::string> names;
  for (const TimelineProcess& p : t.processes)
    for (const TimelineSlice& s : p.slices)
      if (s.cat == "phase" && std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
  return names;
}

std::string timeline_svg(const Timeline& whole, const std::string& window) {
  Timeline t;
  for (const TimelineProcess& p : whole.processes) {
    if (window.empty()) t.processes.push_back(p);
    else if (auto w = windowed(p, window)) t.processes.push_back(std::move(*w));
  }
  std::vector<Block> blocks;
  double y = kMargin, width = 0;
  for (const TimelineProcess& p : t.processes) {
    Block b{p, axis_of(p), {}, y};
    std::vector<int> tids;
    for (const TimelineTrack& tr : p.tracks) tids.push_back(tr.tid);
    std::sort(tids.begin(), tids.end());
    for (int tid : tids) b.row.emplace(tid, int(b.row.size()));
    y += b.height() + kBlockGap;
    width = std::max(width, kLabelW + b.axis.width() + kMargin);
    blocks.push_back(std::move(b));
  }
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n", num(width),
      num(y));
  out += "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"6\" markerHeight=\"6\" "
         "orient=\"auto\"><path d=\"M0 0L8 4L0 8z\" fill=\"#e45756\"/></marker></defs>\n";
  out += kStyle;
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#fff\"/>\n", num(width), num(y));
  for (const Block& b : blocks) draw_block(out, b, kLabelW);
  out += "</svg>\n";
  return out;
}

}  // namespace irqremap::cli
