#pragma once
// Every GICv3 ITS format with a field table, for explain/encode and the registry.
#include <span>

#include "remap/fields.h"

namespace irqremap::its {
std::span<const fields::Format* const> formats();
}
