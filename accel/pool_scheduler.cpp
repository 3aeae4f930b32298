#include "accel/pool_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace weaver {

namespace {
constexpr double ewma_alpha = 0.2; // weight of the newest service-time sample
}

pool_scheduler::pool_scheduler(scheduler_options o) : o_(o) {
  if (o_.max_in_flight_per_camera < 1) o_.max_in_flight_per_camera = 1;
  if (o_.depth < 1) o_.depth = 1;
}

size_t pool_scheduler::add_card(card_spec spec) {
  if (spec.capacity < 1) throw std::invalid_argument("card " + spec.name + ": capacity must be >= 1");
  if (spec.max_batch < 1) throw std::invalid_argument("card " + spec.name + ": max_batch must be >= 1");
  if (!spec.batch_cost.empty() && static_cast<int>(spec.batch_cost.size()) < spec.max_batch)
    throw std::invalid_argument("card " + spec.name + ": batch_cost needs max_batch entries");
  if (spec.initial_service_s <= 0) spec.initial_service_s = 0.05;
  card_slot c;
  c.ewma_s = spec.initial_service_s;
  c.slot_free.assign(static_cast<size_t>(spec.capacity), 0);
  c.timeout_ns = spec.timeout_ns;
  c.spec = std::move(spec);
  cards_.push_back(std::move(c));
  return cards_.size() - 1;
}

double pool_scheduler::cost(const card_slot& c, int b) const {
  if (c.spec.batch_cost.empty()) return b;
  return c.spec.batch_cost[static_cast<size_t>(b - 1)];
}

int pool_scheduler::effective_max_batch(const card_slot& c) const {
  // Batching only pays when a batch costs less than its jobs one by one;
  // otherwise it only delays the jobs at its tail.
  int b = c.spec.max_batch;
  return b > 1 && cost(c, b) < b ? b : 1;
}

bool pool_scheduler::has_room(const card_slot& c) const {
  // A batching card gets no work queued ahead: its next batch is formed
  // when a slot frees, from everything ready by then.
  const int depth = effective_max_batch(c) > 1 ? 1 : o_.depth;
  return c.up && c.batches < c.spec.capacity * depth;
}

size_t pool_scheduler::earliest_slot(const card_slot& c) {
  return static_cast<size_t>(std::min_element(c.slot_free.begin(), c.slot_free.end()) - c.slot_free.begin());
}

double pool_scheduler::eta_s(const card_slot& c, int64_t now_ns, double cost) const {
  const int64_t free = c.slot_free[earliest_slot(c)];
  const double wait_s = free > now_ns ? static_cast<double>(free - now_ns) / 1e9 : 0.0;
  return wait_s + c.ewma_s * cost;
}

int pool_scheduler::pick_card(int64_t now_ns) const {
  const size_t n = cards_.size();
  if (o_.policy == placement::round_robin) {
    for (size_t k = 0; k < n; ++k) {
      size_t i = (rr_cursor_ + k) % n;
      if (has_room(cards_[i])) return static_cast<int>(i);
    }
    return -1;
  }
  int best = -1;
  double best_eta = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& c = cards_[i];
    if (!has_room(c)) continue;
    double eta = eta_s(c, now_ns, 1.0);
    if (best < 0 || eta < best_eta) {
      best = static_cast<int>(i);
      best_eta = eta;
    }
  }
  return best;
}

pool_scheduler::camera_slot& pool_scheduler::camera(uint32_t id) {
  auto it = camera_index_.find(id);
  if (it != camera_index_.end()) return cameras_[it->second];
  camera_index_.emplace(id, cameras_.size());
  cameras_.push_back(camera_slot{id, {}, 0, false});
  return cameras_.back();
}

void pool_scheduler::ring_push(size_t cam) {
  auto& c = cameras_[cam];
  if (c.in_ring || c.q.empty() || c.in_flight >= o_.max_in_flight_per_camera) return;
  c.in_ring = true;
  ring_.push_back(cam);
}

void pool_scheduler::account_busy(card_slot& c, int64_t now_ns) {
  if (now_ns > c.busy_mark_ns)
    c.busy_slot_ns += static_cast<double>(now_ns - c.busy_mark_ns) * std::min(c.batches, c.spec.capacity);
  c.busy_mark_ns = std::max(c.busy_mark_ns, now_ns);
}

double pool_scheduler::card_busy_s(size_t i, int64_t now_ns) const {
  const auto& c = cards_.at(i);
  double extra =
    now_ns > c.busy_mark_ns ? static_cast<double>(now_ns - c.busy_mark_ns) * std::min(c.batches, c.spec.capacity) : 0.0;
  return (c.busy_slot_ns + extra) / 1e9;
}

void pool_scheduler::enqueue(uint64_t ticket, uint32_t camera_id, int64_t admitted_ns, std::vector<drop>* drops) {
  auto& c = camera(camera_id);
  if (o_.queue_per_camera > 0 && c.q.size() >= o_.queue_per_camera) {
    if (drops) drops->push_back({c.q.front().ticket, camera_id, "queue_full"});
    c.q.pop_front();
    --queued_;
  }
  c.q.push_back(job_ref{ticket, camera_id, admitted_ns});
  ++queued_;
  ring_push(camera_index_[camera_id]);
}

std::vector<pool_scheduler::dispatch> pool_scheduler::schedule(int64_t now_ns, std::vector<drop>* drops) {
  std::vector<dispatch> out;
  if (ring_.empty()) return out;
  // Slots that can start a batch right now: batch only beyond them.
  int free_slots = 0;
  for (auto& c : cards_)
    if (c.up) free_slots += std::max(0, c.spec.capacity - c.batches);
  while (!ring_.empty()) {
    int ci = pick_card(now_ns);
    if (ci < 0) break;
    auto& card = cards_[static_cast<size_t>(ci)];
    int b = 1;
    int bmax = effective_max_batch(card);
    if (bmax > 1) {
      int ready = static_cast<int>(ring_.size());
      b = free_slots > 0 ? std::clamp((ready + free_slots - 1) / free_slots, 1, bmax) : bmax;
    }
    const double finish_s = eta_s(card, now_ns, cost(card, b));
    dispatch d{0, static_cast<size_t>(ci), {}};
    while (static_cast<int>(d.jobs.size()) < b && !ring_.empty()) {
      size_t cam = ring_.front();
      ring_.pop_front();
      auto& cs = cameras_[cam];
      cs.in_ring = false;
      if (cs.q.empty() || cs.in_flight >= o_.max_in_flight_per_camera) continue;
      auto job = cs.q.front();
      cs.q.pop_front();
      --queued_;
      if (o_.max_age_ns > 0) {
        const int64_t age = now_ns - job.admitted_ns;
        const char* reason = nullptr;
        if (age > o_.max_age_ns)
          reason = "stale";
        else if (o_.policy == placement::earliest_completion && card.measured
                 && age + static_cast<int64_t>(finish_s * 1e9) > o_.max_age_ns)
          reason = "deadline"; // would finish late: spend the card on a fresher frame
        if (reason) {
          if (drops) drops->push_back({job.ticket, job.camera, reason});
          // Its turn is not used up: the camera's next job goes first.
          if (!cs.q.empty()) {
            cs.in_ring = true;
            ring_.push_front(cam);
          }
          continue;
        }
      }
      cs.in_flight++;
      in_flight_++;
      d.jobs.push_back(job);
      ring_push(cam);
    }
    if (d.jobs.empty()) continue;
    account_busy(card, now_ns);
    if (card.batches == 0) card.progress_ns = now_ns;
    if (card.batches < card.spec.capacity) --free_slots;
    const int n = static_cast<int>(d.jobs.size());
    const double c = cost(card, n);
    card.batches++;
    card.jobs += static_cast<size_t>(n);
    // The batch runs after the slot's earlier batches: predict its end.
    const size_t slot = earliest_slot(card);
    const int64_t start = std::max(now_ns, card.slot_free[slot]);
    card.slot_free[slot] = start + static_cast<int64_t>(card.ewma_s * c * 1e9);
    d.batch = next_batch_++;
    batches_.emplace(d.batch, batch_rec{d.card, slot, card.slot_free[slot], c, d.jobs});
    if (o_.policy == placement::round_robin) rr_cursor_ = d.card + 1;
    out.push_back(std::move(d));
  }
  return out;
}

void pool_scheduler::expire(int64_t now_ns, std::vector<drop>* drops) {
  const bool orphaned = all_down_since_ >= 0 && now_ns - all_down_since_ > o_.orphan_after_ns;
  if (o_.max_age_ns <= 0 && !orphaned) return;
  for (auto& cs : cameras_) {
    // Queues are in admission order (requeued jobs at the head are older).
    while (!cs.q.empty() && (orphaned || now_ns - cs.q.front().admitted_ns > o_.max_age_ns)) {
      if (drops) drops->push_back({cs.q.front().ticket, cs.id, orphaned ? "no_card" : "stale"});
      cs.q.pop_front();
      --queued_;
    }
  }
}

bool pool_scheduler::complete(uint64_t batch, double service_s, int64_t now_ns) {
  auto it = batches_.find(batch);
  if (it == batches_.end()) return false;
  auto& rec = it->second;
  auto& card = cards_[rec.card];
  account_busy(card, now_ns);
  card.batches--;
  card.jobs -= rec.jobs.size();
  card.progress_ns = now_ns;
  // Later batches on its slot start when this one really ended.
  card.slot_free[rec.slot] += now_ns - rec.predicted_end_ns;
  if (card.batches == 0) std::fill(card.slot_free.begin(), card.slot_free.end(), now_ns);
  if (service_s > 0 && rec.cost > 0) {
    double per_job = service_s / rec.cost;
    // The first measurement replaces the nominal guess outright.
    card.ewma_s = card.measured ? (1 - ewma_alpha) * card.ewma_s + ewma_alpha * per_job : per_job;
    card.measured = true;
  }
  for (auto& j : rec.jobs) {
    size_t cam = camera_index_.at(j.camera);
    cameras_[cam].in_flight--;
    in_flight_--;
    ring_push(cam);
  }
  batches_.erase(it);
  return true;
}

std::vector<pool_scheduler::job_ref> pool_scheduler::card_down(size_t ci, int64_t now_ns) {
  auto& card = cards_.at(ci);
  std::vector<job_ref> back;
  account_busy(card, now_ns);
  card.up = false;
  for (auto it = batches_.begin(); it != batches_.end();) {
    if (it->second.card != ci) {
      ++it;
      continue;
    }
    back.insert(back.end(), it->second.jobs.begin(), it->second.jobs.end());
    it = batches_.erase(it);
  }
  card.batches = 0;
  card.jobs = 0;
  std::fill(card.slot_free.begin(), card.slot_free.end(), now_ns);
  // Back to the heads of their queues, oldest first, and their cameras to
  // the front of the ring: they have waited longest.
  std::sort(back.begin(), back.end(), [](const job_ref& a, const job_ref& b) {
    return a.admitted_ns != b.admitted_ns ? a.admitted_ns < b.admitted_ns : a.ticket < b.ticket;
  });
  for (auto it = back.rbegin(); it != back.rend(); ++it) {
    size_t cam = camera_index_.at(it->camera);
    auto& cs = cameras_[cam];
    cs.q.push_front(*it);
    cs.in_flight--;
    in_flight_--;
    ++queued_;
  }
  for (auto it = back.rbegin(); it != back.rend(); ++it) {
    size_t cam = camera_index_.at(it->camera);
    auto& cs = cameras_[cam];
    if (!cs.in_ring && cs.in_flight < o_.max_in_flight_per_camera) {
      cs.in_ring = true;
      ring_.push_front(cam);
    }
  }
  bool any_up = std::any_of(cards_.begin(), cards_.end(), [](const card_slot& c) { return c.up; });
  if (!any_up && all_down_since_ < 0) all_down_since_ = now_ns;
  return back;
}

void pool_scheduler::card_up(size_t ci, int64_t now_ns) {
  auto& card = cards_.at(ci);
  if (card.up) return;
  card.up = true;
  card.progress_ns = now_ns;
  card.busy_mark_ns = std::max(card.busy_mark_ns, now_ns);
  all_down_since_ = -1;
}

std::vector<size_t> pool_scheduler::overdue(int64_t now_ns) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < cards_.size(); ++i) {
    const auto& c = cards_[i];
    if (c.up && c.batches > 0 && now_ns - c.progress_ns > c.timeout_ns) out.push_back(i);
  }
  return out;
}

int64_t pool_scheduler::slow_completion(size_t ci, double service_s) {
  auto& card = cards_.at(ci);
  if (!(service_s > 0)) return card.timeout_ns; // also NaN
  const double cap = static_cast<double>(card.spec.timeout_ns) * std::max(1, o_.max_timeout_factor);
  const double want = std::min(2.0 * service_s * 1e9, cap);
  card.timeout_ns = std::max(card.timeout_ns, static_cast<int64_t>(want));
  return card.timeout_ns;
}

size_t pool_scheduler::queued(uint32_t camera_id) const {
  auto it = camera_index_.find(camera_id);
  return it == camera_index_.end() ? 0 : cameras_[it->second].q.size();
}

} // namespace weaver
