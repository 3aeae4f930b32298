#include "actors/tracker/assignment.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

using namespace weaver;

namespace {

constexpr double inf_cost = std::numeric_limits<double>::infinity();

// Best (most feasible pairs, then least cost) over every injective map of the
// smaller side into the larger one.
std::pair<int, double> brute_force(const std::vector<double>& cost, int rows, int cols) {
  bool by_row = rows <= cols;
  int n = by_row ? rows : cols, m = by_row ? cols : rows;
  std::vector<int> perm(m);
  std::iota(perm.begin(), perm.end(), 0);
  std::pair<int, double> best{-1, 0.0};
  do {
    int pairs = 0;
    double total = 0;
    for (int k = 0; k < n; ++k) {
      double c = by_row ? cost[k * cols + perm[k]] : cost[perm[k] * cols + k];
      if (std::isfinite(c)) {
        ++pairs;
        total += c;
      }
    }
    if (pairs > best.first || (pairs == best.first && total < best.second)) best = {pairs, total};
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

std::pair<int, double> evaluate(const std::vector<double>& cost, int cols, const std::vector<int>& row_col) {
  std::vector<char> used(cols, 0);
  std::pair<int, double> got{0, 0.0};
  for (size_t r = 0; r < row_col.size(); ++r) {
    if (row_col[r] < 0) continue;
    REQUIRE(row_col[r] < cols);
    REQUIRE_FALSE(used[row_col[r]]); // a column is used at most once
    used[row_col[r]] = 1;
    double c = cost[r * cols + row_col[r]];
    REQUIRE(std::isfinite(c));
    ++got.first;
    got.second += c;
  }
  return got;
}

} // namespace

TEST_SUITE("assignment") {
  TEST_CASE("known square case") {
    // The optimum 1 + 2 + 2 = 5 picks (0,1), (1,0), (2,2).
    std::vector<double> cost{4, 1, 3, //
                             2, 0, 5, //
                             3, 2, 2};
    auto a = solve_assignment(cost, 3, 3);
    CHECK(a == std::vector<int>{1, 0, 2});
  }

  TEST_CASE("rectangular both ways") {
    std::vector<double> wide{10, 1, 7, 3, //
                             2,  9, 8, 4};
    CHECK(solve_assignment(wide, 2, 4) == std::vector<int>{1, 0});
    std::vector<double> tall{10, 2, //
                             1,  9, //
                             7,  8, //
                             3,  4};
    CHECK(solve_assignment(tall, 4, 2) == std::vector<int>{1, 0, -1, -1});
  }

  TEST_CASE("matches brute force on random matrices") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> dim(1, 6);
    std::uniform_real_distribution<double> val(-5.0, 20.0);
    std::bernoulli_distribution hole(0.25);
    for (int round = 0; round < 400; ++round) {
      int rows = dim(rng), cols = dim(rng);
      bool with_holes = round >= 200; // second half: infeasible entries too
      std::vector<double> cost(rows * cols);
      for (auto& c : cost) c = with_holes && hole(rng) ? inf_cost : val(rng);
      CAPTURE(round);
      auto expected = brute_force(cost, rows, cols);
      auto got = evaluate(cost, cols, solve_assignment(cost, rows, cols));
      CHECK(got.first == expected.first);
      CHECK(got.second == doctest::Approx(expected.second).epsilon(1e-9));
    }
  }

  TEST_CASE("integer ties stay optimal") {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> val(0, 3);
    for (int round = 0; round < 100; ++round) {
      int rows = 1 + round % 6, cols = 1 + (round / 6) % 6;
      std::vector<double> cost(rows * cols);
      for (auto& c : cost) c = val(rng);
      auto got = evaluate(cost, cols, solve_assignment(cost, rows, cols));
      CHECK(got.second == brute_force(cost, rows, cols).second);
    }
  }

  TEST_CASE("match gates by max_cost") {
    // Row 1 only fits column 0, which row 0 prefers; gating must not steal it.
    std::vector<double> cost{0.1,  0.5, //
                             0.2,  0.9, //
                             0.95, 0.99};
    auto m = match(cost, 3, 2, 0.6);
    CHECK(m.matches == std::vector<std::pair<int, int>>{{0, 1}, {1, 0}});
    CHECK(m.unmatched_rows == std::vector<int>{2});
    CHECK(m.unmatched_cols.empty());

    // Everything above the gate: nothing matches.
    auto none = match(cost, 3, 2, 0.05);
    CHECK(none.matches.empty());
    CHECK(none.unmatched_rows == std::vector<int>{0, 1, 2});
    CHECK(none.unmatched_cols == std::vector<int>{0, 1});
  }

  TEST_CASE("infinite and NaN entries are never matched") {
    double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> cost{inf_cost, 1.0, //
                             nan, inf_cost};
    auto a = solve_assignment(cost, 2, 2);
    CHECK(a == std::vector<int>{1, -1});
    auto m = match(cost, 2, 2, 10.0);
    CHECK(m.matches == std::vector<std::pair<int, int>>{{0, 1}});
    CHECK(m.unmatched_rows == std::vector<int>{1});
    CHECK(m.unmatched_cols == std::vector<int>{0});
    CHECK(solve_assignment({inf_cost, inf_cost}, 1, 2) == std::vector<int>{-1});
  }

  TEST_CASE("empty matrices") {
    CHECK(solve_assignment({}, 0, 0).empty());
    CHECK(solve_assignment({}, 3, 0) == std::vector<int>{-1, -1, -1});
    CHECK(solve_assignment({}, 0, 4).empty());
    auto m = match({}, 0, 2, 1.0);
    CHECK(m.matches.empty());
    CHECK(m.unmatched_rows.empty());
    CHECK(m.unmatched_cols == std::vector<int>{0, 1});
    auto r = match({}, 2, 0, 1.0);
    CHECK(r.unmatched_rows == std::vector<int>{0, 1});
  }

} // TEST_SUITE
