// A rate limit on POST /login per client address: tokens are long and
// random, but nothing else would stop a client from trying them as fast as
// the gateway answers. Each address has a bucket of `burst` attempts that
// refills at `per_minute`; an attempt with the bucket empty is refused (429)
// with the seconds until the next one is allowed. Every attempt counts, a
// good token too (counting failures only would tell an attacker which
// attempts did not count). At most `max_clients` addresses are remembered:
// beyond, the buckets that are full again are forgotten first, and if none
// is, the new address shares the refusal of a full table rather than
// evicting someone's empty bucket. Thread-safe; pure (no HTTP).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace weaver::gateway {

class login_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// Throws std::invalid_argument unless per_minute > 0, burst >= 1 and
  /// max_clients >= 1.
  login_limiter(double per_minute, int burst, size_t max_clients = 4096);

  /// 0 when an attempt from `address` may go ahead now (and counts it);
  /// else the whole seconds (>= 1) until one may.
  int attempt(const std::string& address, clock::time_point now = clock::now());

  size_t clients() const;

private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };
  double refill(bucket& b, clock::time_point now) const;

  double per_second_;
  double burst_;
  size_t max_;
  mutable std::mutex mutex_;
  std::map<std::string, bucket> buckets_;
};

} // namespace weaver::gateway
