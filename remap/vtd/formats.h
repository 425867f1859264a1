#pragma once
// Every VT-d format with a field table, for explain/encode and the registry.
#include <span>

#include "remap/fields.h"

namespace irqremap::vtd {
std::span<const fields::Format* const> formats();
}
