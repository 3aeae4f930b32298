// Linear assignment (min-cost bipartite matching) for the tracker's
// detection-to-track association. Pure algorithm, no CAF.
#pragma once

#include <utility>
#include <vector>

namespace weaver {

/// Solves the rectangular linear assignment problem on a row-major
/// `rows` x `cols` cost matrix with the shortest augmenting path method
/// (Hungarian / Jonker-Volgenant with potentials), O(n^2 m), n = min(rows, cols).
/// Returns, for every row, its column or -1. Exactly min(rows, cols) pairs are
/// assigned when all costs are finite, with minimal total cost. Non-finite
/// entries (+inf, NaN) are infeasible: they are never assigned; the result then
/// has as many feasible pairs as possible and, among those, minimal cost.
/// Deterministic: equal inputs give equal outputs.
std::vector<int> solve_assignment(const std::vector<double>& cost, int rows, int cols);

/// The result of `match`: pairs (row, col) in increasing row order, and the
/// rows / cols left unmatched, each increasing.
struct match_result {
  std::vector<std::pair<int, int>> matches;
  std::vector<int> unmatched_rows;
  std::vector<int> unmatched_cols;
};

/// Gated assignment: pairs whose cost exceeds `max_cost` (or is not finite)
/// are infeasible and never matched.
match_result match(const std::vector<double>& cost, int rows, int cols, double max_cost);

} // namespace weaver
