// Splitting a memory-bound loop over OpenMP threads, as oneDNN does for the
// convolutions of the same session: the count is the session's, so one
// thread (the card workers' setting) never opens a parallel region.
#pragma once

#include <algorithm>
#include <cstdint>

namespace weaver::engine {

/// body(begin, end) over contiguous parts of [0, n), one per thread, each at
/// least `grain` long (a fork and join costs microseconds; small tensors stay
/// on the calling thread). `body` must not throw.
template <class F>
void parallel_ranges(int64_t n, int threads, int64_t grain, F&& body) {
  const int64_t parts = std::clamp<int64_t>(n / std::max<int64_t>(grain, 1), 1, std::max(threads, 1));
  if (parts <= 1) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
  const int team = static_cast<int>(parts);
#pragma omp parallel for num_threads(team) schedule(static, 1)
  for (int64_t t = 0; t < parts; ++t) body(n * t / parts, n * (t + 1) / parts);
}

} // namespace weaver::engine
