#include "services/gateway/login_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace weaver::gateway {

login_limiter::login_limiter(double per_minute, int burst, size_t max_clients)
  : per_second_(per_minute / 60.0), burst_(burst), max_(max_clients) {
  if (!(per_minute > 0) || burst < 1 || max_clients < 1)
    throw std::invalid_argument("login_limiter: per_minute > 0, burst >= 1 and max_clients >= 1 required");
}

double login_limiter::refill(bucket& b, clock::time_point now) const {
  if (now > b.at) {
    b.tokens = std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.at).count() * per_second_);
    b.at = now;
  }
  return b.tokens;
}

int login_limiter::attempt(const std::string& address, clock::time_point now) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_)
      for (auto j = buckets_.begin(); j != buckets_.end();)
        j = refill(j->second, now) >= burst_ ? buckets_.erase(j) : std::next(j);
    if (buckets_.size() >= max_) return static_cast<int>(std::ceil(1.0 / per_second_));
    it = buckets_.emplace(address, bucket{burst_, now}).first;
  }
  auto& b = it->second;
  if (refill(b, now) >= 1.0 - 1e-9) { // within rounding of a whole attempt
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / per_second_ - 1e-9)));
}

size_t login_limiter::clients() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return buckets_.size();
}

} // namespace weaver::gateway
