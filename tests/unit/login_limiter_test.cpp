// POST /login's rate limit per client address: a burst, then the refill
// rate; addresses are independent; the table of addresses is bounded.
#include <doctest/doctest.h>

#include "services/gateway/login_limiter.hpp"

using namespace weaver::gateway;
using namespace std::chrono_literals;

TEST_CASE("login_limiter: a burst, then one attempt per 60 / per_minute seconds") {
  login_limiter l{10, 3}; // one every 6 s after 3
  auto t = login_limiter::clock::time_point{} + 1000s;
  CHECK(l.attempt("10.0.0.1", t) == 0);
  CHECK(l.attempt("10.0.0.1", t) == 0);
  CHECK(l.attempt("10.0.0.1", t) == 0);
  CHECK(l.attempt("10.0.0.1", t) == 6); // seconds to wait
  CHECK(l.attempt("10.0.0.1", t + 1s) == 5);
  CHECK(l.attempt("10.0.0.2", t) == 0); // another address is not affected
  CHECK(l.attempt("10.0.0.1", t + 6s) == 0);
  CHECK(l.attempt("10.0.0.1", t + 6s) > 0);
  // Refused attempts do not postpone the next allowed one.
  for (int i = 0; i < 50; ++i) l.attempt("10.0.0.1", t + 7s);
  CHECK(l.attempt("10.0.0.1", t + 12s) == 0);
  // A long pause refills the burst, no more.
  auto later = t + 3600s;
  for (int i = 0; i < 3; ++i) CHECK(l.attempt("10.0.0.1", later) == 0);
  CHECK(l.attempt("10.0.0.1", later) > 0);
}

TEST_CASE("login_limiter: the table of addresses is bounded; full buckets are forgotten first") {
  login_limiter l{60, 2, 3};
  auto t = login_limiter::clock::time_point{} + 50s;
  CHECK(l.attempt("a", t) == 0);
  CHECK(l.attempt("b", t) == 0);
  CHECK(l.attempt("c", t) == 0);
  // Table full, no bucket refilled yet: a new address is refused, not let in
  // by evicting someone.
  CHECK(l.attempt("d", t) > 0);
  CHECK(l.clients() == 3);
  // A second later every bucket is full again: they go, d gets in.
  CHECK(l.attempt("d", t + 1s) == 0);
  CHECK(l.clients() == 1);
}

TEST_CASE("login_limiter: settings are checked") {
  CHECK_THROWS_AS(login_limiter(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(login_limiter(10, 0), std::invalid_argument);
  CHECK_THROWS_AS(login_limiter(10, 1, 0), std::invalid_argument);
}
