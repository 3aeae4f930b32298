// The process's clocks in one place.
#pragma once

#include <cstdint>

namespace weaver {

/// Steady-clock nanoseconds: admission times, frame ages, snapshot periods.
int64_t steady_now_ns();

} // namespace weaver
