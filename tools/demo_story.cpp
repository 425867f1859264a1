#include "tools/demo_story.h"

#include <fmt/format.h>

namespace irqremap::cli {

void StorySink::on_event(const Event& e) {
  const std::string_view u = e.unit, t = e.text;
  bool keep = false;
  switch (e.kind) {
    case EventKind::Device:
      // The device's message writes and sends, not its register traffic.
      keep = t.find("message written") != std::string_view::npos ||
             t.find("sends MSI") != std::string_view::npos ||
             t.find("rewritten while enabled") != std::string_view::npos;
      break;
    case EventKind::Command:
    case EventKind::CommandError:
      keep = u == "vtd" || u == "its";
      break;
    case EventKind::Translation:
    case EventKind::Fault:
    case EventKind::Hazard:
      keep = true;
      break;
    case EventKind::Delivery:
      // Deliveries to a CPU (remapped MSIs, LPIs), not every APIC/GIC internal hop.
      keep = !u.starts_with("cpu") && !u.starts_with("lapic");
      break;
    case EventKind::Note:
      keep = u == "demo";
      break;
    default:
      break;
  }
  if (keep) lines_.push_back(e.format());
}

void StorySink::uart(char c) {
  if (c == '\n') {
    lines_.push_back("firmware: " + uart_line_);
    uart_line_.clear();
  } else if (c != '\r') {
    uart_line_ += c;
  }
}

}  // namespace irqremap::cli
