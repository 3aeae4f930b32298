#include "accel/pool_scheduler.hpp"

#include <stdexcept>

namespace weaver {

size_t pool_scheduler::add_card(std::string name, int capacity, double initial_service_s) {
  if (capacity < 1) throw std::invalid_argument("card " + name + ": capacity must be >= 1");
  cards_.push_back(card_slot{std::move(name), capacity, 0, initial_service_s});
  return cards_.size() - 1;
}

void pool_scheduler::enqueue(uint64_t ticket, uint32_t camera, int64_t admitted_ns) {
  queues_[camera].push_back(queued_job{ticket, admitted_ns});
}

int pool_scheduler::pick_card() const {
  int best = -1;
  double best_eta = 0;
  for (size_t i = 0; i < cards_.size(); ++i) {
    auto& c = cards_[i];
    if (c.busy >= c.capacity) continue;
    // Expected completion of a new job: the card's jobs share its capacity.
    double eta = c.ewma_s * (1.0 + static_cast<double>(c.busy) / c.capacity);
    if (best < 0 || eta < best_eta) {
      best = static_cast<int>(i);
      best_eta = eta;
    }
  }
  return best;
}

std::vector<pool_scheduler::dispatch>
pool_scheduler::schedule(int64_t now_ns, int64_t max_age_ns, std::vector<uint64_t>* stale) {
  std::vector<dispatch> out;
  if (max_age_ns > 0) {
    for (auto& [camera, q] : queues_) {
      while (!q.empty() && now_ns - q.front().admitted_ns > max_age_ns) {
        if (stale) stale->push_back(q.front().ticket);
        q.pop_front();
      }
    }
  }
  // Round-robin from the cursor: each pass serves each eligible camera once.
  for (bool progress = true; progress;) {
    progress = false;
    auto start = queues_.lower_bound(next_camera_);
    std::vector<uint32_t> order;
    for (auto it = start; it != queues_.end(); ++it) order.push_back(it->first);
    for (auto it = queues_.begin(); it != start; ++it) order.push_back(it->first);
    for (auto camera : order) {
      auto& q = queues_[camera];
      if (q.empty() || busy_camera_[camera]) continue;
      int card = pick_card();
      if (card < 0) return out;
      auto job = q.front();
      q.pop_front();
      cards_[card].busy++;
      busy_camera_[camera] = true;
      running_[job.ticket] = running_job{camera, static_cast<size_t>(card)};
      out.push_back(dispatch{job.ticket, static_cast<size_t>(card)});
      next_camera_ = camera + 1;
      progress = true;
    }
  }
  return out;
}

void pool_scheduler::complete(uint64_t ticket, double service_s) {
  auto it = running_.find(ticket);
  if (it == running_.end()) return;
  auto& c = cards_[it->second.card];
  c.busy--;
  constexpr double alpha = 0.2; // EWMA weight of the newest sample
  c.ewma_s = (1 - alpha) * c.ewma_s + alpha * service_s;
  busy_camera_[it->second.camera] = false;
  running_.erase(it);
}

size_t pool_scheduler::queued() const {
  size_t n = 0;
  for (auto& [_, q] : queues_) n += q.size();
  return n;
}

size_t pool_scheduler::queued(uint32_t camera) const {
  auto it = queues_.find(camera);
  return it == queues_.end() ? 0 : it->second.size();
}

} // namespace weaver
