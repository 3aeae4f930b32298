#include "actors/tracker/assignment.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace weaver {

namespace {

// Shortest augmenting path on an n x m matrix with n <= m, all entries finite.
// `at(i, j)` reads the (possibly transposed) cost. Returns row -> column.
template <class At>
std::vector<int> augment(int n, int m, At at) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  // Index 0 of the column arrays is a virtual column that holds the row being
  // inserted; rows and columns are 1-based below.
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0), min_slack(m + 1);
  std::vector<int> col_row(m + 1, 0), prev_col(m + 1, 0);
  std::vector<char> visited(m + 1);
  for (int i = 1; i <= n; ++i) {
    col_row[0] = i;
    int j0 = 0;
    std::fill(min_slack.begin(), min_slack.end(), inf);
    std::fill(visited.begin(), visited.end(), 0);
    // Dijkstra over reduced costs until a free column is reached.
    do {
      visited[j0] = 1;
      int i0 = col_row[j0], j1 = 0;
      double delta = inf;
      for (int j = 1; j <= m; ++j) {
        if (visited[j]) continue;
        double slack = at(i0 - 1, j - 1) - u[i0] - v[j];
        if (slack < min_slack[j]) {
          min_slack[j] = slack;
          prev_col[j] = j0;
        }
        if (min_slack[j] < delta) {
          delta = min_slack[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= m; ++j) {
        if (visited[j]) {
          u[col_row[j]] += delta;
          v[j] -= delta;
        } else {
          min_slack[j] -= delta;
        }
      }
      j0 = j1;
    } while (col_row[j0] != 0);
    // Flip the alternating path back to the virtual column.
    do {
      int j1 = prev_col[j0];
      col_row[j0] = col_row[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> row_col(n, -1);
  for (int j = 1; j <= m; ++j)
    if (col_row[j] != 0) row_col[col_row[j] - 1] = j - 1;
  return row_col;
}

} // namespace

std::vector<int> solve_assignment(const std::vector<double>& cost, int rows, int cols) {
  assert(rows >= 0 && cols >= 0 && cost.size() >= static_cast<size_t>(rows) * cols);
  std::vector<int> result(rows > 0 ? rows : 0, -1);
  if (rows <= 0 || cols <= 0) return result;
  // Replace infeasible entries by a penalty so large that one infeasible pair
  // more always costs more than any spread of feasible costs: the optimum then
  // maximises feasible pairs first and minimises their cost second.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  bool any_infeasible = false;
  for (size_t k = 0; k < static_cast<size_t>(rows) * cols; ++k) {
    if (std::isfinite(cost[k])) {
      lo = std::min(lo, cost[k]);
      hi = std::max(hi, cost[k]);
    } else {
      any_infeasible = true;
    }
  }
  if (hi < lo) // nothing feasible
    return result;
  const double penalty = hi + (hi - lo + 1.0) * (std::min(rows, cols) + 1);
  auto value = [&](int r, int c) {
    double x = cost[static_cast<size_t>(r) * cols + c];
    return std::isfinite(x) ? x : penalty;
  };
  if (rows <= cols) {
    result = augment(rows, cols, value);
  } else {
    // The solver wants n <= m: assign columns to rows on the transpose.
    auto col_row = augment(cols, rows, [&](int c, int r) { return value(r, c); });
    for (int c = 0; c < cols; ++c)
      if (col_row[c] >= 0) result[col_row[c]] = c;
  }
  if (any_infeasible)
    for (int r = 0; r < rows; ++r)
      if (result[r] >= 0 && !std::isfinite(cost[static_cast<size_t>(r) * cols + result[r]])) result[r] = -1;
  return result;
}

match_result match(const std::vector<double>& cost, int rows, int cols, double max_cost) {
  match_result out;
  if (rows <= 0 || cols <= 0) {
    for (int r = 0; r < rows; ++r) out.unmatched_rows.push_back(r);
    for (int c = 0; c < cols; ++c) out.unmatched_cols.push_back(c);
    return out;
  }
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<double> gated(cost.begin(), cost.begin() + static_cast<size_t>(rows) * cols);
  for (auto& x : gated)
    if (!(x <= max_cost)) // also catches NaN
      x = inf;
  auto row_col = solve_assignment(gated, rows, cols);
  std::vector<char> col_used(cols, 0);
  for (int r = 0; r < rows; ++r) {
    if (row_col[r] >= 0) {
      out.matches.emplace_back(r, row_col[r]);
      col_used[row_col[r]] = 1;
    } else {
      out.unmatched_rows.push_back(r);
    }
  }
  for (int c = 0; c < cols; ++c)
    if (!col_used[c]) out.unmatched_cols.push_back(c);
  return out;
}

} // namespace weaver
